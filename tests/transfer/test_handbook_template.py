"""The implementation handbook's appendix-1 customer template imports as printed: its
headers and value words in simplified and traditional Chinese, its customer numbers, its
remarks; and a column nobody knows is named in the dry run with what it may have meant,
then mapped with ``--map``, the import notebook's mapping or the ``import_synonyms``
setting."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from crmlib.errors import ValidationError
from crmlib.settings.rules import IMPORT_KINDS
from crmlib.transfer.catalogue import KINDS
from crmlib.transfer.importing import ImportResult
from crmlib.ui.entry import customer_specs
from crmlib.workspace import Workspace
from tests.commands import crm
from tests.factories import Team

SIMPLIFIED = [
    "客户编号",
    "客户名称",
    "所属行业",
    "联系人",
    "联系方式",
    "客户地址",
    "信息来源",
    "客户等级",
    "客户状态",
    "备注",
]
TRADITIONAL = [
    "客戶編號",
    "客戶名稱",
    "所屬行業",
    "聯繫人",
    "聯繫方式",
    "客戶地址",
    "信息來源",
    "客戶等級",
    "客戶狀態",
    "備註",
]
#: Remarks as people type them: full-width punctuation, an ideographic space, two lines.
REMARKS = ["年底有扩产计划，需重点跟进（老客户）", "第一次拜访：\n对价格敏感　再约", ""]
ROWS = {
    "simplified": [
        ["CUS0001", "深圳鹏城电子有限公司", "制造业", "陈静", "13812345678",
         "深圳市南山区科苑路15号", "官网表单", "重要", "成交客户", REMARKS[0]],
        ["CUS0002", "苏州启航机械有限公司", "批发业", "王磊", "0512-66881234",
         "苏州市工业园区星湖街88号", "展会", "一般", "潜在客户", REMARKS[1]],
        ["CUS0003", "杭州云栖软件有限公司", "软件和信息技术服务业", "李娜", "13900001111",
         "杭州市西湖区文三路1号", "转介绍", "潜在", "流失客户", REMARKS[2]],
        # No phone: the handbook makes it required, so this row alone is rejected.
        ["CUS0004", "无电话贸易有限公司", "制造业", "赵强", "",
         "广州市天河区体育西路9号", "官网表单", "一般", "成交客户", "缺少联系方式"],
    ],
    "traditional": [
        ["CUS0001", "深圳鵬城電子有限公司", "製造業", "陳靜", "13812345678",
         "深圳市南山區科苑路15號", "官網表單", "重要", "成交客戶", REMARKS[0]],
        ["CUS0002", "蘇州啟航機械有限公司", "批發和零售業", "王磊", "0512-66881234",
         "蘇州市工業園區星湖街88號", "展會", "一般", "潛在客戶", REMARKS[1]],
        ["CUS0003", "杭州雲棲軟件有限公司", "信息傳輸、軟件和信息技術服務業", "李娜",
         "13900001111", "杭州市西湖區文三路1號", "轉介紹", "潛在", "流失客戶", REMARKS[2]],
        ["CUS0004", "無電話貿易有限公司", "製造業", "趙強", "",
         "廣州市天河區體育西路9號", "官網表單", "一般", "成交客戶", "缺少聯繫方式"],
    ],
}  # fmt: skip
#: What the three valid rows are stored as, whichever script the file is in.
STORED = [
    {"external_id": "CUS0001", "source": "website", "grade": "A", "status": "active"},
    {"external_id": "CUS0002", "source": "exhibition", "grade": "B", "status": "potential"},
    {"external_id": "CUS0003", "source": "referral", "grade": "C", "status": "lost"},
]


def write(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """A CSV as Excel saves one (UTF-8 with a BOM, CRLF), or an .xlsx workbook."""
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(list(row))
        book.save(path)
    else:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def run(ws: Workspace, path: Path, **options: Any) -> ImportResult:
    out = path.parent / f"out-{path.stem}-{len(list(path.parent.glob('out-*')))}"
    return ws.import_file("customers", path, output_dir=out, **options)


def stored(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Visible customers by external ID, missing values as None."""
    frame = ws.customers.frame().astype(object)
    frame = frame.where(frame.notna(), None)
    return {
        str(row["external_id"]): {str(k): v for k, v in row.items()}
        for row in frame.to_dict("records")
    }


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("script", ["simplified", "traditional"])
def test_the_handbook_template_imports_as_printed(
    team: Team, tmp_path: Path, script: str, suffix: str
) -> None:
    headers = SIMPLIFIED if script == "simplified" else TRADITIONAL
    path = write(tmp_path / f"appendix-1{suffix}", [headers, *ROWS[script]])
    result = run(team.zhang, path)
    assert result.unknown_columns == [], result.describe("en")
    assert (result.rows, result.created, result.rejected) == (4, 3, 1), result.describe("en")
    assert result.rejects_path is not None
    reasons = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)["reasons"]
    assert reasons.str.contains(r"phone=None.*\[required\]").all(), reasons.tolist()
    found = stored(team.zhang)
    assert sorted(found) == ["CUS0001", "CUS0002", "CUS0003"]
    for row, expected, remarks in zip(ROWS[script], STORED, REMARKS, strict=False):
        customer = found[expected["external_id"]]
        assert {k: customer[k] for k in expected} == expected
        assert customer["name"] == row[1] and customer["contact"] == row[3]
        assert customer["address"] == row[5]
        # Remarks are stored exactly as typed; an empty cell is no remarks.
        assert customer["remarks"] == (remarks or None)
        # The handbook's number is the other system's key; the code is ours.
        assert customer["code"].startswith("C") and customer["code"] != row[0]
    assert found["CUS0001"]["industry_section"] == "C"
    # The number finds the same customers again: importing the file twice changes nothing.
    again = run(team.zhang, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3), again.describe("en")


