"""Customer search finds names and tags stored as written, whichever width the search or
the stored text uses (SQLite and PostgreSQL through ``team``)."""

from __future__ import annotations

import pytest

from tests.factories import Team, company

FULL = "鹏城科技（深圳）有限公司"
HALF = "鹏城科技(深圳)有限公司"


@pytest.mark.parametrize("query", ["鹏城科技（深圳）", "鹏城科技(深圳)", "鹏城科技 (深圳)"])
def test_search_finds_names_written_in_either_width(team: Team, query: str) -> None:
    full = team.zhang.customers.add(**company(name=FULL))
    half = team.zhang.customers.add(**company(name=HALF))
    found = team.zhang.find_customers(query)
    by_code = dict(zip(found["code"], found["match"], strict=True))
    assert set(by_code) == {full.code, half.code}
    if " " not in query:  # a part of either name as stored: a plain name match
        assert set(by_code.values()) == {"name"}


def test_search_finds_a_tag_written_in_full_width(team: Team) -> None:
    tagged = team.zhang.customers.add(**company(), tags=["重点（A类）"])
    assert team.zhang.customers.get(tagged.code).tags == ("重点（A类）",)
    for query in ("重点（A类）", "重点(a类)"):
        found = team.zhang.find_customers(query)
        assert found["code"].tolist() == [tagged.code], query
        assert found["match"].tolist() == ["tag"], query
