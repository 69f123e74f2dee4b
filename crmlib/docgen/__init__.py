"""The reference pages in docs/reference/, generated from the code so they cannot drift:
the ``crm`` commands, the KPI catalogue, the settings and the environment variables.

``make docs`` (``python -m crmlib.docgen``) writes them; a test fails when one is stale.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import cli, environment, kpis, settings

#: Where the pages go, relative to the repository root.
FOLDER = Path("docs") / "reference"
#: Page file name -> the function that renders it.
PAGES: dict[str, Callable[[], str]] = {
    "cli.md": cli.render,
    "kpis.md": kpis.render,
    "settings.md": settings.render,
    "environment.md": environment.render,
}


def render() -> dict[str, str]:
    """Every page's text, by file name."""
    return {name: page() for name, page in PAGES.items()}


def stale(root: Path) -> list[Path]:
    """The pages under ``root`` whose text differs from what the code renders now."""
    folder = root / FOLDER
    return [
        folder / name
        for name, text in render().items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]


def write(root: Path) -> list[Path]:
    """Write the pages that changed under ``root``; return them."""
    changed = stale(root)
    pages = render()
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pages[path.name], encoding="utf-8")
    return changed
