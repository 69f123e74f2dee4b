"""Imports match existing records only within the importing user's scope: a row whose key
names another rep's order, opportunity, ticket or lead is rejected, and that record stays
where it was, as it was (dry runs included), on both databases."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

import crmlib
from crmlib.store.engine import make_engine
from crmlib.store.models import Contact, Lead, Opportunity, Order, Ticket
from crmlib.transfer.importing import ImportResult
from crmlib.workspace import Workspace
from tests.factories import Team, company

ORDER_HEADER = ["external_id", "customer_code", "ordered_at", "amount", "product"]
OPPORTUNITY_HEADER = ["external_id", "customer_code", "name", "stage", "amount"]
TICKET_HEADER = ["external_id", "customer_code", "type", "priority", "subject"]
CONTACT_HEADER = ["customer_code", "name", "phone"]
LEAD_HEADER = ["external_id", "name", "source", "status"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def stored(url: str, model: type, external_id: str) -> dict[str, object]:
    """The stored row of ``model`` with ``external_id``, read past every scope."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(model.__table__).where(model.__table__.c.external_id == external_id)
            ).mappings()
            return dict(row.one())
    finally:
        engine.dispose()


def rejects(result: ImportResult) -> list[str]:
    assert result.rejects_path is not None
    frame = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    return frame["reasons"].tolist()


@pytest.fixture
def victim(team: Team, tmp_path: Path) -> dict[str, str]:
    """Rep zhao (team west) with an order, an opportunity, a ticket, a contact and a lead;
    rep zhang (team east) with a customer of his own. Returns their customer codes."""
    theirs = team.zhao.customers.add(**company(name="成都蜀道贸易有限公司")).code
    mine = team.zhang.customers.add(**company(name="杭州西湖贸易有限公司")).code
    made = [
        team.zhao.import_file(
            "orders",
            write_csv(
                tmp_path / "vo.csv", ORDER_HEADER, [["SO1", theirs, "2024-05-01", "100", "泵"]]
            ),
        ),
        team.zhao.import_file(
            "opportunities",
            write_csv(
                tmp_path / "vp.csv",
                OPPORTUNITY_HEADER,
                [["OP1", theirs, "产线升级", "", "1000"]],
            ),
        ),
        team.sun.import_file(
            "tickets",
            write_csv(
                tmp_path / "vt.csv", TICKET_HEADER, [["TK1", theirs, "售后", "高", "设备无法启动"]]
            ),
        ),
        team.zhao.import_file(
            "contacts",
            write_csv(tmp_path / "vc.csv", CONTACT_HEADER, [[theirs, "林涛", "13912345678"]]),
        ),
        team.zhao.import_file(
            "leads", write_csv(tmp_path / "vl.csv", LEAD_HEADER, [["L1", "王磊", "展会", "新线索"]])
        ),
    ]
    assert [r.created for r in made] == [1, 1, 1, 1, 1]
    return {"theirs": theirs, "mine": mine}


TAKEOVERS = [
    ("orders", Order, ORDER_HEADER, ["SO1", "{mine}", "2024-06-01", "1", "改"], "zhang"),
    (
        "opportunities",
        Opportunity,
        OPPORTUNITY_HEADER,
        ["OP1", "{mine}", "改", "", "1"],
        "zhang",
    ),
    ("tickets", Ticket, TICKET_HEADER, ["TK1", "{mine}", "投诉", "低", "改"], "wang"),
]


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry_run"])
@pytest.mark.parametrize(
    ("kind", "model", "header", "row", "user"), TAKEOVERS, ids=[k[0] for k in TAKEOVERS]
)
def test_another_reps_record_is_rejected_not_taken(
    db_url: str,
    team: Team,
    victim: dict[str, str],
    tmp_path: Path,
    kind: str,
    model: type,
    header: list[str],
    row: list[str],
    user: str,
    dry_run: bool,
) -> None:
    before = stored(db_url, model, row[0])
    attacker: Workspace = getattr(team, user)
    file = write_csv(tmp_path / "take.csv", header, [[c.format(**victim) for c in row]])
    result = attacker.import_file(kind, file, dry_run=dry_run)
    assert (result.rows, result.rejected, result.ok) == (1, 1, 0)
    (reason,) = rejects(result)
    assert f"external_id={row[0]!r}" in reason
    assert "outside your scope" in reason and "[outside_scope]" in reason
    assert stored(db_url, model, row[0]) == before


