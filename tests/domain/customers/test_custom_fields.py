"""Custom fields end to end: defined by an administrator, entered through the API, imported,
exported, filtered by segment rules and shown in the history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

import crmlib
from crmlib.cli import main
from crmlib.domain.customers.custom_fields import number
from crmlib.errors import AccessDenied, ValidationError
from crmlib.rules import RuleViolation
from tests.factories import Team, company


def define(team: Team) -> None:
    fields = team.admin.custom_fields
    fields.define(
        "customers",
        "industry_detail",
        names={"zh": "行业细分", "en": "Industry detail"},
        type="choice",
        choices=["汽车零部件", "消费电子"],
    )
    fields.define(
        "customers", "credit", names={"zh": "授信额度", "en": "Credit line"}, type="money"
    )
    fields.define(
        "customers", "since", names={"zh": "合作开始", "en": "Partner since"}, type="date"
    )
    fields.define("customers", "memo", names={"zh": "附注", "en": "Memo"}, type="text")
    fields.define("customers", "score", names={"zh": "评分", "en": "Score"}, type="number")


VALUES = {
    "行业细分": "消费电子",
    "Credit line": "1,200.50",
    "since": "2024-05-01",
    "memo": "　客户情绪较大，要求（加急）… ",
    "score": "-3.25",
}


def test_define_enter_read_and_audit(team: Team) -> None:
    define(team)
    record = team.zhang.customers.add(**company(), custom=VALUES)
    assert record.custom == {
        "industry_detail": "消费电子",
        "credit": Decimal("1200.50"),
        "since": date(2024, 5, 1),
        "memo": "客户情绪较大，要求（加急）…",  # as typed, trimmed at either end only
        "score": Decimal("-3.25"),
    }
    changed = team.zhang.customers.update(record.code, custom={"评分": "4", "memo": None})
    assert changed.custom["score"] == Decimal("4") and "memo" not in changed.custom
    row = team.zhang.customers.frame().iloc[0]
    assert row["industry_detail"] == "消费电子" and row["credit"] == Decimal("1200.50")
    assert pd.isna(row["memo"])

    history = team.zhang.history(record.code)["text"].tolist()
    assert any("changed Score of" in line and "from -3.25 to 4" in line for line in history)
    assert any("changed Credit line of" in line and "to 1200.50" in line for line in history)
    with crmlib.open(team.url, user="zhang", lang="zh") as zh:
        assert any("评分" in line for line in zh.history(record.code)["text"])

    # A value is visible exactly where its record is.
    assert team.zhao.customers.frame().empty
    with pytest.raises(AccessDenied):
        team.zhao.customers.get(record.code)


def test_only_administrators_define_and_retire(team: Team) -> None:
    with pytest.raises(AccessDenied):
        team.wang.custom_fields.define(
            "customers", "region_code", names={"zh": "区域码", "en": "Region code"}, type="text"
        )
    define(team)
    with pytest.raises(AccessDenied):
        team.zhang.custom_fields.retire("customers", "memo")
    team.admin.custom_fields.retire("customers", "memo")
    assert "memo" not in team.zhang.customers.frame().columns
    listed = team.admin.custom_fields.list(retired=True).set_index("key")
    assert not listed.loc["memo", "active"] and listed.loc["credit", "active"]
    with team.admin.engine.connect() as conn:
        events = conn.execute(
            text("SELECT actor, action, field FROM audit_events WHERE entity = 'custom_fields'")
        ).all()
    assert set(events) == {("admin", "create", None), ("admin", "update", "active")}


def test_bad_definitions_and_values_are_refused(team: Team) -> None:
    with pytest.raises(ValidationError) as refused:
        team.admin.custom_fields.define(
            "customers", "Name", names={"zh": "", "en": "x"}, type="colour", choices=["a"]
        )
    assert {e.field for e in refused.value.errors} == {"key", "names.zh", "type", "choices"}
    define(team)
    with pytest.raises(ValidationError) as taken:
        team.admin.custom_fields.define(
            "customers", "other", names={"zh": "行业细分", "en": "Other"}, type="text"
        )
    assert [e.rule for e in taken.value.errors] == ["unique"]
    code = team.zhang.customers.add(**company()).code
    bad = {
        "score": "abc",
        "credit": "-5",
        "since": "2024-13-01",
        "industry_detail": "家电",
        "memo": "x" * 501,
        "colour": "red",
    }
    with pytest.raises(ValidationError) as broken:
        team.zhang.customers.update(code, custom=bad)
    rules = {e.field: e.rule for e in broken.value.errors}
    assert rules == {
        "score": "custom_number",
        "credit": "amount",
        "since": "date_format",
        "industry_detail": "custom_choice",
        "memo": "too_long",
        "colour": "unknown_field",
    }
    with crmlib.open(team.url, user="zhang", lang="zh") as zh, pytest.raises(ValidationError) as e:
        zh.customers.update(code, custom={"industry_detail": "家电"})
    assert "不是可选值之一" in str(e.value)
    assert team.zhang.customers.get(code).custom == {}


@pytest.mark.parametrize(
    ("typed", "read"),
    [("1,200.25", Decimal("1200.25")), ("-3", Decimal(-3)), (2.5, Decimal("2.5")), ("", None)],
)
def test_the_number_rule_reads_what_people_type(typed: object, read: Decimal | None) -> None:
    assert number(typed) == read


@pytest.mark.parametrize("typed", ["1,2,3", "12.1234567", "abc", "nan", "1e30", True])
def test_the_number_rule_refuses_what_is_no_number(typed: object) -> None:
    with pytest.raises(RuleViolation):
        number(typed)


def test_import_export_round_trip_and_segments(team: Team, tmp_path: Path) -> None:
    define(team)
    given = pd.DataFrame(
        {
            "客户名称": ["杭州甲有限公司", "宁波乙有限公司", "温州丙有限公司"],
            "所属行业": ["I65"] * 3,
            "联系人": ["王", "李", "赵"],
            "联系方式": ["13900000011", "13900000012", "13900000013"],
            "信息来源": ["官网"] * 3,
            "行业细分": ["汽车零部件", "消费电子", "家电"],
            "Credit line": ["2万", "", "100"],
            "合作开始": ["2023-02-01", "2024年6月1日", ""],
            "客户说明": ["全角，标点　空格", "", ""],
        }
    )
    source = tmp_path / "in.csv"
    given.to_csv(source, index=False)
    result = team.zhang.import_file(
        "customers", source, mapping={"客户说明": "memo"}, output_dir=tmp_path / "i"
    )
    assert (result.created, result.rejected) == (2, 1)
    assert result.rejects_path is not None
    assert "custom:industry_detail" in result.rejects_path.read_text(encoding="utf-8-sig")
    frame = team.zhang.customers.frame().set_index("name")
    assert frame.loc["杭州甲有限公司", "credit"] == Decimal("20000.00")
    assert frame.loc["宁波乙有限公司", "since"] == date(2024, 6, 1)
    assert frame.loc["杭州甲有限公司", "memo"] == "全角，标点　空格"
    codes = frame["code"].to_dict()

    members = team.zhang.segments.codes('custom.industry_detail == "汽车零部件"')
    assert members == (codes["杭州甲有限公司"],)
    assert team.zhang.segments.codes("custom.credit > 10000") == (codes["杭州甲有限公司"],)
    assert team.zhang.segments.codes('custom.since >= "2024-01-01"') == (codes["宁波乙有限公司"],)
    assert team.zhao.segments.codes("custom.credit > 0") == ()  # out of scope
    team.zhang.segments.define("汽车", 'custom.industry_detail in ["汽车零部件"]')
    with pytest.raises(ValidationError) as unknown:
        team.zhang.segments.define("拼错", "custom.credt > 0")
    assert "custom.credt" in str(unknown.value) and "custom.credit" in str(unknown.value)
    for given_directly in (team.zhang.segments.count, team.zhang.segments.members):
        with pytest.raises(ValidationError, match=r"custom\.credt") as direct:
            given_directly("custom.credt > 0")
        assert direct.value.errors == unknown.value.errors

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"out.{fmt}"
        exported = team.zhang.export("customers", out, lang="zh")
        assert exported.columns[-5:] == tuple(
            f"custom:{k}" for k in ("industry_detail", "credit", "since", "memo", "score")
        )
        again = team.zhang.import_file("customers", out, output_dir=tmp_path / f"again-{fmt}")
        assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0)
    with crmlib.open(f"sqlite:///{tmp_path / 'fresh.db'}", user="admin") as fresh:
        fresh.custom_fields.define(
            "customers",
            "industry_detail",
            names={"zh": "行业细分", "en": "Industry detail"},
            type="choice",
            choices=["汽车零部件", "消费电子"],
        )
        fresh.custom_fields.define(
            "customers", "credit", names={"zh": "授信额度", "en": "Credit line"}, type="money"
        )
        fresh.custom_fields.define(
            "customers", "since", names={"zh": "合作开始", "en": "Partner since"}, type="date"
        )
        fresh.custom_fields.define(
            "customers", "memo", names={"zh": "附注", "en": "Memo"}, type="text"
        )
        fresh.users.add("zhang", role="sales", team="east")
        loaded = fresh.import_file("customers", tmp_path / "out.xlsx", output_dir=tmp_path / "f")
        assert loaded.created == 2 and loaded.unknown_columns == ["评分"]
        columns = ["code", "industry_detail", "credit", "since", "memo"]
        assert fresh.customers.frame()[columns].equals(frame.reset_index()[columns])


def test_crm_fields_command(team: Team) -> None:
    runner = CliRunner()

    def crm(line: str) -> Result:
        return runner.invoke(main, ["--url", team.url, "--lang", "en", *line.split()])

    added = crm(
        "--user admin fields add level --zh 级别 --en Level --type choice --choice 甲 --choice 乙"
    )
    assert added.exit_code == 0, added.output
    refused = crm("--user zhang fields add x --zh 甲 --en X --type text")
    assert refused.exit_code != 0 and "may not" in refused.output
    listed = crm("--user zhang fields list")
    assert "level" in listed.output and "甲 / 乙" in listed.output
    retired = crm("--user admin fields retire level")
    assert retired.exit_code == 0 and "kept" in retired.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect involved
def test_templates_carry_the_custom_fields(team: Team, tmp_path: Path) -> None:
    define(team)
    team.admin.custom_fields.retire("customers", "score")
    runner = CliRunner()
    for lang, choice_help in (("zh", "汽车零部件、消费电子"), ("en", "汽车零部件, 消费电子")):
        path = tmp_path / f"customers-{lang}.xlsx"
        line = ["--url", team.url, "template", "customers", "--lang", lang, "-o", str(path)]
        written = runner.invoke(main, line)
        assert written.exit_code == 0, written.output
        book = openpyxl.load_workbook(path)
        data, notes = book.worksheets[0], book.worksheets[1]
        headers = [cell.value for cell in data[1]]
        names = ["行业细分", "授信额度", "合作开始", "附注"]
        if lang == "en":
            names = ["Industry detail", "Credit line", "Partner since", "Memo"]
        assert headers[-4:] == names  # retired fields are left out
        letter = openpyxl.utils.get_column_letter(len(headers) - 3)
        dropdowns = {str(v.sqref): v.formula1 for v in data.data_validations.dataValidation}
        assert dropdowns[f"{letter}2:{letter}10001"] == '"汽车零部件,消费电子"'
        help_of = {row[0]: row[2] for row in notes.iter_rows(values_only=True) if row[0]}
        assert choice_help in help_of[names[0]] and "1.2" in help_of[names[1]]

    book = openpyxl.load_workbook(tmp_path / "customers-zh.xlsx")  # filled in by hand
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(2, header.index("负责人") + 1).value = None  # no such user here
    for column, value in zip(header[-4:], ["消费电子", "3万", "2024-05-01", "甲"], strict=True):
        sheet.cell(2, header.index(column) + 1).value = value
    book.save(tmp_path / "filled.xlsx")
    loaded = team.zhang.import_file("customers", tmp_path / "filled.xlsx", output_dir=tmp_path)
    assert (loaded.created, loaded.rejected) == (1, 0)
    assert team.zhang.customers.frame().iloc[0]["credit"] == Decimal("30000.00")


def test_merge_carries_custom_values_and_unmerge_takes_them_back(team: Team) -> None:
    define(team)
    survivor = team.zhang.customers.add(**company(), custom={"memo": "甲", "score": "1"})
    other = team.zhang.customers.add(
        **company(name="上海星辰科技股份有限公司"),
        custom={"memo": "乙", "credit": "5万", "since": "2024-05-01"},
    )
    merge_id = team.zhang.duplicates.merge(survivor.code, other.code)
    assert team.zhang.customers.get(survivor.code).custom == {
        "memo": "甲",  # the survivor's own value stays
        "score": Decimal("1"),
        "credit": Decimal("50000.00"),
        "since": date(2024, 5, 1),
    }
    lines = team.zhang.history(survivor.code)["text"].tolist()
    assert any("Credit line" in line and "50000.00" in line for line in lines)

    team.zhang.duplicates.unmerge(merge_id)
    assert team.zhang.customers.get(survivor.code).custom == {
        "memo": "甲",
        "score": Decimal("1"),
    }
    assert team.zhang.customers.get(other.code).custom["credit"] == Decimal("50000.00")
    events = team.zhang.history(survivor.code)
    for action in ("merge", "unmerge"):
        done = events[(events["action"] == action) & events["field"].str.startswith("custom:")]
        assert sorted(done["field"]) == ["custom:credit", "custom:since"]


@pytest.mark.parametrize(
    ("kind", "name"), [("leads", "线索"), ("opportunities", "商机"), ("tickets", "服务工单")]
)
def test_leads_deals_and_tickets_take_custom_fields(
    team: Team, tmp_path: Path, kind: str, name: str
) -> None:
    fields = team.admin.custom_fields
    fields.define(kind, "budget", names={"zh": "预算", "en": "Budget"}, type="money")
    fields.define(
        kind, "channel", names={"zh": "渠道", "en": "Channel"}, type="choice", choices=["甲", "乙"]
    )
    assert team.zhang.custom_fields.frame(kind)["key"].tolist() == ["budget", "channel"]
    code = team.zhang.customers.add(**company()).code
    user = team.sun if kind == "tickets" else team.zhang  # tickets are worked by service
    service = getattr(user, kind)

    def add(**custom: str) -> dict[str, object]:
        if kind == "leads":
            return team.zhang.leads.add(name="王磊", source="website", custom=custom)
        if kind == "opportunities":
            return team.zhang.opportunities.add(code, name="年度框架采购", custom=custom)
        return team.sun.tickets.open(code, type="complaint", subject="设备异响", custom=custom)

    with pytest.raises(ValidationError) as refused:
        add(预算="很多", colour="红")
    assert {e.field for e in refused.value.errors} == {"budget", "colour"}
    record = add(预算="2万", channel="乙")
    assert record["custom"] == {"budget": Decimal("20000.00"), "channel": "乙"}
    changed = service.update(record["id"], custom={"Budget": "3万", "渠道": None})
    assert changed["custom"] == {"budget": Decimal("30000.00")}
    frame = service.frame()
    assert frame.loc[frame["id"] == record["id"], "budget"].item() == Decimal("30000.00")
    assert team.zhao.__getattribute__(kind).frame().empty  # out of scope, values too

    events = team.admin.history(code) if kind != "leads" else team.zhang.leads.history(record["id"])
    assert {"custom:budget", "custom:channel"} <= set(events["field"])

    out = tmp_path / f"{kind}.xlsx"
    exported = user.export(kind, out, lang="zh")
    assert exported.columns[-2:] == ("custom:budget", "custom:channel")
    header = next(openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert header[-2:] == ("预算", "渠道")
    again = user.import_file(kind, out, output_dir=tmp_path / "again")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 1, 0)

    book = openpyxl.load_workbook(out)
    book.worksheets[0].cell(2, len(header)).value = "甲"
    book.worksheets[0].cell(2, len(header) - 1).value = "abc"  # rejected, nothing written
    book.save(tmp_path / "bad.xlsx")
    bad = user.import_file(kind, tmp_path / "bad.xlsx", output_dir=tmp_path / "bad")
    assert bad.rejected == 1 and service.get(record["id"])["custom"] == changed["custom"]
    book.worksheets[0].cell(2, len(header) - 1).value = None  # a blank cell keeps the value
    book.save(tmp_path / "good.xlsx")
    good = user.import_file(kind, tmp_path / "good.xlsx", output_dir=tmp_path / "good")
    assert (good.updated, good.rejected) == (1, 0)
    assert service.get(record["id"])["custom"] == {"budget": Decimal("30000.00"), "channel": "甲"}
