"""One rule, one outcome: every field rule the importer applies gives the same verdict
through the API (add and update), the entry forms (the customer form and the follow-ups
notebook's stage form, saving as their buttons do) and the importer (a one-row CSV). A
value that breaks a rule is an error naming the field and the rule, and nothing is
stored: the importer rejects the row rather than import it without the value.

The cases come from the registered file kinds' columns, so a new column or rule is
covered as soon as it is registered; a rule kind without a bad value here fails
:func:`test_every_rule_the_importer_applies_has_a_bad_value` until it is given one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crmlib.domain.sales.leads import RULES as LEAD_RULES
from crmlib.domain.sales.records import CONTACTS, OPPORTUNITIES, ORDERS
from crmlib.domain.service.tickets import EDITABLE as TICKET_EDITABLE
from crmlib.domain.service.tickets import OPEN_RULES as TICKET_RULES
from crmlib.errors import FieldError, ValidationError
from crmlib.rules import FieldRule, Rule, RuleViolation
from crmlib.rules.customers import RULES as CUSTOMER_RULES
from crmlib.rules.customers import TAGS
from crmlib.rules.tags import TAG_LIMIT, split_tags
from crmlib.transfer.catalogue import KINDS
from crmlib.transfer.kinds import Column
from crmlib.ui.entry import CustomerEntry
from crmlib.ui.followups import STAGE_FIELDS, FollowUps
from crmlib.workspace import Workspace
from tests.factories import Team, add_team, build_team, company, open_team
from tests.templates import Templates

#: A value each kind of rule refuses, made from the rule (a text one character too long).
BAD: dict[str, Callable[[FieldRule[Any]], str]] = {
    "text": lambda rule: "长" * (rule.parameters["limit"] + 1),
    "identifier": lambda rule: "X" * (rule.parameters["limit"] + 1),
    "tags": lambda rule: "重点跟进, " + "长" * (rule.parameters["tag_limit"] + 1),
    "phone": lambda _: "12345",
    "email": lambda _: "chen.jing at pengcheng.cn",
    "enum": lambda _: "火星",
    "province": lambda _: "火星",
    "industry": lambda _: "火星",
    "postcode": lambda _: "51800A",
    "date_value": lambda _: "2024-13-45",
    "datetime_value": lambda _: "2024-13-45 09:30",
    "amount": lambda _: "一千",
    "flag": lambda _: "也许",
}


def rule_of(column: Column) -> FieldRule[Any]:
    assert isinstance(column.rule, FieldRule), f"{column.key}: a rule registered as a rule"
    return column.rule


def bad_value(column: Column) -> str:
    return BAD[rule_of(column).kind.name](rule_of(column))


def verdict(column: Column) -> str:
    """The rule the column's own rule names for the bad value: what every path must say."""
    with pytest.raises(RuleViolation) as refused:
        column.rule(bad_value(column))
    return refused.value.rule


COLUMNS = [column for kind in KINDS.values() for column in kind.spec.columns]


def test_every_rule_the_importer_applies_has_a_bad_value() -> None:
    used = {rule_of(column).kind.name for column in COLUMNS}
    assert used <= set(BAD), f"give a bad value for: {sorted(used - set(BAD))}"
    for column in COLUMNS:
        assert verdict(column), column.key


