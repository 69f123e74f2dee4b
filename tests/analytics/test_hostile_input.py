"""Hostile rule texts and search strings get a clear CRMError, never a raw exception from
the parser or the database; searches match what was typed literally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmlib.analytics.segment_rules import parse
from crmlib.analytics.segment_rules.language import MAX_CLAUSES, MAX_DEPTH, MAX_RULE_LENGTH
from crmlib.errors import CRMError, ValidationError
from crmlib.i18n import speaking
from crmlib.store.like import MAX_SEARCH_LENGTH
from tests.commands import crm
from tests.factories import Team, build_team, company

CLAUSE = "aov > 1"

HOSTILE_RULES = {
    "500 nested parentheses": "(" * 500 + CLAUSE + ")" * 500,
    "unclosed parentheses": "(" * 1_000,
    "300 nots": "not " * 300 + CLAUSE,
    "3,000 and clauses": " and ".join([CLAUSE] * 3_000),
    "101 or clauses": " or ".join(["aov>1"] * (MAX_CLAUSES + 1)),
    "100,000 characters": "a" * 100_000,
    "a huge string value": 'city == "' + "x" * 50_000 + '"',
    "a huge in list": "aov in [" + ",".join(["1"] * 20_000) + "]",
}

HOSTILE_SEARCHES = {
    "100,000 characters": "x" * 100_000,
    "100,000 percent signs": "%" * 100_000,
    "one over the limit": "登" * (MAX_SEARCH_LENGTH + 1),
    "many words": " ".join(["ab"] * 1_000),
}


@pytest.fixture(scope="module")
def team(module_db_url: str) -> Iterator[Team]:
    built = build_team(module_db_url)
    yield built
    built.close()


@pytest.mark.parametrize("rule", HOSTILE_RULES.values(), ids=HOSTILE_RULES.keys())
def test_hostile_rules_get_a_validation_error_naming_the_limit(rule: str) -> None:
    for lang in ("zh", "en"):
        with speaking(lang), pytest.raises(ValidationError) as caught:
            parse(rule)
        (error,) = caught.value.errors
        assert (error.field, error.value) == ("rule", rule)
        assert error.rule.startswith("segment_rule_")
        limit = {"segment_rule_length": MAX_RULE_LENGTH, "segment_rule_depth": MAX_DEPTH}
        assert str(limit.get(error.rule, MAX_CLAUSES)) in error.message
        assert len(str(caught.value)) < 300  # the rule is shortened, not quoted whole


@pytest.mark.parametrize(
    "rule",
    [
        "(" * MAX_DEPTH + CLAUSE + ")" * MAX_DEPTH,
        "not " * MAX_DEPTH + CLAUSE,
        " and ".join([CLAUSE] * MAX_CLAUSES),
        " or ".join([f"days_since_contact>{n} and aov<9" for n in range(MAX_CLAUSES // 2)]),
        "aov in [" + ",".join(str(n) for n in range(450)) + "]",
    ],
    ids=["deepest", "most nots", "most and clauses", "most or clauses", "long list"],
)
def test_rules_at_the_limits_run_on_the_database(team: Team, rule: str) -> None:
    assert len(rule) <= MAX_RULE_LENGTH
    assert team.wang.segments.count(rule) >= 0


@pytest.mark.parametrize("rule", HOSTILE_RULES.values(), ids=HOSTILE_RULES.keys())
def test_hostile_rules_are_refused_by_every_api(team: Team, rule: str) -> None:
    with pytest.raises(ValidationError):
        team.wang.segments.count(rule)
    with pytest.raises(ValidationError):
        team.wang.segments.define("hostile", rule)
    with pytest.raises(ValidationError):
        team.wang.kpi("revenue", segment=rule)
    with pytest.raises(ValidationError):  # a dashboard's URL parameter
        team.wang.reports.build("segments", segment=rule)


@pytest.mark.parametrize("query", HOSTILE_SEARCHES.values(), ids=HOSTILE_SEARCHES.keys())
def test_hostile_searches_get_a_validation_error(team: Team, query: str) -> None:
    for search in (team.zhang.find_customers, team.sun.kb.search):
        with pytest.raises(CRMError) as caught:
            search(query)
        assert isinstance(caught.value, ValidationError)
        (error,) = caught.value.errors
        assert (error.field, error.value, error.rule) == ("query", query, "max_search_length")
        assert str(MAX_SEARCH_LENGTH) in error.message
        assert len(str(caught.value)) < 300


def test_the_cli_shows_one_line_for_a_hostile_rule(sqlite_url: str) -> None:
    assert crm("init", url=sqlite_url).returncode == 0
    shown = crm("segments", "members", HOSTILE_RULES["500 nested parentheses"], url=sqlite_url)
    assert shown.returncode != 0
    assert "Traceback" not in shown.stderr and "RecursionError" not in shown.stderr
    assert str(MAX_DEPTH) in shown.stderr + shown.stdout


def test_searches_match_wildcards_literally(db_url: str) -> None:
    built = build_team(db_url)
    try:
        percent = built.zhang.customers.add(**company(name="五成50%折扣贸易有限公司"))
        built.zhang.customers.add(**company(name="五成500折扣贸易有限公司"))
        underscore = built.zhang.customers.add(**company(name="Alpha_Beta Trading"))
        built.zhang.customers.add(**company(name="AlphaXBeta Trading"))
        backslash = built.zhang.customers.add(**company(name="North\\South Trading"))

        def exact(query: str) -> list[str]:
            found = built.zhang.find_customers(query)
            return found.loc[found["match"] != "fuzzy", "code"].tolist()

        assert exact("50%") == [percent.code]
        assert exact("a_b") == [underscore.code]
        assert exact("h\\s") == [backslash.code]
        code = percent.code
        assert exact(code[:3]) and not exact(code[:1] + "_" + code[2:])  # code prefix too
        assert not exact(code[:1] + "%")

        kb = built.sun.kb
        fifty = kb.add(title="满 50% 返现说明", body="活动规则", category="销售")
        kb.add(title="满 500 元返现说明", body="活动规则", category="销售")
        snake = kb.add(title="field_name 的含义", body="…", category="技术支持")
        kb.add(title="fieldXname 的含义", body="…", category="技术支持")
        assert kb.search("50%").id.tolist() == [fifty["id"]]
        assert kb.search("d_n").id.tolist() == [snake["id"]]
    finally:
        built.close()


def test_the_docs_state_the_limits() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"

    def words(name: str) -> str:
        return " ".join((docs / name).read_text(encoding="utf-8").split())

    segments = words("workflows.md")
    for limit in (MAX_RULE_LENGTH, MAX_DEPTH, MAX_CLAUSES):
        assert f"at most {limit:,} " in segments
    assert f"longer than {MAX_SEARCH_LENGTH} characters" in words("python.md")
