"""A grade or status written in an import file is a person's statement: the nightly
refresh keeps it like one set by hand (who, why: the file, until when), while a value the
file only repeats holds nothing, so an unchanged export imported again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import crmlib
from crmlib import clock
from tests.factories import Team, company

HEADERS = "客户名称,所属行业,联系人,联系方式,信息来源,客户等级,客户状态\n"
TODAY = clock.today()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["serial", "pipelined"])
def test_new_customers_keep_the_grade_and_status_of_their_file(
    team: Team, tmp_path: Path, engine: str
) -> None:
    path = write(
        tmp_path / "老系统客户.csv",
        HEADERS
        + "深圳鹏城电子有限公司,制造业,陈静,13812345678,官网表单,重要,成交客户\n"
        + "苏州启航机械有限公司,批发业,王磊,13812345679,展会,潜在,潜在客户\n"
        + "杭州云栖软件有限公司,软件和信息技术服务业,李娜,13900001111,展会,,\n",
    )
    result = team.zhang.import_file("customers", path, engine=engine, output_dir=tmp_path / "i")
    assert (result.created, result.rejected) == (3, 0)
    held, plain, blank = (
        team.zhang.customers.get(code)
        for code in team.zhang.customers.frame().sort_values("phone")["code"]
    )
    assert (held.grade, held.status) == ("A", "active")
    for field in ("grade", "status"):
        assert getattr(held, f"{field}_override_by") == "zhang"
        reason = getattr(held, f"{field}_override_reason")
        assert reason == f"imported from 老系统客户.csv (import batch {result.batch_id})"
        assert getattr(held, f"{field}_override_until") == TODAY + timedelta(days=365)
    # C and potential are what a customer without orders has anyway: nothing to hold
    assert (plain.grade, plain.status, plain.grade_override_by) == ("C", "potential", None)
    assert plain.status_override_by is None and blank.grade_override_by is None
    for _ in range(2):
        refreshed = team.zhang.refresh()
        assert refreshed.skipped == {"grade": 1, "status": 0}
        assert team.zhang.customers.get(held.code).grade == "A"
    assert team.zhang.customers.get(blank.code).grade == "C"  # the refresh graded it


def test_a_grade_changed_by_a_file_survives_two_refreshes(team: Team, tmp_path: Path) -> None:
    big = team.zhang.customers.add(**company(name="深圳鹏城电子有限公司")).code
    team.zhang.orders.add(big, ordered_at=TODAY, amount=600_000)
    same = team.zhang.customers.add(**company(name="苏州启航机械有限公司")).code
    team.zhang.refresh()
    assert team.zhang.customers.get(big).grade == "A"
    path = write(
        tmp_path / "grades.csv",
        "客户编号,客户名称,所属行业,联系人,联系方式,信息来源,客户等级\n"
        + "".join(
            f"{r.code},{r.name},I65,{r.contact},{r.phone},官网,{grade}\n"
            for r, grade in (
                (team.zhang.customers.get(big), "一般"),
                (team.zhang.customers.get(same), "C"),
            )
        ),
    )
    result = team.zhang.import_file("customers", path, output_dir=tmp_path / "first")
    assert (result.updated, result.unchanged, result.rejected) == (1, 1, 0)
    record = team.zhang.customers.get(big)
    assert (record.grade, record.grade_override_by) == ("B", "zhang")
    assert (
        record.grade_override_reason == f"imported from grades.csv (import batch {result.batch_id})"
    )
    assert team.zhang.customers.get(same).grade_override_by is None  # C as computed
    for _ in range(2):
        refreshed = team.zhang.refresh()
        assert refreshed.skipped == {"grade": 1, "status": 0}
        assert team.zhang.customers.get(big).grade == "B"
    again = team.zhang.import_file("customers", path, output_dir=tmp_path / "again")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    team.zhang.customers.clear_override(big, "grade")
    team.zhang.refresh()
    assert team.zhang.customers.get(big).grade == "A"


def test_the_reason_speaks_the_importers_language(team: Team, tmp_path: Path) -> None:
    record = team.zhang.customers.add(**company())
    code = record.code
    path = write(
        tmp_path / "等级.csv",
        "客户编号,客户名称,所属行业,联系人,联系方式,信息来源,客户等级\n"
        f"{code},{record.name},I65,{record.contact},{record.phone},官网,重要\n",
    )
    with crmlib.open(team.url, user="zhang", lang="zh") as ws:
        result = ws.import_file("customers", path, output_dir=tmp_path / "i")
    reason = team.zhang.customers.get(code).grade_override_reason
    assert reason == f"导入自文件 等级.csv（导入批次 {result.batch_id}）"


def test_an_exported_file_imported_again_holds_nothing(team: Team, tmp_path: Path) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.orders.add(code, ordered_at=TODAY, amount=200_000)
    team.zhang.customers.add(**company(name="苏州启航机械有限公司"))
    team.zhang.refresh()
    exported = tmp_path / "customers.csv"
    team.zhang.export("customers", exported)
    result = team.zhang.import_file("customers", exported, output_dir=tmp_path / "i")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    frame = team.zhang.customers.frame()
    assert sorted(frame["grade"]) == ["B", "C"]
    for found in frame["code"]:
        record = team.zhang.customers.get(found)
        assert (record.grade_override_by, record.status_override_by) == (None, None)
