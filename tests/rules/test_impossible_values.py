"""Values no one can see or no system can hold are refused by the one rule layer, at entry,
through the API and in imports alike, on both databases: names of only zero-width or
blank characters, text with NUL and other control characters, amounts whose thousands
separators are out of place, dates no business record carries; and a CSV that mixes
encodings is named as such, with the line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from crmlib.errors import ValidationError
from crmlib.rules import RuleViolation, amount, date_value, datetime_value, text
from crmlib.store.engine import make_engine
from crmlib.store.models import Customer, Opportunity, Order
from crmlib.transfer.reading import FileProblem, open_table
from tests.factories import Team, company

#: (rule, value, the rule it breaks); None: it passes, as typed.
CORPUS: list[tuple[Any, Any, str | None]] = [
    (text(200), "\u200b", "text_invisible"),
    (text(200), "\u200b\u200c\u200d\u2060\ufeff", "text_invisible"),
    (text(200), " \u3164 ", "text_invisible"),  # Hangul filler
    (text(200), "\u2800", "text_invisible"),  # blank Braille pattern
    (text(200), "\u202e\u2066", "text_invisible"),  # bidi controls alone
    (text(200), "\ufe0f", "text_invisible"),  # a variation selector alone
    (text(200), "上海\x00星辰", "text_control"),
    (text(200), "\x00", "text_control"),
    (text(200), "星辰\x07科技", "text_control"),
    (text(200), "星辰\x1b[31m", "text_control"),
    (text(200), "星辰\x7f", "text_control"),
    (text(200), "星辰\x9b", "text_control"),
    (text(200), "星辰\ud800", "text_control"),  # a lone surrogate
    (text(4000), "第一行\n第二行\r\n\t缩进", None),
    (text(200), "星\u200b辰", None),  # something visible: kept as typed
    (text(200), "\ue000", None),  # a private-use character (rare names use them)
    (text(200), "👩\u200d💻", None),
    (amount, "1,2,3", "amount_grouping"),
    (amount, "12,00", "amount_grouping"),
    (amount, "1,200,00", "amount_grouping"),
    (amount, "1 2 3", "amount_grouping"),
    (amount, "1,200 300", "amount_grouping"),
    (amount, ",120", "amount_grouping"),
    (amount, "1,200.50", None),
    (amount, "1 200.50", None),
    (amount, "¥1,234,567", None),
    (amount, "1,200万", None),
    (date_value, "9999-12-31", "date_range"),
    (date_value, "0001-01-01", "date_range"),
    (date_value, "1899-12-31", "date_range"),
    (date_value, "2100-01-01", "date_range"),
    (datetime_value, "9999-12-31 23:59", "date_range"),
    (date_value, "1900-01-01", None),
    (date_value, "2099-12-31", None),
]


@pytest.mark.parametrize(("rule", "value", "broken"), CORPUS, ids=[ascii(c[1]) for c in CORPUS])
def test_each_value_breaks_its_rule(rule: Any, value: Any, broken: str | None) -> None:
    if broken is None:
        rule(value)
        return
    with pytest.raises(RuleViolation) as caught:
        rule(value)
    assert caught.value.rule == broken


def test_text_is_kept_as_typed_not_stripped() -> None:
    assert text(200)("星\u200b辰") == "星\u200b辰"
    assert amount("1,200.50") == amount("1200.50")


def test_a_control_character_is_named_with_its_place() -> None:
    with pytest.raises(RuleViolation) as caught:
        text(200)("上海\x00星辰")
    assert "U+0000" in caught.value.message and "3" in caught.value.message


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def refused(call: Any, field: str, value: Any, rule: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call()
    (error,) = [e for e in caught.value.errors if e.field == field]
    assert (error.value, error.rule) == (value, rule)
    assert repr(value) in str(caught.value) and f"[{rule}]" in str(caught.value)
    return caught.value


ENTRIES = [
    ("customers", "name", "\u200b", "text_invisible"),
    ("customers", "name", "上海\x00星辰科技有限公司", "text_control"),
    ("customers", "address", "南山区\x01科技园", "text_control"),
    ("orders", "amount", "1,2,3", "amount_grouping"),
    ("orders", "ordered_at", "9999-12-31", "date_range"),
    ("orders", "product", "控制器\x00", "text_control"),
    ("opportunities", "name", "\u3164", "text_invisible"),
    ("opportunities", "expected_close_date", "9999-12-31", "date_range"),
]


@pytest.mark.parametrize(
    ("kind", "field", "value", "rule"), ENTRIES, ids=[f"{e[0]}.{e[1]}={e[2]!a}" for e in ENTRIES]
)
def test_the_api_refuses_them_on_both_databases(
    db_url: str, team: Team, kind: str, field: str, value: Any, rule: str
) -> None:
    rep = team.zhang
    code = rep.customers.add(**company()).code
    model = {"customers": Customer, "orders": Order, "opportunities": Opportunity}[kind]
    before = count(db_url, model)
    if kind == "customers":
        refused(lambda: rep.customers.add(**company(**{field: value})), field, value, rule)
        refused(lambda: rep.customers.update(code, **{field: value}), field, value, rule)
    elif kind == "orders":
        good = {"ordered_at": "2024-05-01", "amount": "1,200.50", "product": "控制器"}
        refused(lambda: rep.orders.add(code, **{**good, field: value}), field, value, rule)
        order = rep.orders.add(code, **good)
        refused(lambda: rep.orders.update(order["id"], **{field: value}), field, value, rule)
        before += 1
    else:
        deal = {"name": "产线升级", field: value}
        refused(lambda: rep.opportunities.add(code, **deal), field, value, rule)
    assert count(db_url, model) == before


def test_the_error_reads_in_chinese_by_default(db_url: str, team: Team) -> None:
    import crmlib

    with crmlib.open(db_url, user="zhang") as ws:
        error = refused(
            lambda: ws.customers.add(**company(name="\u200b")), "name", "\u200b", "text_invisible"
        )
    assert "没有可见字符" in str(error)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_an_import_rejects_each_row_with_its_reason(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """A broken value rejects its row, required (the date, the amount) or optional (the
    product), as the API refuses it; the other rows import."""
    code = team.zhang.customers.add(**company()).code
    rows = [
        ["O1", code, "2024-05-01", "1,200.50", "控制器"],
        ["O2", code, "9999-12-31", "100", "控制器"],
        ["O3", code, "2024-05-01", "1,2,3", "控制器"],
        ["O4", code, "2024-05-01", "100", "\u200b"],
        ["O5", code, "2024-05-01", "100", "控制\x01器"],
        ["O6", code, "2024-05-02", "1 200", "泵"],
    ]
    header = ["external_id", "customer_code", "ordered_at", "amount", "product"]
    result = team.zhang.import_file("orders", write_csv(tmp_path / "orders.csv", header, rows))
    assert (result.rows, result.ok, result.rejected) == (6, 2, 4)
    assert result.ok + result.rejected == result.rows
    assert result.rejects_path is not None
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    reasons = dict(zip(rejects["external_id"], rejects["reasons"], strict=True))
    assert "ordered_at='9999-12-31'" in reasons["O2"] and "[date_range]" in reasons["O2"]
    assert "amount='1,2,3'" in reasons["O3"] and "[amount_grouping]" in reasons["O3"]
    assert "product=" in reasons["O4"] and "[text_invisible]" in reasons["O4"]
    assert "product=" in reasons["O5"] and "[text_control]" in reasons["O5"]
    assert "U+0001" in reasons["O5"]
    assert count(db_url, Order) == 2
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(Order.external_id, Order.product)).all()
            products = {external_id: product for external_id, product in found}
    finally:
        engine.dispose()
    assert products == {"O1": "控制器", "O6": "泵"}


def test_an_import_rejects_names_that_show_nothing_or_cannot_be_stored(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    """(A NUL byte makes a whole CSV file refused as binary, before any row is read.)"""
    header = ["name", "industry", "province", "contact", "phone", "source"]
    names = ["上海星辰科技有限公司", "\u200b\u200b", "深圳\x02鹏城电子", "\u3164", "苏州\x1f启航"]
    rows = [
        [name, "I65", "上海", "张伟", f"1391234567{i}", "website"] for i, name in enumerate(names)
    ]
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", header, rows))
    assert (result.rows, result.ok, result.rejected) == (5, 1, 4)
    assert result.rejects_path is not None
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    assert [reason.rsplit("[", 1)[1] for reason in rejects["reasons"]] == [
        "text_invisible]",
        "text_control]",
        "text_invisible]",
        "text_control]",
    ]
    assert count(db_url, Customer) == 1


def test_a_csv_that_mixes_encodings_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "customers.csv"
    lines = ["name,contact", "上海星辰科技有限公司,张伟", "深圳鹏城电子有限公司,陈静"]
    body = [line.encode("utf-8") for line in lines]
    body.insert(2, "苏州启航机械有限公司,王磊".encode("gbk"))
    file.write_bytes(b"\r\n".join(body) + b"\r\n")
    with pytest.raises(FileProblem) as caught:
        open_table(file)
    message = str(caught.value)
    assert "第 3 行" in message and "GBK" in message and "UTF-8" in message
    assert "既不是 CSV" not in message


def test_a_binary_file_is_still_called_one(tmp_path: Path) -> None:
    file = tmp_path / "picture.csv"
    file.write_bytes(bytes(range(0x80, 0x100)) * 4)
    with pytest.raises(FileProblem, match="CSV"):
        open_table(file)
