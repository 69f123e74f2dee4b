"""Exact round trips: an export imported again changes nothing, and into a database without
the records it recreates them with the same codes, relations and values.

On a small demo database, with its injected faults (phones and e-mails today's rules
refuse, customers without an industry), every kind, csv and xlsx, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

import crmlib
from crmlib.store.models import (
    AuditEvent,
    Base,
    Customer,
    Lead,
    Opportunity,
    StageHistory,
    Ticket,
)
from crmlib.workspace import Workspace
from tests.factories import company, generated_demo
from tests.templates import Templates

#: Parents before children, as a database without the records needs them.
KINDS = ("customers", "contacts", "leads", "opportunities", "orders", "tickets")
FORMATS = ("csv", "xlsx")
DEMO = partial(generated_demo, customers=120, seed=5, start=date(2024, 1, 1), admin_lang="en")
#: What a database "without the records" keeps: the people, campaigns and settings.
KEPT = {"users", "campaigns", "settings", "alembic_version"}


@pytest.fixture
def demo(db_url: str, templates: Templates) -> str:
    templates.fill(db_url, DEMO)
    return db_url


def export_all(ws: Workspace, folder: Path, fmt: str) -> dict[str, Path]:
    paths = {kind: folder / f"{kind}.{fmt}" for kind in KINDS}
    for kind, path in paths.items():
        ws.export(kind, path)
    return paths


def cells(path: Path) -> list[list[Any]]:
    """The file's rows as the importer's user sees them: text for csv, typed for xlsx."""
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return [list(frame.columns), *frame.to_numpy().tolist()]
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [list(row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def rejects(result: Any) -> str:
    path = result.rejects_path
    return path.read_text(encoding="utf-8-sig")[:2000] if path and path.exists() else ""


def empty_records(url: str) -> None:
    """Every record gone, codes' sequences included; users, campaigns and settings stay."""
    with crmlib.open(url, user="admin") as ws, ws.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT:
                conn.execute(delete(table))


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_imported_again_changes_nothing(demo: str, tmp_path: Path, fmt: str) -> None:
    with crmlib.open(demo, user="admin", lang="en") as ws:
        before = export_all(ws, tmp_path / "before", fmt)
        with ws.engine.connect() as conn:
            faults = conn.execute(
                select(func.count())
                .select_from(Customer)
                .where(Customer.industry_division.is_(None))
            ).scalar_one()
            lost = conn.execute(
                select(func.count()).select_from(Opportunity).where(Opportunity.stage == "lost")
            ).scalar_one()
            stays = conn.execute(select(func.count()).select_from(StageHistory)).scalar_one()
        assert faults and lost, "the demo should hold customers without industry and lost deals"
        for kind in KINDS:
            result = ws.import_file(kind, before[kind], output_dir=tmp_path / "imports" / kind)
            counts = (result.created, result.updated, result.rejected, result.warned)
            assert counts == (0, 0, 0, 0), (kind, counts, rejects(result))
            assert result.unchanged == len(cells(before[kind])) - 1
        after = export_all(ws, tmp_path / "after", fmt)
        with ws.engine.connect() as conn:
            changed = conn.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "import", AuditEvent.field.is_not(None))
            ).scalar_one()
            assert (
                conn.execute(select(func.count()).select_from(StageHistory)).scalar_one() == stays
            )
    assert changed == 0
    for kind in KINDS:
        assert cells(after[kind]) == cells(before[kind]), kind


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_recreates_its_records_in_a_database_without_them(
    demo: str, tmp_path: Path, fmt: str
) -> None:
    """Every record comes back with its code, customer, owner and values. The demo's
    injected faults are new records there, so today's rules judge them: a customer whose
    phone they refuse is rejected (and what hangs under it with it), a lead's refused
    phone is left out with a warning."""
    with crmlib.open(demo, user="admin", lang="en") as ws:
        before = export_all(ws, tmp_path / "before", fmt)
    empty_records(demo)
    with crmlib.open(demo, user="admin", lang="en") as ws:
        judged: dict[str, set[int]] = {}
        for kind in KINDS:
            result = ws.import_file(kind, before[kind], output_dir=tmp_path / "imports" / kind)
            refused = numbered(result.rejects_path)
            assert set(refused.values()) <= EXPECTED_REASONS, (kind, refused)
            judged[kind] = set(refused) | set(numbered(result.warnings_path))
            # the customers' file brings their primary contacts along
            made = result.created + result.unchanged
            assert made == len(cells(before[kind])) - 1 - len(refused), kind
        after = export_all(ws, tmp_path / "after", fmt)
        again = {
            kind: ws.import_file(kind, after[kind], output_dir=tmp_path / "again" / kind)
            for kind in KINDS
        }
    for kind in KINDS:
        header, *rows = cells(before[kind])
        recreated = cells(after[kind])
        assert recreated[0] == header
        clean = [row for number, row in enumerate(rows, start=2) if number not in judged[kind]]
        assert clean, kind
        assert not multiset(clean) - multiset(recreated[1:]), kind
        assert (again[kind].created, again[kind].updated, again[kind].rejected) == (0, 0, 0)


