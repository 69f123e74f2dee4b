"""The suite runs every notebook under nbval (see conftest.py and pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parents[2]
SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"


@pytest.mark.slow
def test_every_notebook_is_collected_by_nbval() -> None:
    """Run from another folder, as pytest's own defaults (no arguments but the folder)."""
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "notebooks"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT / "tests",
        timeout=300,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    collected = {line.split("::")[0] for line in listed.stdout.splitlines() if "::" in line}
    notebooks = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    }
    assert len(notebooks) >= 11
    assert collected == notebooks


def test_the_sanitize_file_replaces_what_changes_between_runs() -> None:
    patterns = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))
    text = (
        "2026-12-07 13:51:51 sqlite:////tmp/pytest-of-x/nbval_demo0/crm.db <Workspace at "
        "0x7f3a2b1c> C20261207001 3.2 s"
    )
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    assert text == "DATETIME DATABASE-URL <Workspace at 0xADDRESS> CUSTOMER-CODE DURATION"
