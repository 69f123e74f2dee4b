"""Names are stored as written, and duplicates are still found across widths: the scan
and the check compare match keys folded to half-width, never the stored text (SQLite and
PostgreSQL through ``team``)."""

from __future__ import annotations

import pytest

from crmlib import ValidationError
from crmlib.quality.duplicates import Duplicates
from tests.factories import Team, company

FULL = "鹏城科技（深圳）有限公司"
HALF = "鹏城科技(深圳)有限公司"


def test_a_scan_pairs_names_written_in_either_width(team: Team) -> None:
    # phones one digit apart, as a typo makes them: the pair's score does not then depend
    # on how far apart the factory's running phone numbers happen to be
    place = {"city": "深圳", "province": "广东"}
    full = team.zhang.customers.add(**company(name=FULL, phone="13912345670", **place))
    half = team.zhang.customers.add(**company(name=HALF, phone="13912345671", **place))
    assert (full.name, half.name) == (FULL, HALF)  # each kept as written
    pairs = Duplicates(team.zhang.ctx).scan()
    scores = {
        frozenset((a, b)): float(score)
        for a, b, score in zip(pairs["code_a"], pairs["code_b"], pairs["score"], strict=True)
    }
    assert scores[frozenset((full.code, half.code))] >= 90


@pytest.mark.parametrize(("stored", "typed"), [(FULL, HALF), (HALF, FULL), (FULL, FULL)])
def test_the_check_finds_a_stored_name_from_either_width(
    team: Team, stored: str, typed: str
) -> None:
    existing = team.zhang.customers.add(**company(name=stored, city="深圳"))
    found = Duplicates(team.zhang.ctx).check({"name": typed, "city": "深圳"})
    assert [m.code for m in found] == [existing.code]
    assert found[0].name == stored


def test_the_same_name_and_phone_in_another_width_is_an_exact_duplicate(team: Team) -> None:
    team.zhang.customers.add(**company(name=FULL, phone="13912340001"))
    with pytest.raises(ValidationError):
        team.zhang.customers.add(**company(name="鹏城科技 (深圳)　有限公司", phone="13912340001"))
