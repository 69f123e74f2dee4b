"""Every public parameter that names a file or folder takes a ``str`` as well as a ``Path``,
on both databases."""

from __future__ import annotations

import csv
from pathlib import Path

from crmlib import admin
from crmlib.reporting.scorecard import write_xlsx
from crmlib.store import backup as backups
from crmlib.transfer.reading import open_table
from crmlib.transfer.templates import write_template
from tests.factories import Team, company


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_an_import_writes_its_rejects_into_a_folder_given_as_str(
    team: Team, tmp_path: Path
) -> None:
    code = team.zhang.customers.add(**company()).code
    file = write_csv(
        tmp_path / "orders.csv",
        [
            ["external_id", "customer_code", "ordered_at", "amount", "product"],
            ["SO1", code, "2024-05-01", "100", "泵"],
            ["SO2", code, "not a date", "100", "阀"],
        ],
    )
    folder = tmp_path / "out"
    for dry_run in (True, False):
        result = team.zhang.import_file(
            "orders", str(file), output_dir=str(folder), dry_run=dry_run
        )
        assert (result.created, result.rejected) == (1, 1)
        assert result.output_dir == folder
        assert result.rejects_path == folder / "rejects.csv" and result.rejects_path.exists()
        assert result.summary_path is not None and result.summary_path.exists()
    assert len(team.zhang.orders.frame(customer_code=code)) == 1


def test_file_functions_take_str(team: Team, tmp_path: Path) -> None:
    team.zhang.customers.add(**company())
    template = write_template("customers", str(tmp_path / "t" / "customers.csv"), lang="zh")
    assert template == tmp_path / "t" / "customers.csv" and template.exists()
    assert open_table(str(template)).format == "csv"
    card = team.zhang.scorecard(save=False)
    workbook = write_xlsx(card, str(tmp_path / "card.xlsx"))
    assert Path(workbook).stat().st_size > 0
    exported = team.zhang.export("customers", str(tmp_path / "e.csv"))
    assert exported.path == tmp_path / "e.csv"


def test_backup_functions_take_str(team: Team, tmp_path: Path) -> None:
    """The functions behind ``crm backup``, ``crm status`` and ``crm restore``."""
    engine = team.admin.engine
    team.admin.customers.add(**company())
    folder = tmp_path / "saved"
    assert admin.backup_directory(engine, str(folder)) == folder
    made = admin.backup(engine, str(folder), None, user="admin")
    assert made.path.parent == folder
    assert admin.status(engine, str(folder)).last_backup == made
    assert backups.last_backup(str(folder)) == made
    assert backups.list_backups(str(folder)) == [made]
    checked, report = admin.verify(engine, None, str(made.path))
    assert checked == made.path and report.ok
    assert admin.verify(engine, str(folder), None)[1].ok
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert backups.verify_backup(str(made.path), against=engine, scratch_dir=str(scratch)).ok
    again = backups.create_backup(engine, str(tmp_path / "more"))
    assert again.path.parent == tmp_path / "more"
    team.admin.customers.add(**company(name="备份之后的客户有限公司"))
    safety = admin.restore(engine, str(made.path), str(tmp_path / "safety"), user="admin").safety
    assert safety.path.parent == tmp_path / "safety"
    backups.restore_backup(str(made.path), engine)
    assert len(team.admin.customers.frame()) == 1