def test_remarks_go_through_the_api_the_form_and_the_export(team: Team, tmp_path: Path) -> None:
    ws = team.zhang
    code = ws.customers.add(
        name="深圳鹏城电子有限公司",
        industry="39",
        contact="陈静",
        phone="13812345678",
        source="website",
        remarks=REMARKS[0],
    ).code
    assert ws.customers.get(code).remarks == REMARKS[0]
    assert ws.customers.update(code, remarks=REMARKS[1]).remarks == REMARKS[1]
    for lang, label in (("zh", "备注"), ("en", "Remarks")):
        spec = next(s for s in customer_specs(lang) if s.name == "remarks")
        assert (spec.label, spec.multiline) == (label, True)
        exported = ws.export("customers", tmp_path / f"customers-{lang}.xlsx", lang=lang).path
        frame = pd.read_excel(exported, dtype=str, engine="openpyxl")
        assert frame[label].tolist() == [REMARKS[1]]
    # The export reads back unchanged, remarks included.
    back = run(ws, tmp_path / "customers-zh.xlsx")
    assert (back.created, back.updated, back.unchanged) == (0, 0, 1), back.describe("en")
    assert ws.customers.get(code).remarks == REMARKS[1]


REAL_SHEET = [
    ["客户名称", "所属行业", "联系人", "手机号码", "信息来源", "成交金额", "最后跟进时间",
     "客户说明"],
    ["深圳鹏城电子有限公司", "制造业", "陈静", "13812345678", "官网表单", "120000",
     "2024-05-01", "老客户"],
]  # fmt: skip


def test_the_dry_run_names_every_unknown_column_with_suggestions(
    team: Team, tmp_path: Path
) -> None:
    path = write(tmp_path / "real.csv", REAL_SHEET)
    result = run(team.admin, path, dry_run=True)
    assert result.unknown_columns == ["手机号码", "成交金额", "最后跟进时间", "客户说明"]
    assert result.suggestions["手机号码"][0] == "phone"
    assert result.suggestions["客户说明"] == []  # nothing close: named all the same
    # Without a phone the row is rejected; nothing is committed in a dry run.
    assert (result.rejected, result.committed) == (1, False)
    assert stored(team.admin) == {}
    chinese = result.describe("zh")
    assert "“手机号码”：可能是 电话" in chinese
    assert "“客户说明”：没有相近的字段" in chinese
    assert "crm import --map 列名=字段" in chinese
    assert all(f"“{header}”" in chinese for header in result.unknown_columns)
    english = result.describe("en")
    assert '"手机号码": perhaps Phone' in english
    assert "--map header=field" in english


def test_map_names_the_field_of_an_unknown_column(team: Team, tmp_path: Path) -> None:
    path = write(tmp_path / "real.csv", REAL_SHEET)
    ran = crm(
        "import", "customers", str(path), "--map", "手机号码=phone", "--map", "客户说明=备注",
        url=team.url, user="zhang",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 created" in ran.stdout, ran.stdout
    assert "(ignored): 成交金额, 最后跟进时间" in ran.stdout, ran.stdout
    [customer] = stored(team.zhang).values()
    assert (customer["phone"], customer["remarks"]) == ("+8613812345678", "老客户")
    # The API takes the same mapping; a field the kind does not have is named with the
    # fields it does have, and a mapping without "=" is refused as written.
    with pytest.raises(ValidationError, match="remarks"):
        run(team.zhang, path, mapping={"客户说明": "notes_field"})
    bad = crm("import", "customers", str(path), "--map", "客户说明", url=team.url, user="zhang")
    assert bad.returncode != 0 and "header=field" in bad.stdout + bad.stderr


def test_the_import_synonyms_setting_adds_headers(team: Team, tmp_path: Path) -> None:
    team.admin.settings.set(
        "import_synonyms", {"customers": {"手机号码": "phone", "客户说明": "remarks"}}
    )
    result = run(team.zhang, write(tmp_path / "real.xlsx", REAL_SHEET))
    assert result.unknown_columns == ["成交金额", "最后跟进时间"]
    assert result.created == 1
    [customer] = stored(team.zhang).values()
    assert customer["remarks"] == "老客户"
    # A mapping given with the import goes before the setting.
    other = [REAL_SHEET[0], ["苏州启航机械有限公司", *REAL_SHEET[1][1:3], "13912345678",
                             *REAL_SHEET[1][4:]]]  # fmt: skip
    result = run(team.zhang, write(tmp_path / "other.csv", other), mapping={"客户说明": "标签"})
    assert result.created == 1, result.describe("en")
    frame = team.zhang.customers.frame().set_index("name")
    added = team.zhang.customers.get(frame.loc["苏州启航机械有限公司", "code"])
    assert (added.remarks, added.tags) == (None, ("老客户",))
    with pytest.raises(ValidationError, match="import_synonyms"):
        team.admin.settings.set("import_synonyms", {"customer": {"手机号码": "phone"}})
    with pytest.raises(ValidationError, match=r"import_synonyms\.customers"):
        team.admin.settings.set("import_synonyms", {"customers": {"手机号码": ""}})


def test_the_setting_knows_every_kind_of_file() -> None:
    """The settings sit below the file kinds, so they name them once more: in step."""
    assert tuple(KINDS.names()) == IMPORT_KINDS
