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
        raise ConfigError(
            f"no Chromium at {path} to print PDF reports: install Debian's chromium "
            "(apt-get install chromium fonts-noto-cjk) or set CRM_CHROMIUM"
        )
    return path


def _print_pdf(page_html: Path, target: Path) -> None:
    from playwright.sync_api import Route, sync_playwright

    def local_only(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
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
            browser.close()


def html_pdf(page_html: Path, target: Path) -> Path:
    """Print an HTML report to PDF with headless Chromium, the network blocked. Runs in
    its own thread, so it also works where an event loop is running (a notebook)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_print_pdf, page_html, target).result()
    return target


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