#: Why a faulty demo record may be refused in a database without it.
EXPECTED_REASONS = {"phone_format", "email_format", "required", "unknown_customer"}


def numbered(path: Path | None) -> dict[int, str]:
    """Row number → the rule of its first reason, from a rejects or warnings file."""
    if path is None or not path.exists():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "reasons" in frame:
        rules = frame["reasons"].str.extract(r"\[(\w+)\]", expand=False)
    else:
        rules = frame["rule"]
    return dict(zip(frame["row_number"].astype(int), rules, strict=True))


def multiset(rows: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(row) for row in rows)


def test_new_records_get_codes_on_every_path(db_url: str, tmp_path: Path) -> None:
    """The API, an import and the demo hand out codes of their letter, unique."""
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        customer = ws.customers.add(**company())
        lead = ws.leads.add(name="王磊", source="website")
        deal = ws.opportunities.add(customer.code, name="产线升级")
        ticket = ws.tickets.open(customer.code, type="inquiry", priority="high", subject="报价")
        path = tmp_path / "leads.csv"
        path.write_text("姓名,线索来源,线索编号\n李娜,官网,\n赵强,展会,L20240501007\n", "utf-8")
        assert ws.import_file("leads", path).created == 2
        with ws.engine.connect() as conn:
            codes = {name: code for name, code in conn.execute(select(Lead.name, Lead.code))}
    today = f"{crmlib.clock.today():%Y%m%d}"
    assert lead["code"] == f"L{today}001" == codes["王磊"]
    assert codes["李娜"] == f"L{today}002"
    assert codes["赵强"] == "L20240501007"  # kept from the file
    assert deal["code"] == f"D{today}001"
    assert ticket["code"] == f"T{today}001"


def test_the_demo_gives_every_record_a_code(demo: str) -> None:
    with crmlib.open(demo, user="admin") as ws, ws.engine.connect() as conn:
        for model, letter in ((Lead, "L"), (Opportunity, "D"), (Ticket, "T")):
            rows, coded, distinct, first = conn.execute(
                select(
                    func.count(),
                    func.count(model.code),
                    func.count(func.distinct(model.code)),
                    func.min(model.code),
                )
            ).one()
            assert rows and rows == coded == distinct, model
            assert str(first).startswith(letter), model


def test_a_malformed_code_in_a_file_rejects_its_row(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("姓名,线索来源,线索编号\n李娜,官网,C20240501001\n", "utf-8")
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        result = ws.import_file("leads", path, output_dir=tmp_path / "out")
    assert (result.created, result.rejected) == (0, 1)
    assert "[code_format]" in rejects(result)


def test_leads_without_keys_match_by_name_phone_and_company(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "姓名,公司名称,电话,线索来源\n王磊,苏州启航机械有限公司,13812345678,官网\n"
        "王磊,苏州启航机械有限公司,13912345678,官网\n",
        "utf-8",
    )
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        first = ws.import_file("leads", path, output_dir=tmp_path / "one")
        second = ws.import_file("leads", path, output_dir=tmp_path / "two")
    assert (first.created, second.created, second.unchanged) == (2, 0, 2)


def test_a_code_given_twice_in_a_file_is_a_repeated_row(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "线索编号,姓名,线索来源\nL20240501001,李娜,官网\nL20240501001,李娜,展会\n", "utf-8"
    )
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        result = ws.import_file("leads", path, output_dir=tmp_path / "out")
    assert (result.created, result.rejected) == (1, 1)
    assert "[repeated_row]" in rejects(result)
