"""Serving the report notebooks as live dashboards with Voila (``crm dashboards``).

Voila runs ``notebooks/reports`` bound to 127.0.0.1 (behind a proxy or JupyterHub for
anyone else), behind a token and a host allow-list (:func:`crmlib.serving.guard`: the
settings every server of the workspace shares), with sources stripped, tracebacks hidden
and one pre-heated kernel per dashboard: a kernel imports crmlib and waits for its page's
request (and URL parameters) before computing, so a page only pays for the figures. The
chart libraries (Vega, Vega-Lite, vega-embed: 0.9 MB) are built once by the launcher and
served as a static file of the template, which the page loads while its kernel computes.
The landing page at ``/`` links every dashboard of the catalogue with its name and
description in every language of the message catalogue; any query string on it
(``/?region=华东``) is passed on to the dashboards, less the token. A closed page's kernel
is shut down (the page's request for it is no longer refused), and a kernel whose page went
without saying so is culled once idle.
"""

from __future__ import annotations

import html
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..i18n import LANGUAGES, t
from ..serving import SHARE, Guard
from .catalogue import REPORTS

TEMPLATE = "crm"
DEFAULT_PORT = 8866
DEFAULT_HOST = "127.0.0.1"

_LANDING = """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",
sans-serif;margin:40px auto;max-width:760px;color:#222}}
h1{{font-size:26px}} ul{{list-style:none;padding:0}}
li{{border:1px solid #dde3ea;border-radius:6px;margin:10px 0;background:#f7f9fb}}
li a{{display:block;padding:12px 16px;text-decoration:none;color:#2f6db5;font-size:18px}}
li span{{display:block;color:#555;font-size:13px;margin-top:4px}}
</style></head>
<body><h1>{title}</h1>
<p>{filters}
<code>?region=华东&amp;period=previous_quarter</code></p>
<ul class="crm-dashboards">
{items}
</ul></body></html>
"""
#: The landing page's query string less the token (``/?token=…`` opens the server once; the
#: links a user copies must not carry it).
_QUERY = (
    "{%- set kept = [] -%}"
    "{%- for part in (query or '').split('&') -%}"
    "{%- if part and not part.startswith('token=') -%}{{- kept.append(part) or '' -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- set query = kept | join('&') -%}"
)
_ITEM = (
    '<li><a class="crm-dashboard" data-report="{name}" '
    'href="{{{{ base_url }}}}voila/render/{notebook}{{% if query %}}?{{{{ query }}}}{{% endif %}}">'
    "{titles}<span>{abouts}</span></a></li>"
)


def _every_language(text: Callable[[str], str], separator: str) -> str:
    """The landing page speaks every language at once: ``text`` in each, side by side."""
    return separator.join(html.escape(text(lang)) for lang in LANGUAGES)


def landing_template() -> str:
    """The Jinja template of the landing page (Voila's classic tree page), in every
    language: whoever opens it finds their dashboard."""
    items = "\n".join(
        _ITEM.format(
            name=r.name,
            notebook=r.notebook,
            titles=_every_language(r.title_name, " · "),
            abouts=_every_language(r.about, "<br>"),
        )
        for r in REPORTS.values()
    )
    return _QUERY + _LANDING.format(
        title=_every_language(lambda lang: t("dashboards:landing_title", lang), " · "),
        filters=_every_language(lambda lang: t("dashboards:landing_filters", lang), " · "),
        items=items,
    )


#: Voila's lab page links Font Awesome from a CDN; the dashboards use no icons, and a
#: closed network must not be asked for anything.
_CDN_LINKS = (
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5'
    '/css/all.min.css" type="text/css" />',
    '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5'
    '/css/v4-shims.min.css" type="text/css" />',
)
#: The chart libraries as a static file of the template: the browser loads (and caches)
#: them beside Voila's own scripts while the kernel computes, instead of receiving them
#: inline in the page from every kernel.
BUNDLE = "vega-bundle.js"
#: Tells a dashboard's kernel that its page loads the chart libraries itself.
PAGE_LIBRARIES_ENV = "CRM_PAGE_CHART_LIBRARIES"
#: The part of a page that has a closed page's kernel shut down (shared with the notebooks'
#: ``crm-apps`` template).
KERNEL_SHUTDOWN = "kernel_shutdown.html.j2"


def _page(shutdown_kernels: bool) -> str:
    return (
        "{%- extends 'lab/index.html.j2' -%}\n{%- block notebook_css -%}\n{{ super()"
        + "".join(f"|replace({link!r}, '')" for link in _CDN_LINKS)
        + " }}\n{%- endblock notebook_css -%}\n"
        + '{%- block html_head_js -%}\n{{ super() }}\n<script defer src="{{ resources.base_url }}'
        + f'voila/templates/{TEMPLATE}/static/{BUNDLE}"></script>\n'
        + (f"{{% include '{KERNEL_SHUTDOWN}' %}}\n" if shutdown_kernels else "")
        + "{%- endblock html_head_js -%}\n"
    )


def _bundle_path(runtime: Path) -> Path:
    return runtime / "voila" / "templates" / TEMPLATE / "static" / BUNDLE


def write_template(runtime: Path, *, shutdown_kernels: bool = True) -> Path:
    """Write the ``crm`` Voila template (Voila's lab template with the CRM landing page and
    the chart libraries as a static file, nothing loaded from the network) under
    ``runtime``, which then goes first on ``JUPYTER_PATH``. ``shutdown_kernels=False``
    leaves closed pages' kernels running as Voila alone does (only to measure the
    difference: ``benchmarks/dashboards.py --memory``)."""
    from ..analytics.charts import write_javascript_bundle

    folder = runtime / "voila" / "templates" / TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text(json.dumps({"base_template": "lab"}))
    (folder / "tree.html").write_text(landing_template(), encoding="utf-8")
    (folder / "index.html.j2").write_text(_page(shutdown_kernels), encoding="utf-8")
    shared = SHARE / "voila" / "templates" / "crm-apps" / KERNEL_SHUTDOWN
    (folder / KERNEL_SHUTDOWN).write_text(shared.read_text(encoding="utf-8"), encoding="utf-8")
    write_javascript_bundle(_bundle_path(runtime))
    return runtime


def command(
    notebooks: Path,
    guard: Guard,
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    preheat: bool = True,
    base_url: str = "/",
) -> list[str]:
    """The Voila command line serving ``notebooks``, guarded by ``guard`` (its token is
    read from the file ``guard.environment()`` names, never given here)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebooks),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--base_url={base_url}",
        f"--template={TEMPLATE}",
        "--classic_tree=True",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--preheat_kernel={preheat}",
        "--pool_size=1",
        *guard.voila_options(),
    ]


def environment(runtime: Path, url: str | None = None, user: str | None = None) -> dict[str, str]:
    """The Voila server's environment (kernels inherit it): the CRM template first on
    ``JUPYTER_PATH``, the database and user the dashboards open and, when the template
    serves the chart libraries, their file (kernels neither build nor send them)."""
    from ..analytics.charts import BUNDLE_ENV

    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(runtime), os.environ.get("JUPYTER_PATH", "")) if p
    )
    bundle = _bundle_path(runtime)
    if bundle.is_file():
        env[BUNDLE_ENV] = str(bundle)
        env[PAGE_LIBRARIES_ENV] = "1"
    if url:
        env["CRM_DATABASE_URL"] = url
    if user:
        env["CRM_USER"] = user
    return env
