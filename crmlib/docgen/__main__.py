"""``python -m crmlib.docgen [ROOT]``: regenerate docs/reference/ under ROOT (default: .)."""

from __future__ import annotations

import sys
from pathlib import Path

from . import FOLDER, write


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path()
    changed = write(root)
    for path in changed:
        print(f"wrote {path}")
    if not changed:
        print(f"{root / FOLDER} is up to date")


if __name__ == "__main__":
    main(sys.argv[1:])
