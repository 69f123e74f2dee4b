"""Exact duplicates refused on every path that creates customers: the API and the importer
name the stored customer (only to a user who may see it), unless the caller allows the
duplicate, which the audit log records."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from crmlib import ValidationError
from crmlib.domain.customers.duplicates import ALLOWED
from tests.commands import crm
from tests.factories import Team, company

STAR = "上海星辰科技有限公司"
HEADER = ["name", "kind", "industry", "contact", "phone", "email", "source"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def rejects(path: Path | None) -> list[str]:
    assert path is not None
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)["reasons"].tolist()


def allowed_events(team: Team, code: str) -> pd.DataFrame:
    events = team.admin.history(code)
    return events[events["action"] == ALLOWED]


def test_api_refuses_same_folded_name_and_phone_naming_the_customer(team: Team) -> None:
    first = team.zhang.customers.add(**company(name=STAR, phone="13911110001"))
    with pytest.raises(ValidationError) as caught:
        team.zhang.customers.add(**company(name="上海星辰科技有限公司 ", phone="139-1111-0001"))
    [problem] = caught.value.errors
    assert (problem.field, problem.rule) == ("phone", "duplicate")
    assert first.code in problem.message and STAR in problem.message
    # another phone, or another name, is another customer
    team.zhang.customers.add(**company(name=STAR, phone="13911110002"))
    team.zhang.customers.add(**company(name="北京星辰科技有限公司", phone="13911110001"))
    assert len(team.zhang.customers.frame()) == 3


def test_api_refuses_a_person_with_a_stored_persons_phone_or_email(team: Team) -> None:
    ws = team.zhang
    kept = ws.customers.add(name="王伟", kind="person", phone="13911110003", email="w@x.cn")
    for values in ({"phone": "13911110003"}, {"email": "W@X.CN"}):
        with pytest.raises(ValidationError, match=kept.code):
            ws.customers.add(name="王小伟", kind="person", **values)
    # a company's contact phone does not make a person a duplicate, nor the reverse
    ws.customers.add(**company(name="王伟商行", phone="13911110003"))


def test_outside_the_scope_a_duplicate_is_only_said_to_exist(team: Team) -> None:
    theirs = team.zhao.customers.add(**company(name=STAR, phone="13911110004"))
    with pytest.raises(ValidationError) as caught:
        team.zhang.customers.add(**company(name=STAR, phone="13911110004"))
    message = caught.value.errors[0].message
    assert "outside your scope" in message
    assert theirs.code not in message and STAR not in message
    with pytest.raises(ValidationError, match=theirs.code):  # the manager of west may see it
        team.admin.customers.add(**company(name=STAR, phone="13911110004", owner="zhao"))


def test_allowing_a_duplicate_creates_it_and_audits_it_under_the_stored_one(team: Team) -> None:
    first = team.zhang.customers.add(**company(name=STAR, phone="13911110005"))
    second = team.zhang.customers.add(
        allow_duplicate=True, **company(name=STAR, phone="13911110005")
    )
    assert second.code != first.code
    [event] = allowed_events(team, first.code).to_dict("records")
    assert (event["actor"], event["new_value"], event["field"]) == (
        "zhang",
        second.code,
        "name_phone",
    )
    assert "on purpose" in event["text"] and second.code in event["text"]


def test_import_matches_visible_customers_and_rejects_other_exact_duplicates(
    team: Team, tmp_path: Path
) -> None:
    """A row without a key is the stored customer its natural key names when the user may
    see it; a duplicate of one they may not see, or by another key, is refused."""
    mine = team.zhang.customers.add(**company(name=STAR, phone="13911110006"))
    theirs = team.zhao.customers.add(**company(name="苏州河畔物流有限公司", phone="13911110007"))
    person = team.zhang.customers.add(name="李娜", kind="person", email="li.na@example.cn")
    path = write_csv(
        tmp_path / "customers.csv",
        [
            ["上海星辰科技有限公司", "", "F51", "张伟", "13911110006", "", "website"],
            ["苏州河畔物流有限公司", "", "I65", "赵六", "13911110007", "", "website"],
            ["李娜", "person", "", "", "13911110009", "LI.NA@example.cn", ""],
            ["杭州新客户有限公司", "", "I65", "钱七", "13911110008", "", "website"],
        ],
    )
    result = team.zhang.import_file("customers", path)
    assert (result.created, result.updated, result.rejected) == (1, 1, 2)
    theirs_reason, person_reason = rejects(result.rejects_path)
    assert "outside your scope" in theirs_reason and theirs.code not in theirs_reason
    assert person.code in person_reason and "[duplicate]" in person_reason
    assert team.zhang.customers.get(mine.code).industry_division == "51"
    assert team.zhao.customers.get(theirs.code).contact == "张伟"  # theirs untouched


def test_import_allows_duplicates_when_asked_and_audits_each(team: Team, tmp_path: Path) -> None:
    first = team.zhang.customers.add(**company(name=STAR, phone="13911110009"))
    path = write_csv(
        tmp_path / "customers.csv",
        [
            [STAR, "", "I65", "张伟", "13911110009", "", "website"],
            ["宁波甬江贸易有限公司", "", "I65", "孙八", "13911110010", "", "website"],
            ["宁波甬江贸易有限公司", "", "F51", "孙八", "13911110010", "", "website"],
        ],
    )
    refused = team.zhang.import_file("customers", path)
    assert (refused.created, refused.unchanged, refused.rejected) == (1, 1, 1)
    [repeat] = rejects(refused.rejects_path)
    assert "repeats row 3" in repeat
    result = team.zhang.import_file("customers", path, allow_duplicates=True)
    assert (result.created, result.rejected) == (3, 0)
    [event] = allowed_events(team, first.code).to_dict("records")
    assert event["actor"] == "zhang" and event["new_value"] != first.code
    frame = team.zhang.customers.frame()
    ningbo = sorted(frame.loc[frame["name"] == "宁波甬江贸易有限公司", "code"])
    assert len(ningbo) == 3
    assert sorted(allowed_events(team, ningbo[0])["new_value"]) == ningbo[1:]


def test_in_file_duplicates_of_an_empty_table_are_repeats(team: Team, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        [
            [STAR, "", "I65", "张伟", "13911110011", "", "website"],
            ["上海星辰科技有限公司", "", "F51", "张伟", "+86 139 1111 0011", "", "website"],
        ],
    )
    result = team.zhang.import_file("customers", path)
    assert (result.created, result.rejected) == (1, 1)
    assert "repeats row 2" in rejects(result.rejects_path)[0]


def test_crm_import_allow_duplicates(team: Team, tmp_path: Path) -> None:
    team.admin.customers.add(name="王伟", kind="person", phone="13911110012", email="w@x.cn")
    path = write_csv(tmp_path / "c.csv", [["王伟", "person", "", "", "13911110013", "w@x.cn", ""]])
    refused = crm("import", "customers", str(path), url=team.url)
    assert refused.returncode == 1 and "0 created" in refused.stdout
    allowed = crm("import", "customers", str(path), "--allow-duplicates", url=team.url)
    assert allowed.returncode == 0 and "1 created" in allowed.stdout
