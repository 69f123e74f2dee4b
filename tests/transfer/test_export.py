"""Exports: scoped, masked, audited, and written in the formats the importer reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from crmlib import ValidationError
from crmlib.store.models import AuditEvent, Customer, Lead, Ticket
from crmlib.transfer import exporting
from crmlib.transfer.catalogue import KINDS
from crmlib.transfer.exporting import export
from crmlib.workspace import Workspace
from tests.factories import Team, add_team, company, open_team
from tests.templates import Templates

FORMATS = ("csv", "xlsx")


@dataclass
class Book:
    """zhang's customer with one record of every kind, zhao's customer, a merged customer."""

    code: str
    zhao_code: str
    merged_code: str


def _customer_id(ws: Workspace, code: str) -> int:
    with ws.ctx.reading() as conn:
        return int(conn.execute(select(Customer.id).where(Customer.code == code)).scalar_one())


def write_book(url: str) -> Book:
    """The team and its book in the new database at ``url``: a template builder."""
    add_team(url)
    team = open_team(url)
    try:
        return _write_book(team)
    finally:
        team.close()


@pytest.fixture
def book(db_url: str, templates: Templates) -> Book:
    """Written once per test process and copied for each test (tests/templates.py)."""
    return templates.fill(db_url, write_book)


@pytest.fixture
def team(book: Book, db_url: str) -> Iterator[Team]:
    """The workspaces of the team, whose users came with the book's database."""
    opened = open_team(db_url)
    yield opened
    opened.close()


def _write_book(team: Team) -> Book:
    zhang, zhao = team.zhang, team.zhao
    code = zhang.customers.add(
        **company(
            name="深圳鹏城电子有限公司",
            industry="39",
            province="广东",
            phone="13812345678",
            email="chen.jing@pengcheng.cn",
            contact="陈静",
            external_id="ERP-1",
            kind="企业",
            size="medium",
            grade="B",
            birthday="1990-01-02",
            consent_at="2024-05-01",
        ),
        tags=["重点跟进", "VIP"],
    ).code
    zhang.contacts.add(code, name="林涛", title="采购经理", phone="0755-86001234")
    zhang.opportunities.add(
        code,
        name="产线升级",
        amount="1.2万",
        stage="proposal",
        external_id="OPP-1",
        expected_close_date="2024-06-30",
        need_description="扩产",
        proposal_version="V1",
    )
    zhang.orders.add(code, ordered_at="2024-05-01", amount="1,200.50", external_id="ORD-1")
    zhao_code = zhao.customers.add(**company(name="成都蜀道贸易有限公司", province="四川")).code
    zhao.orders.add(zhao_code, ordered_at="2024-05-02", amount="99")
    merged_code = zhang.customers.add(**company(name="深圳鹏城电子")).code
    customer_id = _customer_id(zhang, code)
    merged_id = _customer_id(zhang, merged_code)
    with team.admin.ctx.session() as session:
        session.get_one(Customer, merged_id).merged_into_id = customer_id
        session.add_all(
            [
                Ticket(
                    customer_id=customer_id,
                    type="complaint",
                    priority="high",
                    subject="设备无法启动",
                    assignee_id=team.sun.user.id,
                    external_id="T-1",
                    opened_at=datetime(2024, 5, 1, 9, 30),
                ),
                Lead(
                    name="王磊",
                    company="苏州启航机械有限公司",
                    source="website",
                    province="江苏省",
                    industry_section="C",
                    industry_division="34",
                    value_tier="high",
                    owner_id=zhang.user.id,
                    external_id="L-1",
                    phone="+8613900001111",
                ),
                Lead(name="赵敏", source="phone", owner_id=zhao.user.id, external_id="L-2"),
            ]
        )
    return Book(code, zhao_code, merged_code)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")


def _rows(path: Path) -> list[dict[str, Any]]:
    return _read(path).to_dict("records")


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_every_customer_in_scope_readable_by_pandas(
    team: Team, book: Book, tmp_path: Path, fmt: str
) -> None:
    result = export(team.zhang.ctx, "customers", tmp_path / f"customers.{fmt}", lang="zh")
    frame = _read(result.path)
    assert list(frame.columns) == [c.zh for c in KINDS["customers"].spec.columns]
    assert result.columns == KINDS["customers"].spec.names
    assert result.rows == len(frame) == 1
    row = frame.iloc[0]
    assert row["客户编号"] == book.code
    assert row["行业"] == "C39 计算机、通信和其他电子设备制造业"
    assert row["省份"] == "广东省"
    assert (row["客户类型"], row["企业规模"], row["客户等级"]) == ("企业", "中型", "B类")
    assert (row["客户状态"], row["客户来源"], row["负责人"]) == ("潜在客户", "官网", "zhang")
    assert (row["联系人"], row["电话"]) == ("陈静", "+8613812345678")
    assert row["标签"] == "VIP,重点跟进"
    assert row["生日"].startswith("1990-01-02") and row["授权日期"].startswith("2024-05-01")


