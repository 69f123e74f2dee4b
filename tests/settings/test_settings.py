"""Settings: a rule for every key, changed only by administrators (audited), read by
everyone, and a bad stored value never stops anyone's work; ``ws.settings`` and
``crm settings``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, insert, select

from crmlib import AccessDenied
from crmlib.cli import main
from crmlib.errors import ValidationError, shorten
from crmlib.i18n import MESSAGES, speaking
from crmlib.settings import (
    DEFAULTS,
    RULES,
    SettingWarning,
    parse_value,
    problems,
    rule_text,
    set_setting,
    validated,
)
from crmlib.store.engine import make_engine
from crmlib.store.models import AuditEvent, Setting
from tests.factories import Team, build_team, company

SLA = DEFAULTS["sla_policy"]
HOURS = {"start": "09:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]}
ASSIGN = {"method": "round_robin", "rules": [{"region": "华东", "industry": "C", "team": "east"}]}

#: (key, value, where it breaks, rule): one of each kind of malformed value.
MALFORMED: list[tuple[str, Any, str, str]] = [
    ("required_fields", ["name", "phone"], "required_fields", "setting_object"),
    (
        "required_fields",
        {"company": ["name", "nmae"]},
        "required_fields.company[1]",
        "setting_choice",
    ),
    (
        "required_fields",
        {"company": ["name", "name"]},
        "required_fields.company",
        "setting_repeated",
    ),
    ("required_fields", {"shop": ["name"]}, "required_fields", "setting_unknown_entries"),
    ("required_fields", {"company": "name"}, "required_fields.company", "setting_list"),
    ("grade_thresholds", {"A": 100, "B": 500}, "grade_thresholds.A", "setting_not_below"),
    ("grade_thresholds", {"A": 100}, "grade_thresholds", "setting_missing_entries"),
    ("grade_thresholds", {"A": "lots", "B": 1}, "grade_thresholds.A", "setting_number"),
    ("grade_thresholds", {"A": 100, "B": -1}, "grade_thresholds.B", "setting_between"),
    (
        "stage_probability",
        {**DEFAULTS["stage_probability"], "won": 1.5},
        "stage_probability.won",
        "setting_between",
    ),
    (
        "stage_probability",
        {**DEFAULTS["stage_probability"], "dreaming": 0.1},
        "stage_probability",
        "setting_unknown_entries",
    ),
    (
        "sla_policy",
        {**SLA, "high": {"first_response_hours": 80, "resolution_hours": 72}},
        "sla_policy.high.first_response_hours",
        "setting_not_above",
    ),
    (
        "sla_policy",
        {**SLA, "low": {"first_response_hours": 0, "resolution_hours": 72}},
        "sla_policy.low.first_response_hours",
        "setting_above",
    ),
    ("sla_policy", {"high": SLA["high"]}, "sla_policy", "setting_missing_entries"),
    ("business_hours", {**HOURS, "start": "9am"}, "business_hours.start", "setting_time"),
    ("business_hours", {**HOURS, "end": "24:30"}, "business_hours.end", "setting_time"),
    (
        "business_hours",
        {**HOURS, "start": "18:00", "end": "09:00"},
        "business_hours.end",
        "setting_start_end",
    ),
    (
        "business_hours",
        {**HOURS, "weekdays": [0, 1]},
        "business_hours.weekdays[0]",
        "setting_between",
    ),
    ("business_hours", {**HOURS, "weekdays": []}, "business_hours.weekdays", "setting_empty"),
    ("business_hours", "9-18", "business_hours", "setting_object"),
    ("lead_assignment", {**ASSIGN, "method": "random"}, "lead_assignment.method", "setting_choice"),
    (
        "lead_assignment",
        {**ASSIGN, "rules": [{"region": "火星", "team": "east"}]},
        "lead_assignment.rules[0].region",
        "setting_choice",
    ),
    (
        "lead_assignment",
        {**ASSIGN, "rules": [{"industry": "Z9", "team": "east"}]},
        "lead_assignment.rules[0].industry",
        "setting_choice",
    ),
    (
        "lead_assignment",
        {**ASSIGN, "rules": [{"region": "华东"}]},
        "lead_assignment.rules[0]",
        "setting_missing_entries",
    ),
    (
        "lead_assignment",
        {**ASSIGN, "rules": [{"team": ""}]},
        "lead_assignment.rules[0].team",
        "setting_team",
    ),
    (
        "lead_assignment",
        {**ASSIGN, "rules": [{"team": "x"}] * 1001},
        "lead_assignment.rules",
        "setting_too_many",
    ),
    ("sla_at_risk_share", 1, "sla_at_risk_share", "setting_inside"),
    ("sla_at_risk_share", "0.5", "sla_at_risk_share", "setting_number"),
    ("churn", {"horizon_days": 180, "threshold": 1.2}, "churn.threshold", "setting_between"),
    ("churn", {"horizon_days": 0.5, "threshold": 0.7}, "churn.horizon_days", "setting_integer"),
    (
        "lifecycle",
        {"lost_after_days": 365, "archive_after_days": 100_000},
        "lifecycle.archive_after_days",
        "setting_between",
    ),
    ("stale_opportunity_days", 0, "stale_opportunity_days", "setting_between"),
    ("stale_opportunity_days", True, "stale_opportunity_days", "setting_integer"),
    ("backup_retention_days", None, "backup_retention_days", "setting_integer"),
    ("size_headcount", {"medium": 1000, "large": 100}, "size_headcount.large", "setting_not_below"),
    ("ticket_routing", {"billing": "finance"}, "ticket_routing", "setting_unknown_entries"),
    ("ticket_routing", {"technical": 7}, "ticket_routing.technical", "setting_team"),
    ("sales_cost_per_month", float("nan"), "sales_cost_per_month", "setting_not_json"),
    ("sales_cost_per_month", -5, "sales_cost_per_month", "setting_between"),
    ("sales_cost_per_month", {1, 2}, "sales_cost_per_month", "setting_not_json"),
]


# ---------------------------------------------------------------- the schema, no database


def test_every_setting_has_a_rule() -> None:
    assert list(RULES) == list(DEFAULTS)


def test_the_catalogue_words_exactly_the_rules_of_the_settings() -> None:
    """A rule in words is a catalogue key per setting, none missing and none left behind."""
    worded = {key for key in MESSAGES if key.startswith("setting_rule:")}
    assert worded == {f"setting_rule:{key}" for key in DEFAULTS}


def test_a_rule_in_words_carries_the_limits_and_lists_of_the_code() -> None:
    """The blanks come from the code, so the words and the check cannot disagree; a list is
    written the language's way."""
    assert rule_text("backup_retention_days", "en") == "A whole number of days from 1 to 3,650."
    assert rule_text("backup_retention_days", "zh") == "1 到 3,650 之间的整数天数。"
    assert "(`high`, `medium`, `low`)" in rule_text("sla_policy", "en")
    assert "（`high`、`medium`、`low`）" in rule_text("sla_policy", "zh")


