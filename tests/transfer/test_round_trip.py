"""Exact round trips: an export imported again changes nothing, with its codes and external
ids or without them (matched by natural keys), and into a database without the records it
recreates them with the same codes, relations and values, cell by cell.

On a small demo database, with its injected faults (phones and e-mails today's rules
refuse, customers without an industry, exact duplicates) and records whose text is full
of full-width punctuation and ideographic spaces, every kind, csv and xlsx, SQLite and
PostgreSQL; and what a natural key may match for a user who sees only part of it.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

import crmlib
from crmlib.domain.customers.duplicates import company_key
from crmlib.store.models import (
    AuditEvent,
    Base,
    Contact,
    Customer,
    Lead,
    Opportunity,
    StageHistory,
    Ticket,
)
from crmlib.transfer.catalogue import file_kind
from crmlib.transfer.importing import import_file
from crmlib.workspace import Workspace
from tests.factories import company, first_user, generated_demo
from tests.templates import Templates

#: Parents before children, as a database without the records needs them.
KINDS = ("customers", "contacts", "leads", "opportunities", "orders", "tickets")
#: A workbook round trip of the demo takes a few seconds: slow.
FORMATS = ("csv", pytest.param("xlsx", marks=pytest.mark.slow))
#: What a database "without the records" keeps: the people, campaigns and settings.
KEPT = {"users", "campaigns", "settings", "alembic_version"}
#: Text as people write it: full-width punctuation, ideographic spaces (U+3000), widths mixed.
NAME = "鹏城科技（深圳）有限公司"
ADDRESS = "南山区　科苑路１５号，Ａ座（北门）"
REMARKS = "年底有扩产计划，需重点跟进（老客户）！\n第二次拜访：对价格敏感　再约"


def written_demo(url: str) -> None:
    """A template builder: a demo of 250 customers, then, through the API, records of one
    sales rep whose every text is written with full-width punctuation and U+3000."""
    generated_demo(url, customers=250, seed=5, start=date(2024, 1, 1), admin_lang="en")
    rep = first_user(url, "sales")
    with crmlib.open(url, user="admin", lang="en") as ws:
        code = ws.customers.add(
            name=NAME,
            industry="39",
            contact="陈　静",
            phone="13812345678",
            source="website",
            address=ADDRESS,
            remarks=REMARKS,
            owner=rep,
        ).code
        ws.contacts.add(code, name="王　芳", title="采购（副）经理", phone="13912345678")
        ws.leads.add(name="李　娜", company=NAME, phone="13712345678", source="website", owner=rep)
        ws.opportunities.add(
            code, name="产线升级（二期）", need_description="扩产：两条新产线（预算１２０万）"
        )
        ws.orders.add(code, ordered_at="2024-05-01", amount=1200, product="Ｘ２００（二期）　主板")
        ws.tickets.open(
            code,
            type="inquiry",
            subject="设备“X200”无法启动",
            description="客户情绪较大，要求…３日内上门！　已重启（无效）。",
        )


@pytest.fixture
def demo(db_url: str, templates: Templates) -> str:
    templates.fill(db_url, written_demo)
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


def without_keys(path: Path, kind: str, lang: str = "en") -> Path:
    """The export at ``path`` without its records' own codes and external ids (the
    customer a child names stays), as a file from a system without them: beside it."""
    spec = file_kind(kind).spec
    dropped = {
        spec.column(name).header(lang) for name in ("code", "external_id") if name in spec.names
    }
    rows = cells(path)
    keep = [i for i, header in enumerate(rows[0]) if header not in dropped]
    assert len(keep) == len(rows[0]) - len(dropped), (kind, rows[0], dropped)
    target = path.with_name(f"{path.stem}-without-keys{path.suffix}")
    if path.suffix == ".csv":
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows([[row[i] for i in keep] for row in rows])
        return target
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    for index in sorted(set(range(len(rows[0]))) - set(keep), reverse=True):
        sheet.delete_cols(index + 1)
    book.save(target)
    return target


def rejects(result: Any) -> str:
    path = result.rejects_path
    return path.read_text(encoding="utf-8-sig")[:2000] if path and path.exists() else ""


def empty_records(url: str) -> None:
    """Every record gone, codes' sequences included; users, campaigns and settings stay."""
    with crmlib.open(url, user="admin", lang="en") as ws, ws.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT:
                conn.execute(delete(table))


