"""Phones are read as typed: letters, extensions and stray signs are refused with their
reason at entry, in imports and in duplicate checks, never converted or dropped."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from crmlib import ValidationError
from crmlib.i18n import t
from crmlib.rules import RuleViolation, phone
from crmlib.rules.columns import apply_rule
from tests.factories import Team, company

REFUSED = [
    ("138ABCD5678", "phone_letters"),
    ("1-800-FLOWERS", "phone_letters"),
    ("tel:13812345678", "phone_letters"),
    ("13812345678 ext 5", "phone_extension"),
    ("13812345678x5", "phone_extension"),
    ("0755-8888 1234 转 802", "phone_extension"),
    ("010-88881234 分机 12", "phone_extension"),
    ("010-88881234#12", "phone_extension"),
    ("-13812345678", "phone_characters"),
    (" - 138 1234 5678", "phone_characters"),
    ("+-8613812345678", "phone_characters"),
    ("*13812345678", "phone_characters"),
    ("13812345678 / 13900001111", "phone_characters"),
]


@pytest.mark.parametrize(("raw", "rule"), REFUSED)
def test_letters_extensions_and_stray_signs_are_refused(raw: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        phone(raw)
    assert caught.value.rule == rule


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(+86) 138 1234 5678", "+8613812345678"),
        ("+86 (0)10 8888 1234", "+861088881234"),
        ("138.1234.5678", "+8613812345678"),
        ("１３８－１２３４－５６７８", "+8613812345678"),
        ("'13812345678", "+8613812345678"),
        ("（0755）8888 1234", "+8675588881234"),
    ],
)
def test_the_usual_ways_of_writing_a_number_still_pass(raw: str, expected: str) -> None:
    assert phone(raw) == expected


def test_messages_say_what_is_wrong_in_both_languages() -> None:
    assert "ABCD" in t("phone_letters", "en", letters="ABCD")
    assert "字母" in t("phone_letters", "zh", letters="ABCD")
    assert "extension" in t("phone_extension", "en", extension="5")
    assert "分机" in t("phone_extension", "zh", extension="5")
    assert "“-”" in t("phone_characters", "zh", character="-")


def test_entry_refuses_them_naming_field_value_and_rule(team: Team) -> None:
    for raw, rule in (
        ("138ABCD5678", "phone_letters"),
        ("13812345678 ext 5", "phone_extension"),
        ("-13812345678", "phone_characters"),
    ):
        with pytest.raises(ValidationError) as caught:
            team.zhang.customers.add(**company(phone=raw))
        (error,) = [e for e in caught.value.errors if e.field == "phone"]
        assert (error.value, error.rule) == (raw, rule)
        assert f"[{rule}]" in str(error) and raw in str(error)
    with pytest.raises(ValidationError, match="phone_letters"):
        team.zhang.leads.add(name="王磊", source="website", phone="1-800-FLOWERS")
    assert team.zhang.customers.frame().empty


def test_imports_reject_them_with_the_reason(team: Team, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    phones = ["13812345678", "138ABCD5678", "1-800-FLOWERS", "13912345678 ext 5", "-13712345678"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户名称", "行业", "省份", "联系人", "电话", "客户来源"])
        writer.writerows(
            [f"公司{n}", "39", "广东", "陈静", p, "展会"] for n, p in enumerate(phones)
        )
    result = team.zhang.import_file("customers", path, output_dir=tmp_path / "out")
    assert (result.created, result.rejected) == (1, 4)
    assert result.rejects_path is not None
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    reasons = rejects.set_index("电话")["reasons"]
    assert "[phone_letters]" in reasons["138ABCD5678"]
    assert "[phone_letters]" in reasons["1-800-FLOWERS"]
    assert "[phone_extension]" in reasons["13912345678 ext 5"]
    assert "[phone_characters]" in reasons["-13712345678"]
    assert team.zhang.customers.frame()["phone"].tolist() == ["+8613812345678"]


@pytest.mark.parametrize("cells", [10, 3000], ids=["python", "polars"])
def test_whole_columns_refuse_a_leading_minus_as_the_rule_does(cells: int) -> None:
    column = pd.Series(
        ["13812345678"] * (cells - 3) + ["-13812345678", "+-8613812345678", "- 021 6234 5678"]
    )
    values, violations = apply_rule(phone, column)
    assert values.iloc[0] == "+8613812345678" and values.iloc[-3:].isna().all()
    assert [v.rule for v in violations.iloc[-3:]] == ["phone_characters"] * 3


def test_duplicate_checks_do_not_read_letters_as_digits(team: Team) -> None:
    team.zhang.customers.add(**company(name="深圳鹏城电子有限公司", phone="13822235678"))
    typed = {"name": "深圳鹏城电子股份有限公司", "phone": "138 2223 5678"}
    assert "same phone" in team.zhang.duplicates.check(typed)[0].reasons
    lettered = team.zhang.duplicates.check({**typed, "phone": "138ABCD5678"})
    assert not [m for m in lettered if "same phone" in m.reasons]
