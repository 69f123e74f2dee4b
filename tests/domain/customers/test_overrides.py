"""A grade or status set by hand sticks: the nightly refresh leaves it, counts it as
skipped, and takes over again once it is cleared or its day has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmlib import ValidationError, clock
from crmlib.settings import set_setting
from tests.commands import crm
from tests.factories import Team, company

TODAY = clock.today()


def big_spender(team: Team) -> str:
    """A customer whose orders make the refresh grade it A and keep it active."""
    code = team.zhang.customers.add(**company()).code
    team.zhang.orders.add(code, ordered_at=TODAY, amount=600_000)
    return code


def test_a_manual_grade_survives_two_refreshes_and_yields_when_cleared(team: Team) -> None:
    code = big_spender(team)
    record = team.zhang.customers.override(code, "grade", "C", reason="分期付款，暂按C类管理")
    assert (record.grade, record.grade_override_by) == ("C", "zhang")
    assert record.grade_override_reason == "分期付款，暂按C类管理"
    assert record.grade_override_until == TODAY + timedelta(days=365)
    for _ in range(2):
        result = team.zhang.refresh()
        assert team.zhang.customers.get(code).grade == "C"
        assert result.skipped == {"grade": 1, "status": 0}
        assert result.counts["grade"] == 0
    assert team.zhang.customers.get(code).status == "active"  # the status was not held
    cleared = team.zhang.customers.clear_override(code, "grade")
    assert cleared.grade_override_by is None
    result = team.zhang.refresh()
    assert team.zhang.customers.get(code).grade == "A"
    assert result.skipped == {"grade": 0, "status": 0}


def test_a_manual_value_yields_after_its_day(team: Team) -> None:
    code = big_spender(team)
    until = TODAY + timedelta(days=10)
    team.zhang.customers.override(code, "status", "lost", reason="破产清算中", until=until)
    team.zhang.refresh(as_of=until)
    assert team.zhang.customers.get(code).status == "lost"
    result = team.zhang.refresh(as_of=until + timedelta(days=1))
    assert team.zhang.customers.get(code).status == "active"
    assert result.skipped["status"] == 0 and result.counts["reactivated"] == 1


def test_the_default_term_is_a_setting(team: Team) -> None:
    code = big_spender(team)
    with team.admin.ctx.session() as session:
        set_setting(session, "manual_override_days", 30)
    record = team.zhang.customers.override(code, "grade", "B", reason="重点培育")
    assert record.grade_override_until == TODAY + timedelta(days=30)


def test_a_grade_changed_in_the_entry_form_is_held_too(team: Team) -> None:
    code = big_spender(team)
    team.zhang.customers.update(code, grade="B")
    team.zhang.refresh()
    record = team.zhang.customers.get(code)
    assert (record.grade, record.grade_override_by) == ("B", "zhang")


def test_a_new_customer_keeps_a_grade_it_was_given_unless_it_is_the_starting_one(
    team: Team,
) -> None:
    given = team.zhang.customers.add(**company(grade="A", status="active"))
    assert (given.grade_override_by, given.status_override_by) == ("zhang", "zhang")
    starting = team.zhang.customers.add(**company(grade="C", status="potential"))
    assert (starting.grade_override_by, starting.status_override_by) == (None, None)
    for _ in range(2):
        assert team.zhang.refresh().skipped == {"grade": 1, "status": 0}
    assert team.zhang.customers.get(given.code).grade == "A"


def test_an_override_says_why_and_names_a_held_field(team: Team) -> None:
    code = big_spender(team)
    with pytest.raises(ValidationError, match=r"reason.*\[required\]"):
        team.zhang.customers.override(code, "grade", "A", reason="  ")
    with pytest.raises(ValidationError, match=r"\[choice\]"):
        team.zhang.customers.override(code, "source", "website", reason="x")
    with pytest.raises(ValidationError, match=r"\[enum:grade\]"):
        team.zhang.customers.override(code, "grade", "Z", reason="x")
    with pytest.raises(ValidationError, match=r"\[past\]"):
        team.zhang.customers.override(
            code, "grade", "A", reason="x", until=TODAY - timedelta(days=1)
        )


def test_crm_customers_grade_and_clear(team: Team) -> None:
    code = big_spender(team)
    held = crm("customers", "grade", code, "C", "--reason", "按合同约定", url=team.url)
    assert held.returncode == 0, held.stderr
    assert f"{code}: Grade C (set by hand by admin until" in held.stdout
    refreshed = crm("refresh", url=team.url)
    assert "kept as set by hand: 1 grades, 0 statuses" in refreshed.stdout
    assert team.zhang.customers.get(code).grade == "C"
    cleared = crm("customers", "clear", code, "grade", url=team.url)
    assert cleared.returncode == 0 and "follows crm refresh again" in cleared.stdout
    crm("refresh", url=team.url)
    assert team.zhang.customers.get(code).grade == "A"