@pytest.mark.parametrize("key", list(DEFAULTS))
def test_every_default_keeps_its_rule(key: str) -> None:
    assert problems(key, DEFAULTS[key]) == []


@pytest.mark.parametrize(
    "value",
    [
        ("business_hours", HOURS),
        ("lead_assignment", ASSIGN),
        ("lead_assignment", {"method": "fewest_open", "rules": [{"team": "south"}]}),
        ("required_fields", {"company": ["name", "email"]}),
        ("grade_thresholds", {"A": 100_000, "B": 100_000}),
        ("sla_at_risk_share", 0.5),
        ("ticket_routing", {"complaint": "service", "technical": "support"}),
    ],
    ids=lambda v: v[0],
)
def test_valid_values_pass(value: tuple[str, Any]) -> None:
    assert validated(*value) == value[1]


@pytest.mark.parametrize(
    ("key", "value", "where", "rule"),
    MALFORMED,
    ids=[f"{case[0]}-{case[3]}-{i}" for i, case in enumerate(MALFORMED)],
)
def test_a_malformed_value_is_refused_naming_key_value_and_rule(
    key: str, value: Any, where: str, rule: str
) -> None:
    for lang in ("en", "zh"):
        with speaking(lang), pytest.raises(ValidationError) as refused:
            validated(key, value)
        broken = next(e for e in refused.value.errors if e.rule == rule)
        assert broken.field == where and broken.field.startswith(key)
        message = str(refused.value)
        assert f"{where}={shorten(broken.value)}: " in message and f"[{rule}]" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in broken.message)  # the zh text


def test_a_value_is_read_as_json_or_yaml() -> None:
    assert parse_value("k", "21") == 21
    assert parse_value("k", "0.5") == 0.5
    assert parse_value("k", "round_robin") == "round_robin"
    assert parse_value("k", "null") is None
    assert parse_value("k", '{"A": 1, "B": 0}') == {"A": 1, "B": 0}
    assert parse_value("k", "{start: '09:00', end: '18:00', weekdays: [1, 2]}") == {
        "start": "09:00",
        "end": "18:00",
        "weekdays": [1, 2],
    }
    with speaking("en"), pytest.raises(ValidationError, match=r"^churn='\{a: ': is neither"):
        parse_value("churn", "{a: ")


