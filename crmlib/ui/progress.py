"""A progress bar for long work, shaped as crmlib's ``progress(done, total)`` callback."""

from __future__ import annotations

import ipywidgets as widgets

from .texts import say


class Progress(widgets.HBox):
    """Pass it as ``progress=`` to :meth:`Workspace.import_file`; it shows rows done of the
    total (or a count alone when the total is unknown)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.bar = widgets.IntProgress(min=0, max=1, value=0, bar_style="info")
        self.label = widgets.Label()
        super().__init__([self.bar, self.label])
        self.add_class("crm-progress")
        self.layout.display = "none"

    def __call__(self, done: int, total: int | None) -> None:
        self.layout.display = ""
        self.bar.max = max(total or done, 1)
        self.bar.value = min(done, self.bar.max)
        self.label.value = f"{done:,}" + (f" / {total:,}" if total else "")

    def finish(self, ok: bool = True) -> None:
        self.bar.value = self.bar.max
        self.bar.bar_style = "success" if ok else "danger"
        self.label.value = f"{self.label.value}  {say('done', self.lang)}"