def test_csv_is_utf8_with_bom_and_plain_values(team: Team, book: Book, tmp_path: Path) -> None:
    path = export(team.zhang.ctx, "orders", tmp_path / "orders.csv").path
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == [c.en for c in KINDS["orders"].spec.columns]
    assert lines[1] == f"ORD-1,{book.code},ERP-1,2024-05-01,1200.50,,,"


def test_xlsx_keeps_dates_and_amounts_typed_and_text_as_text(
    team: Team, book: Book, tmp_path: Path
) -> None:
    team.zhang.opportunities.add(book.code, name="=SUM(A1:A9)")
    path = export(team.zhang.ctx, "opportunities", tmp_path / "opportunities.xlsx").path
    sheet = openpyxl.load_workbook(path)["Opportunities"]
    assert sheet.freeze_panes == "A2"
    first, second = sheet[2], sheet[3]
    assert first[6].value == 12000 and first[6].number_format == "0.00"
    assert first[7].value == datetime(2024, 6, 30)
    assert first[7].number_format == "yyyy-mm-dd"
    assert (second[4].value, second[4].data_type) == ("=SUM(A1:A9)", "s")


def test_sales_rep_does_not_get_another_reps_records(
    team: Team, book: Book, tmp_path: Path
) -> None:
    customers = _rows(export(team.zhang.ctx, "customers", tmp_path / "c.csv").path)
    assert {r["Code"] for r in customers} == {book.code}
    orders = _rows(export(team.zhang.ctx, "orders", tmp_path / "o.csv").path)
    assert {r["Customer code"] for r in orders} == {book.code}
    theirs = _rows(export(team.zhao.ctx, "orders", tmp_path / "z.csv").path)
    assert {r["Customer code"] for r in theirs} == {book.zhao_code}
    everyone = _rows(export(team.ana.ctx, "customers", tmp_path / "a.csv").path)
    assert {r["Code"] for r in everyone} == {book.code, book.zhao_code}


