"""The filters every analytics function shares: periods, region, team, owner, segment."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crmlib.analytics.filters import Filters, parse_period, resolve_period
from crmlib.errors import ValidationError
from crmlib.store.models import Customer
from tests.factories import Team, company


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", date(2024, 1, 1), date(2025, 1, 1)),
        ("2024-H2", date(2024, 7, 1), date(2025, 1, 1)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 4, 1)),
        ("2024-q4", date(2024, 10, 1), date(2025, 1, 1)),
        ("2024-05", date(2024, 5, 1), date(2024, 6, 1)),
        ("2024-12", date(2024, 12, 1), date(2025, 1, 1)),
        (" 2024-02-29 ", date(2024, 2, 29), date(2024, 3, 1)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text) == (start, end)


@pytest.mark.parametrize("text", ["2024-Q5", "2024-13", "2023-02-29", "Q1", "2024Q1", "last year"])
def test_bad_periods_name_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_period(text)
    assert [(e.field, e.value, e.rule) for e in caught.value.errors] == [("period", text, "period")]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("previous_quarter", date(2026, 7, 1), date(2026, 10, 1)),
        ("上季度", date(2026, 7, 1), date(2026, 10, 1)),
        ("this_quarter", date(2026, 10, 1), date(2027, 1, 1)),
        ("本月", date(2026, 12, 1), date(2027, 1, 1)),
        ("previous_month", date(2026, 11, 1), date(2026, 12, 1)),
        (" 去年 ", date(2025, 1, 1), date(2026, 1, 1)),
        ("this_year", date(2026, 1, 1), date(2027, 1, 1)),
    ],
)
def test_relative_periods_mean_the_same_wherever_they_are_given(
    text: str, start: date, end: date
) -> None:
    assert parse_period(text, today=date(2026, 12, 7)) == (start, end)
    assert resolve_period("上月", date(2027, 1, 5)) == "2026-12"


def test_a_relative_period_follows_the_business_day() -> None:
    first, _ = parse_period("previous_quarter")
    assert Filters.of(period="上季度").start == first


def test_filters_from_what_people_write() -> None:
    f = Filters.of(period_start="2024/1/1", period_end="2024年3月31日", region="East China")
    assert (f.start, f.end, f.region) == (date(2024, 1, 1), date(2024, 4, 1), "华东")
    assert f.day == date(2024, 3, 31)
    assert Filters.of(period="2024-Q1", as_of="2024-02-15").day == date(2024, 2, 15)
    assert Filters.of(period="", region="", team="") == Filters()
    with pytest.raises(ValidationError, match="period_both"):
        Filters.of(period="2024", period_start="2024-01-01")
    with pytest.raises(ValidationError, match="period_order"):
        Filters.of(period_start="2024-03-01", period_end="2024-02-01")
    with pytest.raises(ValidationError, match="region"):
        Filters.of(region="火星")
    with pytest.raises(ValidationError, match="period_end"):
        Filters.of(period_end="not a day")


def test_customers_narrow_the_users_scope(team: Team) -> None:
    east = team.zhang.customers.add(**company(province="上海", grade="A")).code
    south = team.zhang.customers.add(**company(province="广东")).code
    lis = team.li.customers.add(**company(province="江苏")).code
    west = team.zhao.customers.add(**company(province="四川")).code

    def codes(ws_name: str, **filters: str) -> set[str]:
        ws = getattr(team, ws_name)
        ids = Filters.of(**filters).customers(ws.ctx)
        with ws.ctx.reading() as conn:
            return set(conn.execute(select(Customer.code).where(Customer.id.in_(ids))).scalars())

    assert codes("zhang") == {east, south}
    assert codes("wang") == {east, south, lis}
    assert codes("wang", region="华东") == {east, lis}
    assert codes("ana", team="east") == {east, south, lis}
    assert codes("ana", team="west") == {west}
    assert codes("ana", owner="li") == {lis}
    assert codes("ana", segment='grade == "A"') == {east}
    assert codes("zhao", segment='grade == "A"') == set()
