"""What people wrote comes back as they wrote it: full-width punctuation, ideographic spaces
and mixed widths survive the import (csv and xlsx), the API and the export, on SQLite and
PostgreSQL; a consent time keeps its time of day; identifiers are still folded."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from crmlib.store.models import Customer, Opportunity, Ticket
from crmlib.workspace import Workspace
from tests.factories import Team

FORMATS = ("csv", "xlsx")
NAME = "鹏城科技（深圳）有限公司"
ADDRESS = "南山区　科苑路１５号，Ａ座（北门）"
REMARKS = "年底有扩产计划，需重点跟进（老客户）！\n第二次拜访：对价格敏感　再约"
CONSENT = datetime(2024, 5, 1, 10, 30, 15)
DEAL = "产线升级（二期）"
NEED = "扩产需要两条新产线（预算：１２０万）；Ｘ２００ｘ２台"
SUBJECT = "设备“X200”无法启动"
DESCRIPTION = "客户情绪较大，要求…３日内上门！　已重启（无效）。"
RESOLUTION = "更换主板，客户确认可用。　保修期内（免费）"

CUSTOMER_ROWS: list[list[Any]] = [
    ["外部编号", "客户名称", "行业", "联系人", "电话", "客户来源", "地址", "授权日期", "备注"],
    ["ＥＲＰ－０１", NAME, "39", "陈　静", "13812345678", "官网", ADDRESS, CONSENT, REMARKS],
]
DEAL_ROWS: list[list[Any]] = [
    ["外部编号", "客户外部编号", "商机名称", "需求描述"],
    ["OPP-1", "ERP-01", DEAL, NEED],
]
TICKET_ROWS: list[list[Any]] = [
    ["外部编号", "客户外部编号", "工单类型", "优先级", "主题", "问题描述", "解决方案"],
    ["T-1", "ERP-01", "售后", "高", SUBJECT, DESCRIPTION, RESOLUTION],
]


def _write(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """A file as a person saves it: text cells, and in a workbook a real date-time cell."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            for row in rows:
                writer.writerow(
                    [f"{v:%Y-%m-%d %H:%M:%S}" if isinstance(v, datetime) else v for v in row]
                )
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _import(ws: Workspace, kind: str, path: Path) -> Any:
    result = ws.import_file(kind, path, output_dir=path.parent / f"out-{kind}-{path.stem}")
    assert result.rejected == 0, result.describe("en")
    return result


def _exported(ws: Workspace, kind: str, path: Path) -> pd.DataFrame:
    ws.export(kind, path, lang="zh")
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pd.read_excel(path, dtype=object, engine="openpyxl").fillna("")


def _stored(ws: Workspace) -> dict[str, Any]:
    """What the database holds, read through the API."""
    with ws.ctx.reading() as conn:
        code = conn.execute(select(Customer.code).where(Customer.external_id == "ERP-01"))
        customer = ws.customers.get(code.scalar_one())
        deal_id = conn.execute(select(Opportunity.id)).scalar_one()
        ticket_id = conn.execute(select(Ticket.id)).scalar_one()
    deal = ws.opportunities.get(deal_id)
    ticket = ws.tickets.get(ticket_id)
    return {
        "name": customer.name,
        "address": customer.address,
        "remarks": customer.remarks,
        "contact": customer.contact,
        "consent_at": customer.consent_at,
        "deal": deal["name"],
        "need": deal["need_description"],
        "subject": ticket["subject"],
        "description": ticket["description"],
        "resolution": ticket["resolution"],
    }


WRITTEN = {
    "name": NAME,
    "address": ADDRESS,
    "remarks": REMARKS,
    "contact": "陈　静",
    "consent_at": CONSENT,
    "deal": DEAL,
    "need": NEED,
    "subject": SUBJECT,
    "description": DESCRIPTION,
    "resolution": RESOLUTION,
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_text_survives_import_api_export_and_import_again(
    team: Team, tmp_path: Path, fmt: str
) -> None:
    ws = team.admin
    for kind, rows in (("customers", CUSTOMER_ROWS), ("opportunities", DEAL_ROWS)):
        _import(ws, kind, _write(tmp_path / f"{kind}.{fmt}", rows))
    _import(ws, "tickets", _write(tmp_path / f"tickets.{fmt}", TICKET_ROWS))
    assert _stored(ws) == WRITTEN

    customers = _exported(ws, "customers", tmp_path / f"out-customers.{fmt}").iloc[0]
    assert customers["外部编号"] == "ERP-01"  # an identifier, folded
    assert (customers["客户名称"], customers["地址"], customers["备注"]) == (NAME, ADDRESS, REMARKS)
    assert customers["联系人"] == "陈　静"
    consent = customers["授权日期"]
    assert consent == (CONSENT if fmt == "xlsx" else "2024-05-01 10:30:15")
    deal = _exported(ws, "opportunities", tmp_path / f"out-deals.{fmt}").iloc[0]
    assert (deal["商机名称"], deal["需求描述"]) == (DEAL, NEED)
    ticket = _exported(ws, "tickets", tmp_path / f"out-tickets.{fmt}").iloc[0]
    assert (ticket["主题"], ticket["问题描述"], ticket["解决方案"]) == (
        SUBJECT,
        DESCRIPTION,
        RESOLUTION,
    )

    for kind, name in (
        ("customers", "customers"),
        ("opportunities", "deals"),
        ("tickets", "tickets"),
    ):
        again = _import(ws, kind, tmp_path / f"out-{name}.{fmt}")
        assert (again.created, again.updated) == (0, 0), (kind, again.describe("en"))
    assert _stored(ws) == WRITTEN


def test_the_api_stores_what_was_typed_and_trims_only_the_ends(team: Team) -> None:
    ws = team.zhang
    record = ws.customers.add(
        name=f"\u3000{NAME} ",
        industry="39",
        contact="陈静",
        phone="13812345679",
        source="website",
        address=ADDRESS,
        remarks=f"\n{REMARKS}\u3000",
        consent_at="2024-05-01 10:30:15",
        external_id=" ＥＲＰ－０２ ",
    )
    assert (record.name, record.address, record.remarks) == (NAME, ADDRESS, REMARKS)
    assert record.consent_at == CONSENT and record.external_id == "ERP-02"
    again = ws.customers.get(record.code)
    assert (again.name, again.address, again.remarks, again.consent_at) == (
        NAME,
        ADDRESS,
        REMARKS,
        CONSENT,
    )