def test_leads_are_scoped_by_their_owner(team: Team, book: Book, tmp_path: Path) -> None:
    mine = _rows(export(team.zhang.ctx, "leads", tmp_path / "zhang.xlsx").path)
    assert [r["External ID"] for r in mine] == ["L-1"]
    assert mine[0]["Industry"].startswith("C34 ") and mine[0]["Province"] == "Jiangsu"
    team_view = _rows(export(team.wang.ctx, "leads", tmp_path / "wang.xlsx").path)
    assert [r["External ID"] for r in team_view] == ["L-1"]
    everyone = _rows(export(team.sun.ctx, "leads", tmp_path / "sun.xlsx").path)
    assert [r["External ID"] for r in everyone] == ["L-1", "L-2"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_roles_without_pii_permission_get_masked_phones_and_emails(
    team: Team, book: Book, tmp_path: Path, fmt: str
) -> None:
    customers = _rows(export(team.ana.ctx, "customers", tmp_path / f"c.{fmt}").path)
    mine = next(r for r in customers if r["Code"] == book.code)
    assert (mine["Phone"], mine["E-mail"]) == ("138****5678", "c***@pengcheng.cn")
    contacts = _rows(export(team.ana.ctx, "contacts", tmp_path / f"k.{fmt}").path)
    assert {r["Phone"] for r in contacts if r["Name"] == "林涛"} == {"755****1234"}
    leads = _rows(export(team.ana.ctx, "leads", tmp_path / f"l.{fmt}").path)
    assert leads[0]["Phone"] == "139****1111"
    service = _rows(export(team.sun.ctx, "customers", tmp_path / f"s.{fmt}").path)
    assert "+8613812345678" in {r["Phone"] for r in service}


def test_columns_are_chosen_by_name_or_header_in_any_language(
    team: Team, book: Book, tmp_path: Path
) -> None:
    result = export(
        team.zhang.ctx,
        "customers",
        tmp_path / "c.csv",
        columns=["客户名称", "Phone", "code", "客戶等級"],
    )
    assert result.columns == ("name", "phone", "code", "grade")
    assert _rows(result.path) == [
        {
            "Customer name": "深圳鹏城电子有限公司",
            "Phone": "+8613812345678",
            "Code": book.code,
            "Grade": "Grade B",
        }
    ]
    zh = export(team.zhang.ctx, "orders", tmp_path / "o.xlsx", columns=["amount"], lang="zh")
    assert _rows(zh.path) == [{"订单金额": "1200.5"}]


def test_unknown_columns_are_named_in_the_error(team: Team, book: Book, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        export(team.zhang.ctx, "customers", tmp_path / "c.csv", columns=["name", "年龄", "salary"])
    assert [(e.field, e.value, e.rule) for e in caught.value.errors] == [
        ("columns", "年龄", "unknown_column"),
        ("columns", "salary", "unknown_column"),
    ]
    assert "Customer name" in caught.value.errors[0].message
    assert not (tmp_path / "c.csv").exists()
    with pytest.raises(ValidationError, match="not a supported format"):
        export(team.zhang.ctx, "customers", tmp_path / "c.json")


def test_every_export_is_audited_with_its_row_count(team: Team, book: Book, tmp_path: Path) -> None:
    result = export(team.ana.ctx, "customers", tmp_path / "c.xlsx", columns=["name", "phone"])
    with team.admin.ctx.reading() as conn:
        events = conn.execute(
            select(AuditEvent.actor, AuditEvent.entity, AuditEvent.new_value).where(
                AuditEvent.action == "export"
            )
        ).all()
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.entity) == ("ana", "customers")
    details = json.loads(event.new_value)
    assert details == {
        "rows": result.rows,
        "columns": ["name", "phone"],
        "path": str(result.path),
        "masked": True,
        "format": "xlsx",
        "lang": "en",
    }
    assert details["rows"] == 2


def test_merged_customers_are_left_out_with_what_hangs_under_them(
    team: Team, book: Book, tmp_path: Path
) -> None:
    codes = {r["Code"] for r in _rows(export(team.admin.ctx, "customers", tmp_path / "c.csv").path)}
    assert book.code in codes and book.merged_code not in codes
    contacts = _rows(export(team.admin.ctx, "contacts", tmp_path / "k.csv").path)
    assert book.merged_code not in {r["Customer code"] for r in contacts}


@pytest.mark.parametrize("kind", ["contacts", "opportunities", "orders", "tickets"])
def test_child_kinds_name_their_customer(team: Team, book: Book, tmp_path: Path, kind: str) -> None:
    rows = _rows(export(team.zhang.ctx, kind, tmp_path / f"{kind}.csv").path)
    assert rows and all(r["Customer code"] == book.code for r in rows)
    assert all(r["Customer external ID"] == "ERP-1" for r in rows)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_cell_passes_its_columns_rule_and_gives_back_the_stored_value(
    team: Team, book: Book, tmp_path: Path, kind: str, fmt: str
) -> None:
    """What a later import will check: each exported cell reads back as the stored data."""
    spec = KINDS[kind].spec
    path = export(team.admin.ctx, kind, tmp_path / f"{kind}.{fmt}", lang="zh").path
    frame = _read(path)
    assert list(frame.columns) == [c.zh for c in spec.columns]
    assert len(frame) > 0
    for record in frame.to_dict("records"):
        for column in spec.columns:
            column.rule(record[column.zh] or None)
    if kind == "customers":
        row = next(r for r in frame.to_dict("records") if r["客户编号"] == book.code)
        parsed = {c.name: c.rule(row[c.zh] or None) for c in spec.columns}
        assert parsed["industry"].code == "39" and parsed["province"].name == "广东省"
        assert (parsed["kind"], parsed["size"], parsed["grade"]) == ("company", "medium", "B")
        assert (parsed["status"], parsed["source"]) == ("potential", "website")
        assert parsed["birthday"] == date(1990, 1, 2)
        assert parsed["consent_at"] == datetime(2024, 5, 1)  # a moment: midnight as entered
        assert parsed["phone"] == "+8613812345678"
    if kind == "opportunities":
        row = frame.to_dict("records")[0]
        assert spec.column("amount").rule(row["预计金额"]) == Decimal("12000.00")
        assert spec.column("stage").rule(row["销售阶段"]) == "proposal"
    if kind == "tickets":
        row = frame.to_dict("records")[0]
        assert spec.column("opened_at").rule(row["创建时间"]) == datetime(2024, 5, 1, 9, 30)
        assert (row["工单类型"], row["优先级"], row["处理人"]) == ("投诉", "高", "sun")


def test_where_narrows_the_rows(team: Team, book: Book, tmp_path: Path) -> None:
    result = export(
        team.ana.ctx, "customers", tmp_path / "c.csv", where=Customer.province == "四川省"
    )
    assert [r["Code"] for r in _rows(result.path)] == [book.zhao_code]


def test_long_xlsx_exports_continue_on_another_sheet(
    team: Team, book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        team.zhang.orders.add(book.code, ordered_at="2024-06-01", amount=str(n + 1))
    monkeypatch.setattr(exporting, "SHEET_ROWS", 2)
    result = export(team.zhang.ctx, "orders", tmp_path / "orders.xlsx")
    workbook = openpyxl.load_workbook(result.path)
    assert workbook.sheetnames == ["Orders", "Orders 2"]
    assert [s.max_row for s in workbook.worksheets] == [3, 3]
    assert result.rows == 4
