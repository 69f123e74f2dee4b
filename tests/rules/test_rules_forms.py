"""Every field rule exists once: its whole-column form (imports) and its SQL form (the
scorecard) are registered as the rule, and each agrees with the rule's scalar function on
hostile and ordinary values: the column form value for value, the SQL form on what a
stored value is valid as (on SQLite and PostgreSQL). The tags rule gives the same tags
through the entry form, the importer and the knowledge base."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select

from crmlib.reference.enums import CUSTOMER_STATUS, GRADE, SIZE, SOURCE
from crmlib.rules import (
    FIELD_RULES,
    FieldRule,
    RuleViolation,
    email,
    enum_of,
    identifier,
    phone,
    province,
    text,
)
from crmlib.rules import columns as column_forms
from crmlib.rules.columns import apply_rule
from crmlib.rules.customers import TAGS
from crmlib.rules.stored import mobile_heads
from crmlib.rules.tags import tags_text
from crmlib.store.engine import make_engine
from crmlib.store.models import Customer
from crmlib.ui.entry import CustomerEntry
from tests.factories import Team

#: A customer the entry form saves, but for its name and tags.
GOOD = {
    "industry": "65",
    "province": "浙江省",
    "contact": "王芳",
    "phone": "139 1234 5678",
    "source": "exhibition",
}
#: Rules of each kind with a vectorised form, with parameters where the kind takes them.
INSTANCES: dict[str, list[FieldRule[Any]]] = {
    "text": [text(1), text(4), text(100)],
    "identifier": [identifier(1), identifier(4), identifier(100)],
    "phone": [phone],
    "email": [email],
    "province": [province],
    "enum": [enum_of(GRADE), enum_of(SIZE), enum_of(CUSTOMER_STATUS), enum_of(SOURCE)],
    "tags": [tags_text(4, tag_limit=2), tags_text(100, tag_limit=3), TAGS],
}
#: Values every form meets: ordinary ones and those that broke a copy of a rule before.
CORPUS = [
    "",
    " ",
    "\u3000",
    "\t",
    "\n",
    "\x00",
    "\u200b",
    "\u3164",
    "\ud800",
    "a",
    "A",
    "ab ",
    " 华为 ",
    "ａｂｃ",
    "abcd",
    "华为技术有限公司",
    "13812345678",
    "138 1234 5678",
    "+8613812345678",
    "+86 138 1234 5678",
    "8613812345678",
    "+86１３８１２３４５６７８",
    "+86138123456789",
    "+8614012345678",
    "+862088886666",
    "+86 10 6234 5678",
    "+86010 6234 5678",
    "+8601062345678",
    "+861062345",
    "010-62345678",
    "01062345678",
    "+14155552671",
    "+85221234567",
    "138ABCD5678",
    "138 1234 5678 ext 5",
    "-13812345678",
    "(+86) 138 1234 5678",
    "info@xingchen.cn",
    "Good@Example.COM",
    "a@b",
    "not-mail",
    "a.b@c.com.cn\n",
    " x@y.cn",
    "ｘ@y.cn",
    "A",
    "B",
    "a",
    "X",
    "small",
    "中型",
    "active",
    "Active",
    " active",
    "website",
    "官网",
    "广东省",
    "广东",
    "Guangdong",
    " 北京市",
    "北京市",
    "新疆维吾尔自治区",
    "火星",
]

digits = st.text("0123456789", min_size=0, max_size=14)
hostile = st.text(
    st.characters(codec="utf-8", categories=("Nd", "Lu", "Ll", "Lo", "Zs", "Cc", "Cf", "Po")),
    max_size=16,
)
addresses = st.builds(
    lambda a, b: f"{a}@{b}", st.from_regex(r"[A-Za-z0-9.]{1,6}", fullmatch=True), hostile
)
values = st.one_of(
    st.sampled_from(CORPUS),
    st.builds(lambda head, rest: head + rest, st.sampled_from(["", "+86", "86", "+", "0"]), digits),
    st.builds(
        lambda a, b: f"{a}@{b}", st.from_regex(r"[A-Za-z0-9.]{1,6}", fullmatch=True), hostile
    ),
    hostile,
)


def _scalar(rule: FieldRule[Any], value: Any) -> tuple[Any, str | None]:
    try:
        return rule(value), None
    except RuleViolation as violation:
        return None, violation.rule


def _column(rule: FieldRule[Any], cells: list[str]) -> list[tuple[Any, str | None]]:
    clean, violations = apply_rule(rule, pd.Series(cells, dtype=object))
    return [
        (value, None if violation is None else violation.rule)
        for value, violation in zip(clean.tolist(), violations.tolist(), strict=True)
    ]


def test_every_vectorised_form_is_registered_as_a_rule_with_instances_here() -> None:
    """A form is found from its rule, and every kind with one is tested below."""
    with_forms = {name for name, kind in FIELD_RULES.items() if kind.column is not None or kind.sql}
    assert with_forms == set(INSTANCES) and {"phone", "email", "text"} <= set(FIELD_RULES)
    for name, rules in INSTANCES.items():
        assert all(rule.kind is FIELD_RULES.get(name) for rule in rules)
    assert FIELD_RULES.get("phone").column is not None and phone.kind.sql is not None
    assert not phone.kind.sql_exact and email.kind.sql_exact


def test_a_rule_pickles_by_reference_as_a_function_does() -> None:
    """``rule is phone`` (the exporter's test) still holds for a rule sent to a process."""
    assert pickle.loads(pickle.dumps(phone)) is phone
    limited = pickle.loads(pickle.dumps(text(4)))
    assert limited.kind is FIELD_RULES.get("text") and limited.parameters == {"limit": 4}
    with pytest.raises(RuleViolation):
        limited("abcde")


def _short_and_long(cells: list[str]) -> Iterator[list[str]]:
    """The cells as they are (the Python passes) and repeated past the length from which
    the column forms go through polars."""
    yield cells
    times = max(column_forms._POLARS_FROM, column_forms._TEXT_POLARS_FROM) // len(cells) + 1
    yield cells * times


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_every_column_form_agrees_with_its_rule_on_the_corpus(name: str) -> None:
    for rule in INSTANCES[name]:
        if rule.kind.column is None:
            continue
        expected = [_scalar(rule, value) for value in CORPUS]
        for cells in _short_and_long(CORPUS):
            assert _column(rule, cells)[: len(CORPUS)] == expected, rule


@settings(max_examples=150, deadline=None)
@given(st.lists(values, min_size=1, max_size=40))
def test_every_column_form_agrees_with_its_rule_on_generated_values(cells: list[str]) -> None:
    for rules in INSTANCES.values():
        for rule in rules:
            if rule.kind.column is not None:
                assert _column(rule, cells) == [_scalar(rule, v) for v in cells], rule


# -- SQL forms, on both databases --------------------------------------------------------


@pytest.fixture
def stored(empty_db_url: str) -> Iterator[tuple[Engine, Table]]:
    """A table of stored text values, one per row."""
    engine = make_engine(empty_db_url)
    table = Table(
        "stored_values",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("value", String(200)),
    )
    table.create(engine)
    yield engine, table
    engine.dispose()


def _sql_verdicts(engine: Engine, table: Table, rule: FieldRule[Any]) -> list[bool]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.id, rule.sql(table.c.value).label("ok")).order_by(table.c.id)
        )
        return [bool(ok) for _, ok in rows]


