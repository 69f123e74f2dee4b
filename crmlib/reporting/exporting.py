"""A report run's files: HTML without code that works offline, PDF printed from that HTML
by headless Chromium (so Chinese renders with the system's CJK fonts), and an Excel
workbook of the tables behind the charts."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..i18n import register, t

register(
    {
        "no_chromium": {
            "en": "no Chromium at {path} to print PDF reports: install Debian's chromium "
            "(apt-get install chromium fonts-noto-cjk) or set CRM_CHROMIUM",
            "zh": "{path} 处没有 Chromium，无法生成 PDF 报表：请安装 Debian 的 chromium"
            "（apt-get install chromium fonts-noto-cjk），或设置 CRM_CHROMIUM",
        },
    },
    namespace="report_export",
)

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "crm_report"
#: Chromium as Debian installs it; ``CRM_CHROMIUM`` names another.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Longest wait for the charts of a page to be drawn before printing, in milliseconds.
DRAW_TIMEOUT_MS = 60_000


def notebook_html(notebook: Path, target: Path, title: str | None = None) -> Path:
    """The executed ``notebook`` as one HTML page: outputs only (no code, no prompts), no
    script loaded from the network."""
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(node, resources={"metadata": {"name": title or ""}})
    target.write_text(body, encoding="utf-8")
    return target


def chromium_path() -> str:
    """The Chromium binary that prints PDFs; a clear error when there is none."""
    path = os.environ.get("CRM_CHROMIUM") or CHROMIUM
    if not (Path(path).is_file() or shutil.which(path)):
        raise ConfigError(t("report_export:no_chromium", path=path))
    return path


class PdfPrinter:
    """Prints HTML reports to PDF with one headless Chromium, the network blocked, for as
    long as it is open: a batch of reports starts the browser once, not once per report
    (about a second each). Playwright's synchronous API runs in a thread of its own, so
    printing also works where an event loop is running (a notebook)."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="crm-pdf")
        self._playwright: Any = None
        self._browser: Any = None
        self.launches = 0

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def print(self, page_html: Path, target: Path) -> Path:
        """Print ``page_html`` to ``target`` once every chart on it is drawn."""
        self._worker.submit(self._print, page_html, target).result()
        return target

    def close(self) -> None:
        """Close the browser (if one was started) and the printing thread."""
        self._worker.submit(self._stop).result()
        self._worker.shutdown()

    def _print(self, page_html: Path, target: Path) -> None:
        from playwright.sync_api import Route

        def local_only(route: Route) -> None:
            if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
                route.continue_()
            else:
                route.abort()

        context = self._browser_started().new_context()
        try:
            page = context.new_page()
            page.route("**/*", local_only)
            page.goto(page_html.resolve().as_uri(), wait_until="load")
            # Every chart placeholder has its SVG once vega-embed has drawn it.
            page.wait_for_function(
                "Array.from(document.querySelectorAll('[id^=crm-chart-]'))"
                ".every(el => el.querySelector('svg, canvas'))",
                timeout=DRAW_TIMEOUT_MS,
            )
            page.emulate_media(media="print")
            page.pdf(
                path=str(target), format="A4", print_background=True,
                margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
            )  # fmt: skip
        finally:
            context.close()

    def _browser_started(self) -> Any:
        """The open browser; a new one on first use or when the last one went away."""
        if self._browser is None or not self._browser.is_connected():
            from playwright.sync_api import sync_playwright

            self._stop()
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_path(), args=list(CHROMIUM_ARGS)
            )
            self.launches += 1
        return self._browser

    def _stop(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(c if c not in "[]:*?/\\" else "_" for c in name)[:31] or "table"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[: 31 - len(str(n)) - 1]}_{n}"
    taken.add(candidate)
    return candidate


def write_workbook(
    tables: Mapping[str, pd.DataFrame], target: Path, parameters: Mapping[str, Any]
) -> Path:
    """One sheet per table (in order), then a ``parameters`` sheet saying what was asked."""
    taken: set[str] = set()
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=_sheet_name(name, taken), index=False)
        asked = pd.DataFrame(
            {"parameter": list(parameters), "value": [str(v) if v is not None else ""
                                                       for v in parameters.values()]}
        )  # fmt: skip
        asked.to_excel(writer, sheet_name=_sheet_name("parameters", taken), index=False)
    return target
