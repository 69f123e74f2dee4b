"""Transactions are kept: identical rows of an orders file are separate orders, matched to
the stored ones by their occurrence, so importing the file again changes nothing."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from crmlib.store.models import Opportunity, Order
from crmlib.transfer.engines import ENGINES
from crmlib.transfer.importing import ImportResult, import_file
from crmlib.workspace import Workspace
from tests.factories import Team, company

ORDER_HEADERS = ["customer_code", "ordered_at", "amount", "product"]


@pytest.fixture(params=ENGINES.names())
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def run(ws: Workspace, kind: str, path: Path, **options: Any) -> ImportResult:
    out = path.parent / f"out-{len(list(path.parent.glob('out-*')))}"
    return import_file(ws.ctx, kind, path, output_dir=out, **options)


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    return result.created, result.updated, result.unchanged, result.rejected


def stored_orders(url: str) -> tuple[int, Decimal]:
    """How many orders the database holds, and the sum of their amounts."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            number, total = conn.execute(
                select(func.count(), func.coalesce(func.sum(Order.amount), 0))
            ).one()
    finally:
        engine.dispose()
    return int(number), Decimal(str(total))


def purchase_log(path: Path, first: str, second: str) -> tuple[Path, Decimal]:
    """A purchase log without order numbers in which customers buy the same item more
    than once a day, and the sum of its amounts."""
    rows = [
        [first, "2024-05-01", "120.50", "控制器 A"],
        [first, "2024-05-01", "120.50", "控制器 A"],
        [first, "2024-05-01", "99.00", "控制器 B"],
        [first, "2024-05-01", "120.50", "控制器 A"],
        [first, "2024-05-02", "120.50", "控制器 A"],
        [second, "2024-05-01", "120.50", "控制器 A"],
        [first, "2024-05-02", "120.50", "控制器 A"],
        [second, "2024-05-01", "120.50", "控制器 A"],
    ]
    return write_csv(path, [ORDER_HEADERS, *rows]), sum(
        (Decimal(row[2]) for row in rows), Decimal(0)
    )


def test_identical_purchases_are_all_kept_and_found_again(
    team: Team, tmp_path: Path, engine: str
) -> None:
    ws = team.zhang
    first, second = ws.customers.add(**company()).code, ws.customers.add(**company()).code
    path, total = purchase_log(tmp_path / "purchases.csv", first, second)
    # One row a chunk: the repeats of a row are counted across chunks, not within one.
    result = run(ws, "orders", path, chunk_rows=1, engine=engine)
    assert counts(result) == (8, 0, 0, 0), result.describe("en")
    assert stored_orders(team.url) == (8, total)
    revenue = ws.kpi("revenue", period="2024")["value"].sum()
    assert revenue == pytest.approx(float(total))
    # Again, in other chunks: the k-th identical row is the k-th identical order.
    for chunk_rows in (3, 50_000):
        again = run(ws, "orders", path, chunk_rows=chunk_rows, engine=engine)
        assert counts(again) == (0, 0, 8, 0), again.describe("en")
    assert stored_orders(team.url) == (8, total)
    assert ws.kpi("revenue", period="2024")["value"].sum() == pytest.approx(float(total))


def test_one_more_repeat_than_stored_adds_exactly_one(
    team: Team, tmp_path: Path, engine: str
) -> None:
    ws = team.zhang
    code = ws.customers.add(**company()).code
    purchase = [code, "2024-06-01", "35,600.00", "工业控制器 X200"]
    twice = write_csv(tmp_path / "twice.csv", [ORDER_HEADERS, purchase, purchase])
    assert counts(run(ws, "orders", twice, engine=engine)) == (2, 0, 0, 0)
    other = [code, "2024-06-01", "35,600.00", "工业控制器 X300"]
    thrice = write_csv(
        tmp_path / "thrice.csv", [ORDER_HEADERS, purchase, other, purchase, purchase]
    )
    result = run(ws, "orders", thrice, chunk_rows=2, engine=engine)
    assert counts(result) == (2, 0, 2, 0), result.describe("en")  # one X200 more, one X300
    assert stored_orders(team.url) == (4, Decimal("142400.00"))
    assert counts(run(ws, "orders", thrice, engine=engine)) == (0, 0, 4, 0)


def test_an_order_number_given_twice_is_still_a_repeat(team: Team, tmp_path: Path) -> None:
    """Occurrences are for rows without a key: a key names one order however often the
    file gives it."""
    ws = team.zhang
    code = ws.customers.add(**company()).code
    row = ["SO-1", code, "2024-06-01", "100", "控制器 A"]
    path = write_csv(tmp_path / "keyed.csv", [["external_id", *ORDER_HEADERS], row, row])
    result = run(ws, "orders", path)
    assert counts(result) == (1, 0, 0, 1)
    assert stored_orders(team.url) == (1, Decimal("100"))


def test_deals_of_one_name_keep_their_own_values(team: Team, tmp_path: Path) -> None:
    """Deals are not transactions (an identical row repeats a deal, and is rejected), but
    rows without a key match by occurrence too: two deals of one customer with one name
    are each found again, instead of the second row overwriting the first deal."""
    ws = team.zhang
    code = ws.customers.add(**company()).code
    header = ["customer_code", "name", "amount"]
    path = write_csv(
        tmp_path / "deals.csv",
        [header, [code, "产线升级", "217000"], [code, "产线升级", "23000"]],
    )
    assert counts(run(ws, "opportunities", path)) == (2, 0, 0, 0)
    again = run(ws, "opportunities", path, chunk_rows=1)
    assert counts(again) == (0, 0, 2, 0), again.describe("en")
    engine = create_engine(team.url)
    try:
        with engine.connect() as conn:
            amounts = conn.execute(select(Opportunity.amount).order_by(Opportunity.id)).all()
    finally:
        engine.dispose()
    assert [Decimal(str(a)) for (a,) in amounts] == [Decimal("217000"), Decimal("23000")]
    deal = [code, "新项目", "5000"]
    result = run(ws, "opportunities", write_csv(tmp_path / "repeated.csv", [header, deal, deal]))
    assert counts(result) == (1, 0, 0, 1)