def test_every_sql_form_agrees_with_what_its_rule_stores(
    stored: tuple[Engine, Table],
) -> None:
    """Exact forms say valid exactly where the rule stores the value as it stands; the
    phone rule's vouches only for values the rule stores as they stand (the mobiles, which
    are most of a column)."""
    engine, table = stored
    rng = random.Random(20251207)
    generated = [
        head + "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 12)))
        for head in ["+86" + str(n) for n in range(100, 200)] + ["+8610", "+8601", "+1415"]
        for _ in range(6)
    ]
    # NUL is no text PostgreSQL stores, and a lone surrogate no text at all.
    texts = [v for v in CORPUS if "\x00" not in v and "\ud800" not in v] + generated
    with engine.begin() as conn:
        conn.execute(insert(table), [{"value": v} for v in texts])
    for rules in INSTANCES.values():
        for rule in rules:
            if rule.kind.sql is None:
                continue
            verdicts = _sql_verdicts(engine, table, rule)
            truth = [rule.stores(v) for v in texts]
            if rule.kind.sql_exact:
                assert verdicts == truth, rule
            else:
                assert all(t for v, t in zip(verdicts, truth, strict=True) if v), rule
                assert any(verdicts), rule


def test_the_mobile_prefixes_are_mobiles_to_phonenumbers() -> None:
    """Each prefix the phone rule's SQL form vouches for is, for any eight digits after it,
    a valid mobile number in E.164 as phonenumbers itself reads it."""
    rng = random.Random(20250630)
    heads = mobile_heads()
    assert {"138", "139", "186", "199"} <= set(heads) and "140" not in heads
    for head in heads:
        for _ in range(40):
            number = f"+86{head}{rng.randrange(10**8):08d}"
            parsed = phonenumbers.parse(number, None)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number


# -- tags ----------------------------------------------------------------------------------

TAG_TEXTS = ["a|b", "重点，VIP；华东、a|b", " x ,, y ;; x ", "单个", "a||b|"]


def test_the_same_text_gives_the_same_tags_in_the_form_the_importer_and_the_knowledge_base(
    team: Team, tmp_path: Path
) -> None:
    header = "外部编号,客户名称,客户类型,行业,联系人,电话,客户来源,标签"
    rows = [
        f'T{n},导入{n}号公司,企业,65,王芳,1391234567{n},exhibition,"{tags}"'
        for n, tags in enumerate(TAG_TEXTS)
    ]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = team.zhang.import_file("customers", path)
    assert result.created == len(TAG_TEXTS), result
    with team.zhang.ctx.reading() as conn:
        codes = {e: c for e, c in conn.execute(select(Customer.external_id, Customer.code))}

    for n, tags in enumerate(TAG_TEXTS):
        imported = team.zhang.customers.get(codes[f"T{n}"]).tags
        entry = CustomerEntry(team.zhang)
        for name, value in {**GOOD, "name": f"表单{n}号公司", "tags": tags}.items():
            entry.form[name].value = value
        entry.save_button.click()
        assert entry.code is not None, entry.status.value
        typed = team.zhang.customers.get(entry.code).tags
        article = team.sun.kb.add(title=f"文章{n}", body="正文", category="常见问题", tags=tags)
        kept = tuple(sorted(article["tags"]))
        assert typed == imported == kept and len(kept) >= 1, tags
    assert team.zhang.customers.get(codes["T0"]).tags == ("a", "b")
