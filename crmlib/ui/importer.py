"""The import notebook's application: upload a file, preview it, dry-run it to see every
rejected row with its reasons (and download them), then commit it with a progress bar."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .. import clock
from ..transfer.catalogue import KINDS
from ..transfer.importing import ImportResult, imports_directory
from ..transfer.kinds import parse_mapping
from ..transfer.reading import open_table
from ..workspace import Workspace
from .base import Status, attempt, banner, button, heading, lang_of
from .grid import Grid
from .progress import Progress
from .texts import say

PREVIEW_ROWS = 20
#: Largest rejects file offered as a download link (the link carries the whole file).
DOWNLOAD_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-]+")


def download_link(path: Path, lang: str) -> str:
    """An HTML link that downloads ``path`` from the page itself: works offline and in
    Voila, where the server's files are not reachable."""
    if path.stat().st_size > DOWNLOAD_BYTES:
        return html.escape(say("too_big", lang, path=path))
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (
        f"<a class='crm-download' download='{name}' href='data:text/csv;base64,{data}'>"
        f"⬇ {html.escape(say('download', lang, name=path.name))}</a>"
    )


class ImportReview(widgets.VBox):
    """A data steward's import: look before you leap, then leap with a progress bar."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        self.path: Path | None = None
        self.result: ImportResult | None = None
        self.status = Status(lang)
        self.kind = widgets.Dropdown(
            description=say("kind", lang),
            options=[(k.spec.zh if lang == "zh" else k.spec.en, name) for name, k in KINDS.items()],
        )
        self.upload = widgets.FileUpload(
            accept=".csv,.xlsx", multiple=False, description=say("upload", lang)
        )
        self.upload.add_class("crm-upload")
        self.upload.observe(lambda _: self.receive(), "value")
        self.strict = widgets.Checkbox(
            description=say("strict", lang), value=False, layout=widgets.Layout(width="auto")
        )
        self.mapping = widgets.Textarea(
            description=say("mapping", lang),
            placeholder=say("mapping_hint", lang),
            style={"description_width": "initial"},
            layout=widgets.Layout(width="40em", height="4.5em"),
        )
        self.mapping.add_class("crm-import-mapping")
        self.preview_title = widgets.HTML()
        self.preview = Grid(pd.DataFrame(), lang, page_size=10)
        self.dry_button = button(say("dry_run", lang), "crm-dry-run")
        self.commit_button = button(say("commit", lang), "crm-commit", "primary")
        self.dry_button.on_click(lambda _: self.run(dry_run=True))
        self.commit_button.on_click(lambda _: self.run(dry_run=False))
        self.progress = Progress(lang)
        self.summary = widgets.HTML()
        self.summary.add_class("crm-import-summary")
        self.rejects = Grid(pd.DataFrame(), lang, page_size=10)
        self.download = widgets.HTML()
        super().__init__(
            [
                banner(ws),
                widgets.HBox([self.kind, self.upload, self.strict]),
                self.mapping,
                self.preview_title,
                self.preview,
                widgets.HBox([self.dry_button, self.commit_button]),
                self.progress,
                self.status,
                self.summary,
                heading(say("rejects", lang)),
                self.download,
                self.rejects,
            ]
        )
        self.add_class("crm-import-review")

    def receive(self) -> Path | None:
        """Keep the uploaded file in the imports folder and show its first rows."""
        if not self.upload.value:
            return None
        upload: dict[str, Any] = self.upload.value[0]
        folder = imports_directory(self.ws.engine) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        name = _UNSAFE.sub("_", Path(str(upload["name"])).name) or "upload.csv"
        self.path = folder / f"{clock.now():%Y%m%d-%H%M%S}-{name}"
        self.path.write_bytes(bytes(upload["content"]))
        self.result = None
        self.summary.value = ""
        self.download.value = ""
        self.rejects.set_frame(pd.DataFrame())
        self.show_preview()
        return self.path

    def show_preview(self) -> None:
        if self.path is None:
            return
        path = self.path

        def first_rows() -> pd.DataFrame:
            table = open_table(path)
            first = next(iter(table.chunks(PREVIEW_ROWS)), None)
            return first.cells if first is not None else pd.DataFrame(columns=table.headers)

        rows = attempt(self.status, first_rows)
        if rows is not None:
            self.preview_title.value = f"<b>{say('preview', self.lang, rows=len(rows))}</b>"
            self.preview.set_frame(rows)

    def run(self, *, dry_run: bool) -> ImportResult | None:
        """Dry-run or commit the uploaded file; the rejects appear either way."""
        if self.path is None:
            self.status.show(say("no_file", self.lang), "warn")
            return None
        path = self.path
        mapped = [line for line in self.mapping.value.splitlines() if line.strip()]
        self.status.show(say("working", self.lang))
        result: ImportResult | None = attempt(
            self.status,
            lambda: self.ws.import_file(
                self.kind.value,
                path,
                dry_run=dry_run,
                strict=self.strict.value,
                progress=self.progress,
                mapping=parse_mapping(mapped),
            ),
        )
        self.progress.finish(result is not None)
        if result is None:
            return None
        self.result = result
        self.status.clear()
        lines = html.escape(result.describe(self.lang)).replace("\n", "<br>")
        self.summary.value = f"<div>{lines}</div>"
        if result.rejects_path is not None and result.rejects_path.exists():
            self.rejects.set_frame(
                pd.read_csv(result.rejects_path, dtype=str, keep_default_na=False)
            )
            self.download.value = download_link(result.rejects_path, self.lang)
        else:
            self.rejects.set_frame(pd.DataFrame())
            self.download.value = ""
        return result
