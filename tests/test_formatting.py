"""One rule for how values read: numbers by kind, yes/no, blanks for every kind of missing
value, and stored codes as labels chosen by the column and its values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.display import readable, shown
from crmlib.formatting import kind_of, number_text, value_text
from crmlib.reference.enums import TASK_STATUS


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (6784.173750000001, "money", "6,784.17"),
        (1234567, "money", "1,234,567.00"),
        (-0.996575, "share", "-99.7%"),
        (0.5, "share", "50.0%"),
        (12345.0, "count", "12,345"),
        (16.17225, "measure", "16.2"),
        (1371, "id", "1371"),
        (0.123456, "number", "0.12"),
        (2.0, "number", "2"),
    ],
)
def test_numbers_read_by_kind(value: float, kind: str, text: str) -> None:
    assert number_text(value, kind) == text


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT, np.nan])
def test_every_missing_value_is_blank(missing: object) -> None:
    assert value_text(missing, "money") == ""


def test_yes_no_and_dates() -> None:
    assert value_text(True, lang="zh") == "是" and value_text(False, lang="en") == "no"
    assert value_text(pd.Timestamp("2024-05-01")) == "2024-05-01"
    assert value_text(pd.Timestamp("2024-05-01 10:30:15")) == "2024-05-01 10:30"


def test_kinds_come_from_names_then_values() -> None:
    assert kind_of("won_amount") == "money" and kind_of("resolved_share") == "share"
    assert kind_of("repurchase_rate") == "share" and kind_of("ticket_id") == "id"
    assert kind_of("idle_days", pd.Series([3.0, 4.0])) == "count"  # whole days
    assert kind_of("avg_days", pd.Series([3.25])) == "measure"
    assert kind_of("members", pd.Series([3, 4])) == "count"
    assert kind_of("name", pd.Series(["a"], dtype="str")) == "text"


def test_codes_read_as_labels_by_column_and_values() -> None:
    frame = pd.DataFrame(
        {
            "status": pd.Series(["open", "in_progress", "resolved"], dtype="str"),
            "type": ["after_sales", "inquiry", None],
            "kind": ["status", "transfer", "response"],
            "team": ["east", "我们的新团队", None],
            "owner": ["yu.fei", "someone.else", None],
            "to_value": ["service/zhang.jing", "in_progress", None],
            "amount": [6784.173750000001, 1000.0, np.nan],
        }
    )
    labelled = readable(frame, "zh", names={"yu.fei": "余飞", "zhang.jing": "张静"})
    assert list(labelled["status"]) == ["待处理", "处理中", "已解决"]  # a ticket's statuses
    assert list(labelled["type"])[:2] == ["售后", "咨询"]
    assert list(labelled["kind"]) == ["状态变更", "转派", "首次响应"]
    assert list(labelled["team"])[:2] == ["华东团队", "我们的新团队"]  # typed teams as typed
    assert list(labelled["owner"])[:2] == ["余飞", "someone.else"]
    assert list(labelled["to_value"])[:2] == ["客服团队/张静", "处理中"]
    assert labelled["amount"].iloc[0] == frame["amount"].iloc[0]  # numbers stay numbers
    text = shown(frame, "en")
    assert list(text.columns)[:4] == ["Status", "Type", "Kind", "Team"]
    assert list(text["Amount"]) == ["6,784.17", "1,000.00", ""]
    assert list(text["Status"]) == ["Open", "In progress", "Resolved"]


def test_a_column_the_values_cannot_tell_takes_its_enumeration() -> None:
    tasks = pd.DataFrame({"status": ["open", "in_progress"]})
    assert list(readable(tasks, "zh")["status"]) == ["待处理", "处理中"]  # read as a ticket's
    assert list(readable(tasks, "zh", enums={"status": TASK_STATUS})["status"]) == [
        "待办",
        "进行中",
    ]