def exact_duplicates(ws: Workspace) -> int:
    """How many stored companies share their natural key with an earlier one."""
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(Customer.name, Contact.phone)
            .join(Contact, Contact.customer_id == Customer.id)
            .where(Customer.kind == "company", Contact.is_primary.is_(True))
        ).all()
    keys = Counter(company_key(name, phone) for name, phone in rows)
    return sum(n - 1 for key, n in keys.items() if key is not None)


@pytest.mark.parametrize("keys", ["with keys", "without keys"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_imported_again_changes_nothing(
    demo: str, tmp_path: Path, fmt: str, keys: str
) -> None:
    """With its codes and external ids, or without them (matched by natural key and
    occurrence, the demo's exact duplicates included): 0 created, 0 updated, 0 rejected."""
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
        assert exact_duplicates(ws), "the demo should hold exact duplicates"
        files = (
            before if keys == "with keys" else {k: without_keys(p, k) for k, p in before.items()}
        )
        for kind in KINDS:
            result = ws.import_file(kind, files[kind], output_dir=tmp_path / "imports" / kind)
            counts = (result.created, result.updated, result.rejected)
            assert counts == (0, 0, 0), (kind, counts, rejects(result))
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
    """Every record comes back with its code, customer, owner and values, cell by cell.
    The demo's injected faults are new records there, so today's rules judge them: a
    customer whose phone or e-mail they refuse is rejected (and what hangs under it with
    it), and so is any other record holding such a value."""
    with crmlib.open(demo, user="admin", lang="en") as ws:
        before = export_all(ws, tmp_path / "before", fmt)
    empty_records(demo)
    with crmlib.open(demo, user="admin", lang="en") as ws:
        judged: dict[str, set[int]] = {}
        for kind in KINDS:
            result = ws.import_file(kind, before[kind], output_dir=tmp_path / "imports" / kind)
            refused = numbered(result.rejects_path)
            assert set(refused.values()) <= EXPECTED_REASONS, (kind, refused)
            judged[kind] = set(refused)
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
        clean = [row for number, row in enumerate(rows, start=2) if number not in judged[kind]]
        assert any("\u3000" in str(cell) or "（" in str(cell) for row in clean for cell in row)
        recreated = cells(after[kind])
        assert recreated[0] == header, kind
        if kind == "contacts":  # primary contacts come with the customers' file, first
            assert sorted(recreated[1:], key=str) == sorted(clean, key=str)
        else:
            assert recreated[1:] == clean, kind
        assert (again[kind].created, again[kind].updated, again[kind].rejected) == (0, 0, 0)


#: Why a faulty demo record may be refused in a database without it.
EXPECTED_REASONS = {"phone_format", "email_format", "required", "unknown_customer"}


def numbered(path: Path | None) -> dict[int, str]:
    """Row number → the rule of its first reason, from a rejects file."""
    if path is None or not path.exists():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    rules = frame["reasons"].str.extract(r"\[(\w+)\]", expand=False)
    return dict(zip(frame["row_number"].astype(int), rules, strict=True))


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


def test_leads_without_keys_match_alike_leads_by_occurrence(db_url: str, tmp_path: Path) -> None:
    """Two leads with one natural key never trade values: the k-th row matches the k-th."""
    path = tmp_path / "leads.csv"
    path.write_text(
        "姓名,公司名称,电话,电子邮箱,线索来源\n"
        "王磊,苏州启航机械有限公司,13812345678,a@example.cn,官网\n"
        "王磊,苏州启航机械有限公司,13812345678,b@example.cn,官网\n",
        "utf-8",
    )
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        for email in ("a@example.cn", "b@example.cn"):
            ws.leads.add(
                name="王磊",
                company="苏州启航机械有限公司",
                phone="13812345678",
                email=email,
                source="website",
            )
        result = ws.import_file("leads", path, output_dir=tmp_path / "out")
        with ws.engine.connect() as conn:
            emails = conn.execute(select(Lead.email).order_by(Lead.id)).scalars().all()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert emails == ["a@example.cn", "b@example.cn"]


def test_a_code_given_twice_in_a_file_is_a_repeated_row(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "线索编号,姓名,线索来源\nL20240501001,李娜,官网\nL20240501001,李娜,展会\n", "utf-8"
    )
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        result = ws.import_file("leads", path, output_dir=tmp_path / "out")
    assert (result.created, result.rejected) == (1, 1)
    assert "[repeated_row]" in rejects(result)


def test_customers_without_keys_match_stored_twins_by_occurrence(
    db_url: str, tmp_path: Path
) -> None:
    """Two stored customers with one natural key are each found again by a file without
    keys, whatever its chunks; a third such row is a new customer, refused as a duplicate."""
    with crmlib.open(db_url, user="admin", lang="en") as ws:
        first = ws.customers.add(**company(name=NAME, phone="13812340001"))
        second = ws.customers.add(allow_duplicate=True, **company(name=NAME, phone="13812340001"))
        path = tmp_path / "customers.csv"
        path.write_text(
            "客户名称,行业,联系人,电话,客户来源,备注\n"
            + "".join(
                # another width and spacing: the natural key folds them
                f"{NAME.replace('（', '(')},I65,张伟,138 1234 0001,官网,{remark}\n"
                for remark in ("一", "二", "三")
            ),
            "utf-8",
        )
        results = [
            import_file(ws.ctx, "customers", path, chunk_rows=1, output_dir=tmp_path / str(n))
            for n in range(2)
        ]
        remarks = [ws.customers.get(c.code).remarks for c in (first, second)]
        total = len(ws.customers.frame())
    counts = [(r.created, r.updated, r.unchanged, r.rejected) for r in results]
    assert counts == [(0, 2, 0, 1), (0, 0, 2, 1)]
    assert remarks == ["一", "二"] and total == 2
    assert "[duplicate]" in rejects(results[1]) and first.code in rejects(results[1])


@pytest.fixture
def rep_and_demo(demo: str) -> tuple[str, str]:
    return first_user(demo, "sales"), demo


def edited(path: Path, kind: str) -> Path:
    """The export at ``path`` without keys, every remark (a lead's e-mail) changed."""
    frame = pd.read_csv(
        without_keys(path, kind), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    if kind == "leads":
        frame["E-mail"] = [f"changed.{n}@example.cn" for n in range(len(frame))]
    else:
        frame["Remarks"] = frame["Remarks"] + "（改）"
    target = path.with_name(f"edited-{path.name}")
    frame.to_csv(target, index=False, encoding="utf-8-sig")
    return target


@pytest.mark.parametrize("kind", ["customers", "leads"])
def test_a_natural_key_never_reaches_a_record_outside_the_scope(
    rep_and_demo: tuple[str, str], tmp_path: Path, kind: str
) -> None:
    """A sales rep's own export without keys, edited, updates each of her records. The
    whole demo's, edited, touches nobody else's record, and no reason names a record she
    may not see or says that one she gave a key of is outside her scope."""
    rep, url = rep_and_demo
    everything, own, later = (tmp_path / f"{name}-{kind}.csv" for name in ("all", "mine", "after"))
    with crmlib.open(url, user="admin", lang="en") as admin:
        admin.export(kind, everything)
    with crmlib.open(url, user=rep, lang="en") as ws:
        ws.export(kind, own)
        mine = ws.import_file(kind, edited(own, kind), output_dir=tmp_path / "mine")
        result = ws.import_file(kind, edited(everything, kind), output_dir=tmp_path / "all")
    with crmlib.open(url, user="admin", lang="en") as admin:
        admin.export(kind, later)
    assert (mine.created, mine.updated, mine.rejected) == (0, len(cells(own)) - 1, 0)
    codes = {row[1] for row in cells(everything)[1:]} - {row[1] for row in cells(own)[1:]}
    assert result.rejects_path is not None  # the rows of others' customers, at least
    reasons = [row[1] for row in cells(result.rejects_path)[1:]]
    assert not any(code in reason for code in codes for reason in reasons)
    # only a customer the file names by code may be said to be outside her scope
    foreign = [reason for reason in reasons if "[outside_scope]" in reason]
    assert all(
        re.fullmatch(r"customer C\d+ is outside your scope \[outside_scope\]", reason)
        for reason in foreign
    )
    others = [row for row in cells(everything)[1:] if row[1] in codes]
    assert others and all(row in cells(later) for row in others)
    if kind == "customers":  # each row of someone else's customer is refused
        assert result.created == 0 and result.rejected >= len(others)
