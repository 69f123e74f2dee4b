"""The field-level change log and the history built from it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crmlib.store.engine import make_engine
from crmlib.store.models import AuditEvent
from tests.factories import Team, company


def test_update_writes_one_event_per_changed_field_with_old_and_new(team: Team) -> None:
    code = team.zhang.customers.add(**company(phone="13812345678", city="上海")).code
    team.zhang.customers.update(code, phone="13900001111", city="上海", grade="A")
    changes = team.zhang.history(code).query("action == 'update'")
    # city did not change: no event; a grade set by hand is held against the refresh
    assert sorted(changes["field"]) == [
        "grade",
        "grade_override_by",
        "grade_override_until",
        "phone",
    ]
    phone = changes.set_index("field").loc["phone"]
    assert (phone["old_value"], phone["new_value"]) == ("+8613812345678", "+8613900001111")
    assert (phone["actor"], phone["entity"]) == ("zhang", "contacts")
    grade = changes.set_index("field").loc["grade"]
    assert (grade["old_value"], grade["new_value"], grade["entity"]) == (None, "A", "customers")


def test_history_reads_like_sentences_newest_first(team: Team) -> None:
    code = team.zhang.customers.add(**company(city="上海")).code
    team.zhang.customers.update(code, city="苏州")
    history = team.zhang.history(code)
    assert history["occurred_at"].is_monotonic_decreasing
    assert history["text"].iloc[0].endswith(f"zhang changed City of {code} from 上海 to 苏州")
    assert history["text"].iloc[-1].endswith(f"zhang created customer {code}")


def test_create_archive_and_delete_are_logged(db_url: str, team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    team.zhang.customers.archive(code)
    team.zhang.customers.delete(code)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                AuditEvent.action,
                AuditEvent.entity,
                AuditEvent.field,
                AuditEvent.new_value,
                AuditEvent.old_value,
            )
            .where(AuditEvent.ref == code, AuditEvent.entity == "customers")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    actions = [r.action for r in rows]
    assert actions == ["create", "archive", "delete"]
    assert rows[1].field == "status" and rows[1].new_value == "archived"
    assert '"name": "上海星辰科技有限公司"' in rows[2].old_value  # the deleted record's snapshot


def test_rejected_change_writes_nothing(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    before = len(team.zhang.history(code))
    with pytest.raises(Exception, match="phone"):
        team.zhang.customers.update(code, phone="12345", city="杭州")
    assert len(team.zhang.history(code)) == before
    assert team.zhang.customers.get(code).city is None


def test_child_record_changes_are_filed_under_the_customer(team: Team) -> None:
    code = team.zhang.customers.add(**company()).code
    order = team.zhang.orders.add(code, ordered_at="2024-05-01", amount="1000")
    team.zhang.orders.update(order["id"], amount="1,200.5")
    change = team.zhang.history(code).query("entity == 'orders' and action == 'update'")
    assert list(change[["field", "old_value", "new_value"]].itertuples(index=False, name=None)) == [
        ("amount", "1000", "1200.5")
    ]
    assert "changed order.Amount of" in change["text"].iloc[0]
    assert change["text"].iloc[0].endswith("from 1,000.00 to 1,200.50")


def test_history_in_chinese(db_url: str, team: Team) -> None:
    import crmlib

    code = team.zhang.customers.add(**company(city="上海")).code
    team.zhang.customers.update(code, city="苏州")
    with crmlib.open(db_url, user="zhang", lang="zh") as ws:
        assert (
            ws.history(code)["text"].iloc[0].endswith(f"zhang 将 {code} 的 城市 从 上海 改为 苏州")
        )


def test_history_names_merges_and_unmerges(team: Team) -> None:
    survivor = team.zhang.customers.add(**company(name="杭州星辰科技有限公司")).code
    other = team.zhang.customers.add(**company(name="杭州星辰科技股份有限公司")).code
    merge_id = team.zhang.duplicates.merge(survivor, other)
    team.zhang.duplicates.unmerge(merge_id)
    lines = team.zhang.history(survivor)["text"].tolist()
    assert lines[0].endswith(f"zhang separated {other} from {survivor} again")
    assert any(line.endswith(f"zhang merged {other} into {survivor}") for line in lines)


def test_history_names_users_and_labels_codes(db_url: str, team: Team) -> None:
    import crmlib

    code = team.zhang.customers.add(**company()).code
    team.admin.users.add("zhou", role="service", team="support", display_name="周天佑")
    ticket = team.sun.tickets.open(code, type="after_sales", subject="保修期内维修")
    team.sun.tickets.transfer(ticket["id"], assignee="zhou")
    team.admin.tickets.start(ticket["id"])
    with crmlib.open(db_url, user="admin", lang="zh") as ws:
        lines = ws.history(code)["text"].tolist()
    assignee = next(line for line in lines if "工单.处理人" in line)
    assert assignee.endswith("改为 周天佑"), assignee
    status = next(line for line in lines if "工单.工单状态" in line)
    assert status.endswith("从 待处理 改为 处理中"), status
    assert not any("_id" in line or "in_progress" in line for line in lines), lines
