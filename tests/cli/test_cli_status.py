"""``crm status`` on a database with no tables yet and on a freshly initialised one."""

from __future__ import annotations

from crmlib.store import head_revision
from tests.commands import crm


def test_status_of_a_database_without_tables_says_to_init(empty_db_url: str) -> None:
    out = crm("status", url=empty_db_url, user=None)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "schema    none" in out.stdout
    assert out.stdout.splitlines()[-1] == "tables    none (run crm init to create the schema)"


def test_status_of_a_freshly_initialised_database(empty_db_url: str) -> None:
    assert crm("init", url=empty_db_url).returncode == 0
    out = crm("status", url=empty_db_url, user=None)
    assert out.returncode == 0, out.stderr
    assert f"schema    {head_revision()}" in out.stdout
    counts = dict(line.split() for line in out.stdout.splitlines() if line.startswith("  "))
    assert counts["users"] == "1"
    assert counts["customers"] == "0"
    assert "tables    none" not in out.stdout