def test_a_yaml_alias_bomb_is_refused_without_expanding_it() -> None:
    """Nine levels of nine aliases: 387 million numbers if written out."""
    lines = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    value = parse_value("churn", "\n".join(lines))
    with speaking("en"), pytest.raises(ValidationError) as refused:
        validated("churn", value)
    assert [e.rule for e in refused.value.errors] == ["setting_too_large"]
    assert "a setting holds at most 100,000 values" in str(refused.value)


def test_an_unknown_setting_is_refused_by_name() -> None:
    with speaking("en"), pytest.raises(ValidationError, match="setting='grade': is not a setting"):
        validated("grade", 1)


# ---------------------------------------------------------------- on a database


@pytest.fixture(scope="module")
def _team(module_db_url: str) -> Iterator[Team]:
    built = build_team(module_db_url)
    yield built
    built.close()


@pytest.fixture
def team(_team: Team) -> Iterator[Team]:
    """The module's team; each test starts with nothing stored and no setting's change in
    the log."""
    yield _team
    engine = make_engine(_team.url)
    with engine.begin() as conn:
        conn.execute(delete(Setting))
        conn.execute(delete(AuditEvent).where(AuditEvent.entity == "settings"))
    engine.dispose()


def _store_raw(url: str, key: str, text: str) -> None:
    """Write a value as code did before settings had rules."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Setting).values(key=key, value=text))
    engine.dispose()


def _events(url: str) -> list[tuple[str, str, str | None, str | None, str | None]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.ref,
                AuditEvent.old_value,
                AuditEvent.new_value,
            )
            .where(AuditEvent.entity == "settings")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_only_an_administrator_changes_settings_and_every_change_is_audited(team: Team) -> None:
    for ws in (team.zhang, team.ana, team.wang, team.sun):
        with pytest.raises(AccessDenied, match="may not change setting stale_opportunity_days"):
            ws.settings.set("stale_opportunity_days", 21)
        with pytest.raises(AccessDenied):
            ws.settings.reset("stale_opportunity_days")
        # the way the README used to show: a session of the workspace, any role
        with pytest.raises(AccessDenied), ws.ctx.session() as session:
            set_setting(session, "stale_opportunity_days", 21)
    assert _events(team.url) == []
    assert team.zhang.settings.get("stale_opportunity_days") == 30

    change = team.admin.settings.set("stale_opportunity_days", 21)
    assert (change.old, change.new) == (30, 21)
    team.admin.settings.set("business_hours", HOURS)
    for ws in (team.zhang, team.ana):  # everyone reads them
        assert ws.settings.get("stale_opportunity_days") == 21
        assert ws.settings.get("business_hours") == HOURS
    assert team.admin.settings.reset("stale_opportunity_days").new == 30
    assert team.zhang.settings.get("stale_opportunity_days") == 30
    assert _events(team.url) == [
        ("admin", "update", "stale_opportunity_days", "30", "21"),
        ("admin", "update", "business_hours", "null", json.dumps(HOURS)),
        ("admin", "reset", "stale_opportunity_days", "21", "30"),
    ]
    history = team.zhang.settings.history("stale_opportunity_days")
    assert list(history["action"]) == ["reset", "update"]
    assert history["occurred_at"].notna().all() and set(history["actor"]) == {"admin"}


def test_a_refused_value_changes_nothing(team: Team) -> None:
    with pytest.raises(ValidationError, match=r"required_fields=\['name'\]: .*setting_object"):
        team.admin.settings.set("required_fields", ["name"])
    assert team.admin.settings.get("required_fields") == DEFAULTS["required_fields"]
    assert _events(team.url) == []


def test_a_bad_stored_value_reads_as_the_default_and_work_goes_on(team: Team) -> None:
    code = team.zhang.customers.add(**company(name="苏州启航机械有限公司")).code
    _store_raw(team.url, "required_fields", '["name"]')  # once crashed every update
    _store_raw(team.url, "sla_at_risk_share", "not json")
    with pytest.warns(SettingWarning, match=r"setting required_fields: the stored value"):
        assert team.zhang.customers.update(code, city="苏州").city == "苏州"
    with pytest.warns(SettingWarning, match="setting_object"):
        assert team.ana.settings.get("required_fields") == DEFAULTS["required_fields"]
    listed = team.admin.settings.list().set_index("key")
    assert listed.loc["required_fields", "stored"] == ["name"]
    assert "setting_object" in listed.loc["required_fields", "problem"]
    assert "setting_not_json" in listed.loc["sla_at_risk_share", "problem"]
    assert listed["problem"].notna().sum() == 2
    team.admin.settings.set("required_fields", {"company": ["name"], "person": ["name"]})
    assert team.admin.settings.reset("sla_at_risk_share").old == "not json"
    assert team.admin.settings.list()["problem"].isna().all()
    assert _events(team.url)[0][3] == '["name"]'  # the audit keeps the bad value it replaced


def test_the_list_describes_each_setting_in_the_workspace_language(team: Team) -> None:
    team.admin.settings.set("sla_at_risk_share", 0.5)
    listed = team.zhang.settings.list()
    assert list(listed["key"]) == list(DEFAULTS)
    row = listed.set_index("key").loc["sla_at_risk_share"]
    assert (row["value"], row["default"], bool(row["changed"])) == (0.5, 0.75, True)
    assert row["rule"] == rule_text("sla_at_risk_share", "en")  # the team speaks English
    assert not listed.set_index("key").loc["churn", "changed"]


# ---------------------------------------------------------------- crm settings


def _crm(team: Team, user: str, *args: str, lang: str = "en") -> Result:
    return CliRunner().invoke(main, ["--url", team.url, "--user", user, "--lang", lang, *args])


def test_crm_settings_get_set_list_reset(team: Team) -> None:
    shown = _crm(team, "zhang", "settings", "get", "sla_at_risk_share")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:4] == [
        "Setting: sla_at_risk_share",
        "Name: SLA at-risk share",
        "Value: 0.75",
        "Default: 0.75",
    ]
    assert f"Rule: {rule_text('sla_at_risk_share', 'en')}" in shown.stdout

    made = _crm(
        team,
        "admin",
        "settings",
        "set",
        "business_hours",
        "{start: '08:30', end: '17:30', weekdays: [1, 2, 3, 4, 5, 6]}",
    )
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("changed setting business_hours from null to {")
    assert _crm(team, "admin", "settings", "set", "stale_opportunity_days", "45").exit_code == 0
    value = _crm(team, "zhang", "settings", "get", "business_hours", "--json").stdout
    assert json.loads(value) == {"start": "08:30", "end": "17:30", "weekdays": [1, 2, 3, 4, 5, 6]}

    listed = _crm(team, "ana", "settings", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["Setting", "Name", "Value", "Default"]
    assert next(line for line in lines if "stale_opportunity_days" in line).split()[-2:] == [
        "45",
        "30",
    ]

    back = _crm(team, "admin", "settings", "reset", "stale_opportunity_days")
    assert back.stdout.strip() == ("reset setting stale_opportunity_days from 45 to its default 30")
    assert team.zhang.settings.get("stale_opportunity_days") == 30


def test_crm_settings_refusals_exit_1_with_the_reason(team: Team) -> None:
    refused = _crm(team, "admin", "settings", "set", "sla_at_risk_share", "1.5")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "error: sla_at_risk_share=1.5: must be greater than 0 and less than 1 [setting_inside]"
    )
    not_admin = _crm(team, "zhang", "settings", "set", "sla_at_risk_share", "0.5")
    assert not_admin.exit_code == 1
    assert "user 'zhang' (role sales) may not change setting sla_at_risk_share" in not_admin.stderr
    unknown = _crm(team, "zhang", "settings", "get", "sla")
    assert unknown.exit_code == 1 and "setting='sla': is not a setting" in unknown.stderr
    assert team.admin.settings.get("sla_at_risk_share") == 0.75


def test_crm_settings_speaks_chinese(team: Team) -> None:
    _store_raw(team.url, "churn", '{"horizon_days": -1, "threshold": 0.7}')
    listed = _crm(team, "zhang", "settings", "list", lang="zh")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[0].split() == ["设置项", "名称", "当前值", "默认值"]
    assert "1 项设置保存的值无效，正在使用默认值：churn" in listed.stderr
    shown = _crm(team, "zhang", "settings", "get", "churn", lang="zh").stdout.splitlines()
    assert shown[:6] == [
        "设置项：churn",
        "名称：流失风险",
        '当前值：{"horizon_days": 180, "threshold": 0.7}',
        '默认值：{"horizon_days": 180, "threshold": 0.7}',
        '保存的值：{"horizon_days": -1, "threshold": 0.7}',
        "问题：churn.horizon_days=-1: 必须在 1 到 3,650 之间 [setting_between]",
    ]
    refused = _crm(team, "admin", "settings", "set", "churn", "[180]", lang="zh")
    assert refused.exit_code == 1 and refused.stderr.startswith("错误：churn=[180]: 必须是")


def test_a_command_reading_a_bad_stored_value_warns_in_one_line_and_works(team: Team) -> None:
    _store_raw(team.url, "stale_opportunity_days", "-3")
    shown = _crm(team, "zhang", "stale")
    assert shown.exit_code == 0, shown.output
    assert shown.stderr.startswith(
        "warning: setting stale_opportunity_days: the stored value is not valid "
        "(stale_opportunity_days=-3: must be from 1 to 3,650 [setting_between]); the default "
        "30 applies"
    )
    assert len(shown.stderr.strip().splitlines()) == 1