# -- the three paths ------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """A kind's API: its rules by field, and how to add a record and change one with the
    given values (the parent customer's code, a stored record)."""

    rules: Mapping[str, Rule]
    add: Callable[[Workspace, str, dict[str, Any]], Any]
    update: Callable[[Workspace, Any, dict[str, Any]], Any] | None
    #: The fields ``update`` takes (all of ``rules`` when None).
    editable: tuple[str, ...] | None = None


def _tags_apart(values: dict[str, Any]) -> dict[str, Any]:
    """The customer API takes tags as a list: the tags of the text, as the form gives them."""
    if "tags" not in values:
        return values
    return {**values, "tags": split_tags(values["tags"])}


def _add_customer(ws: Workspace, _code: str, values: dict[str, Any]) -> Any:
    return ws.customers.add(**{**company(), **_tags_apart(values)})


def _add_ticket(ws: Workspace, code: str, values: dict[str, Any]) -> Any:
    return ws.tickets.open(code, **{"type": "after_sales", "subject": "设备无法启动", **values})


APIS: dict[str, Api] = {
    "customers": Api(
        {**CUSTOMER_RULES, "tags": TAGS},
        _add_customer,
        lambda ws, record, values: ws.customers.update(record.code, **_tags_apart(values)),
    ),
    "contacts": Api(
        CONTACTS.rules,
        lambda ws, code, values: ws.contacts.add(code, **{"name": "林涛", **values}),
        lambda ws, record, values: ws.contacts.update(record["id"], **values),
    ),
    "leads": Api(
        LEAD_RULES,
        lambda ws, _, values: ws.leads.add(**{"name": "王磊", "source": "website", **values}),
        lambda ws, record, values: ws.leads.update(record["id"], **values),
    ),
    "opportunities": Api(
        OPPORTUNITIES.rules,
        lambda ws, code, values: ws.opportunities.add(code, **{"name": "产线升级", **values}),
        lambda ws, record, values: ws.opportunities.update(record["id"], **values),
    ),
    "orders": Api(
        ORDERS.rules,
        lambda ws, code, values: ws.orders.add(
            code, **{"ordered_at": "2024-05-01", "amount": "100", **values}
        ),
        lambda ws, record, values: ws.orders.update(record["id"], **values),
    ),
    "tickets": Api(
        TICKET_RULES,
        _add_ticket,
        lambda ws, record, values: ws.tickets.update(record["id"], **values),
        TICKET_EDITABLE,
    ),
}

#: The cells of a row each kind imports, but for the one under test.
ROWS: dict[str, Callable[[str], dict[str, str]]] = {
    "customers": lambda _: {key: str(value) for key, value in company().items()},
    "contacts": lambda code: {"customer_code": code, "name": "林涛"},
    "leads": lambda _: {"name": "王磊", "source": "website"},
    "opportunities": lambda code: {"customer_code": code, "name": "产线升级"},
    "orders": lambda code: {"customer_code": code, "ordered_at": "2024-05-01", "amount": "100"},
    "tickets": lambda code: {
        "customer_code": code,
        "type": "after_sales",
        "priority": "high",
        "subject": "设备无法启动",
    },
}


@dataclass
class World:
    """One database for the whole module: the cases only write what is refused (and the
    import batches that record it), so they share it. ``records`` holds one stored record
    of each kind, for the updates. SQLite only: a rule's verdict is made before the
    database is reached, the same on PostgreSQL."""

    team: Team
    code: str
    records: dict[str, Any]
    folder: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("one_outcome")
    team = build_team(f"sqlite:///{folder / 'crm.db'}")
    admin = team.admin
    customer = admin.customers.add(**company())
    code = customer.code
    records = {
        "customers": customer,
        "contacts": admin.contacts.add(code, name="林涛"),
        "leads": admin.leads.add(name="王磊", source="website", phone="13912340001"),
        "opportunities": admin.opportunities.add(code, name="产线升级"),
        "orders": admin.orders.add(code, ordered_at="2024-05-01", amount="100"),
        "tickets": admin.tickets.open(code, type="after_sales", subject="设备无法启动"),
    }
    yield World(team, code, records, folder)
    team.close()


def refused(call: Callable[[], Any], name: str) -> set[str]:
    """The rules a call names for field ``name`` when it refuses the values."""
    with pytest.raises(ValidationError) as error:
        call()
    return {problem.rule for problem in error.value.errors if problem.field == name}


def customer_problems(world: World, name: str, value: str) -> list[FieldError]:
    """What the customer API's add says about field ``name`` holding ``value``."""
    with pytest.raises(ValidationError) as error:
        APIS["customers"].add(world.team.admin, world.code, {name: value})
    return [problem for problem in error.value.errors if problem.field == name]


def imported(world: World, kind: str, name: str, value: str) -> tuple[Any, set[str]]:
    """A one-row CSV of ``kind`` with ``value`` in column ``name``, imported by admin: the
    result, and the rules the rejected row's reasons name for the column."""
    cells = {**ROWS[kind](world.code), name: value}
    path = world.folder / f"{kind}-{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(cells))
        writer.writerow(list(cells.values()))
    result = world.team.admin.import_file(kind, path, output_dir=world.folder / kind / name)
    if result.rejects_path is None:
        return result, set()
    with result.rejects_path.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    reasons = row["reasons"]
    return result, set(re.findall(rf"(?:^|; ){re.escape(name)}=.*?\[([\w:]+)\](?=; |$)", reasons))


CASES = [
    pytest.param(kind.name, column.name, id=column.key)
    for kind in KINDS.values()
    for column in kind.spec.columns
]


def stored(ws: Workspace) -> dict[str, int]:
    """How many records of each kind there are."""
    return {
        "customers": len(ws.customers.frame()),
        "contacts": len(ws.contacts.frame()),
        "leads": len(ws.leads.frame()),
        "opportunities": len(ws.opportunities.frame()),
        "orders": len(ws.orders.frame()),
        "tickets": len(ws.tickets.frame()),
    }


@pytest.fixture
def nothing_stored(world: World) -> Iterator[None]:
    """The case leaves every kind as it found it: nothing refused is stored."""
    before = stored(world.team.admin)
    yield
    assert stored(world.team.admin) == before


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(("kind", "name"), CASES)
def test_a_broken_value_is_the_same_error_on_every_path(world: World, kind: str, name: str) -> None:
    column = KINDS.get(kind).spec.column(name)
    value, rule = bad_value(column), verdict(column)

    result, by_import = imported(world, kind, name, value)
    assert (result.rows, result.ok, result.rejected) == (1, 0, 1), name
    assert by_import == {rule}

    api = APIS[kind]
    if name not in api.rules:  # a column the API takes otherwise (a code to look up)
        return
    assert repr(api.rules[name]) == repr(column.rule), "one rule, with the same parameters"
    admin = world.team.admin
    assert refused(lambda: api.add(admin, world.code, {name: value}), name) == {rule}
    if api.update is not None and (api.editable is None or name in api.editable):
        update = api.update
        record = world.records[kind]
        assert refused(lambda: update(admin, record, {name: value}), name) == {rule}


FORM_CASES = [
    pytest.param(column.name, id=column.key)
    for column in KINDS.get("customers").spec.columns
    if column.name != "code"
]


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("name", FORM_CASES)
def test_the_entry_form_shows_the_apis_error_and_saves_nothing(world: World, name: str) -> None:
    """The customer entry form, filled with a valid customer but for one field, as its
    Save button saves it: the API's message under that field, nothing saved; the field's
    own check while typing names the same rule."""
    column = KINDS.get("customers").spec.column(name)
    value, rule = bad_value(column), verdict(column)
    good = {**company(), "industry": "65", "province": "浙江省", "source": "exhibition"}
    expected = customer_problems(world, name, value)
    assert [problem.rule for problem in expected] == [rule]
    entry = CustomerEntry(world.team.admin)
    for field, typed in {**good, name: value}.items():
        entry.form[field].value = typed
    typed_check = entry.form[name].check()
    assert typed_check is not None and typed_check.rule == rule
    assert entry.save() is None and entry.code is None
    assert entry.status.kind == "error"
    assert entry.form[name].problem == expected[0].message


STAGE_CASES = [
    pytest.param(column.name, id=column.key)
    for column in KINDS.get("opportunities").spec.columns
    if column.name in STAGE_FIELDS
]


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("name", STAGE_CASES)
def test_the_stage_form_shows_the_apis_error_and_saves_nothing(world: World, name: str) -> None:
    """The follow-ups notebook's stage form, one of its deal fields broken, as its button
    saves it: the API's message under that field, and the deal as it was."""
    column = KINDS.get("opportunities").spec.column(name)
    value, rule = bad_value(column), verdict(column)
    deal = world.records["opportunities"]
    admin = world.team.admin
    with pytest.raises(ValidationError) as error:
        admin.opportunities.update(deal["id"], stage=deal["stage"], **{name: value})
    expected = [problem for problem in error.value.errors if problem.field == name]
    assert [problem.rule for problem in expected] == [rule]
    follow_ups = FollowUps(admin)
    assert follow_ups.deals.selected == deal["id"]
    follow_ups.stage.value = deal["stage"]
    follow_ups.stage_form[name].value = value
    assert follow_ups.change_stage() is None
    assert follow_ups.stage_form[name].problem == expected[0].message
    assert admin.opportunities.get(deal["id"]) == deal


CAMPAIGN_CASES = [
    pytest.param(kind.name, id=kind.name)
    for kind in KINDS.values()
    if "campaign" in kind.spec.names
]


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("kind", CAMPAIGN_CASES)
def test_an_unknown_campaign_is_the_apis_error_on_import(world: World, kind: str) -> None:
    """A campaign name that names no campaign rejects its row with the API's rule, the
    field and the value, as the API refuses a campaign id that names none; the row is not
    imported without it."""
    result, by_import = imported(world, kind, "campaign", "不存在的活动")
    assert (result.rows, result.ok, result.rejected) == (1, 0, 1)
    assert by_import == {"unknown_campaign"}
    assert result.rejects_path is not None
    assert sorted(path.name for path in result.rejects_path.parent.iterdir()) == [
        "rejects.csv",
        "summary.json",
    ]
    unknown = max(world.team.admin.campaigns.frame()["id"].tolist() or [0]) + 1
    api = APIS[kind]
    admin = world.team.admin
    refusal = refused(lambda: api.add(admin, world.code, {"campaign_id": unknown}), "campaign_id")
    assert refusal == {"unknown_campaign"}


def test_a_tag_as_long_as_the_column_is_stored_and_a_longer_one_refused_on_postgresql(
    pg_url: str, templates: Templates, tmp_path: Path
) -> None:
    """PostgreSQL refuses a tag longer than its column on insert: the rule refuses it
    first, on the API and the importer, and takes the longest tag there is room for."""
    templates.fill(pg_url, add_team)
    team = open_team(pg_url)
    try:
        admin = team.admin
        longest, longer = "长" * TAG_LIMIT, "长" * (TAG_LIMIT + 1)
        assert admin.customers.add(**company(), tags=[longest]).tags == (longest,)
        with pytest.raises(ValidationError) as error:
            admin.customers.add(**company(), tags=["重点跟进", longer])
        assert [problem.rule for problem in error.value.errors] == ["tag_too_long"]
        path = tmp_path / "customers.csv"
        rows = [{**company(), "tags": tags} for tags in (f"华南, {longest}", f"华南, {longer}")]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        result = admin.import_file("customers", path, output_dir=tmp_path / "out")
        assert (result.created, result.rejected) == (1, 1)
        assert result.rejects_path is not None
        assert "[tag_too_long]" in result.rejects_path.read_text(encoding="utf-8-sig")
    finally:
        team.close()