def test_the_reason_is_in_chinese_by_default(
    db_url: str, team: Team, victim: dict[str, str], tmp_path: Path
) -> None:
    file = write_csv(
        tmp_path / "take.csv", ORDER_HEADER, [["SO1", victim["mine"], "2024-06-01", "1", "改"]]
    )
    with crmlib.open(db_url, user="zhang") as zhang:
        result = zhang.import_file("orders", file)
    (reason,) = rejects(result)
    assert reason.startswith("external_id='SO1': ")
    assert "不在您的权限范围内" in reason and "your scope" not in reason


def test_a_row_of_mine_and_a_row_of_theirs(
    db_url: str, team: Team, victim: dict[str, str], tmp_path: Path
) -> None:
    """Only the foreign row is rejected; the user's own order is imported beside it."""
    rows = [
        ["SO1", victim["mine"], "2024-06-01", "1", "改"],
        ["SO2", victim["mine"], "2024-06-01", "2", "新"],
    ]
    result = team.zhang.import_file("orders", write_csv(tmp_path / "two.csv", ORDER_HEADER, rows))
    assert (result.created, result.rejected) == (1, 1)
    assert stored(db_url, Order, "SO1")["product"] == "泵"


def test_a_record_within_the_team_is_matched(db_url: str, team: Team, tmp_path: Path) -> None:
    """Scope is the user's, not only their own records: a manager updates a rep's order."""
    li_s = team.li.customers.add(**company()).code
    file = write_csv(tmp_path / "o.csv", ORDER_HEADER, [["SO9", li_s, "2024-05-01", "100", "泵"]])
    assert team.li.import_file("orders", file).created == 1
    changed = write_csv(
        tmp_path / "c.csv", ORDER_HEADER, [["SO9", li_s, "2024-05-01", "100", "阀"]]
    )
    assert team.wang.import_file("orders", changed).updated == 1
    assert stored(db_url, Order, "SO9")["product"] == "阀"


def test_a_contact_is_matched_only_under_a_customer_in_scope(
    db_url: str, team: Team, victim: dict[str, str], tmp_path: Path
) -> None:
    """Contacts have no external id: the same name and phone under the user's own customer
    is a new contact, and the other rep's stays with them."""
    file = write_csv(tmp_path / "c.csv", CONTACT_HEADER, [[victim["mine"], "林涛", "13912345678"]])
    assert team.zhang.import_file("contacts", file).created == 1
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            owners = conn.execute(
                select(Contact.customer_id).where(Contact.name == "林涛")
            ).scalars()
            assert len(set(owners)) == 2
    finally:
        engine.dispose()


def test_another_reps_lead_is_rejected_with_its_key(
    db_url: str, team: Team, victim: dict[str, str], tmp_path: Path
) -> None:
    """The lead's stored status is not disclosed by a status-flow complaint either."""
    before = stored(db_url, Lead, "L1")
    file = write_csv(tmp_path / "l.csv", LEAD_HEADER, [["L1", "改名", "官网", "已转化"]])
    result = team.zhang.import_file("leads", file)
    (reason,) = rejects(result)
    assert "external_id='L1'" in reason and "[outside_scope]" in reason
    assert "status" not in reason
    assert stored(db_url, Lead, "L1") == before


def test_another_reps_customer_code_is_rejected_without_quoting_it(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """Matched by code, another rep's customer is out of scope before any other rule looks
    at it: no reason quotes its stored values (here its external id)."""
    theirs = team.zhao.customers.add(**company(external_id="W-SECRET", name="成都蜀道贸易有限公司"))
    header = ["external_id", "code", "name", "industry", "contact", "phone", "source"]
    row = ["Z-1", theirs.code, "改名公司", "C", "刘洋", "13900001111", "官网"]
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", header, [row]))
    (reason,) = rejects(result)
    assert "[outside_scope]" in reason and "W-SECRET" not in reason
    assert team.admin.customers.get(theirs.code).name == "成都蜀道贸易有限公司"
