"""Demo data: complete, consistent, deterministic, with the noise it promises, on both
databases."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from sqlalchemy import Engine, func, inspect, select, text

import crmlib
from crmlib import Conflict, clock
from crmlib.demo import generate, injected_duplicates, period
from crmlib.demo.places import TEAMS
from crmlib.demo.timeline import SPRING_FESTIVAL, Timeline, add_months
from crmlib.i18n import speaking
from crmlib.reference.enums import ENUMS, STAGE
from crmlib.reference.regions import region_of
from crmlib.settings import DEFAULTS
from crmlib.store import make_engine
from crmlib.store.codes import format_code
from crmlib.store.models import Base, CodeSequence, Customer
from tests.factories import company, generated_demo
from tests.templates import Templates

demo_generate = sys.modules["crmlib.demo.generate"]  # the module; the package exports the function
CUSTOMERS = 300
SEED = 7
START, AS_OF = period()
TABLES = {
    "users",
    "campaigns",
    "customers",
    "customer_tags",
    "contacts",
    "opportunities",
    "opportunity_stage_history",
    "orders",
    "interactions",
    "tickets",
    "ticket_events",
    "feedback",
    "leads",
    "campaign_members",
    "code_sequences",
    "kb_articles",
    "ticket_articles",
    "comments",
    "tasks",
}
CODE = re.compile(r"^C(?P<day>\d{8})(?P<number>\d{3,})$")
LEGAL_FORMS = re.compile(r"(集团)?(股份|科技)?有限(责任)?公司$|Co\.,Ltd\.$")


@dataclass
class Demo:
    url: str
    engine: Engine
    counts: dict[str, int]

    def table(self, name: str) -> pd.DataFrame:
        """The whole table, with SQLAlchemy's types (datetimes, Decimals) on both databases."""
        with self.engine.connect() as conn:
            return pd.read_sql(select(Base.metadata.tables[name]), conn)


@pytest.fixture
def demo(db_url: str, templates: Templates) -> Iterator[Demo]:
    counts = templates.fill(db_url, partial(generated_demo, customers=CUSTOMERS, seed=SEED))
    engine = make_engine(db_url)
    yield Demo(db_url, engine, counts)
    engine.dispose()


def _money(values: pd.Series) -> pd.Series:
    return values.map(lambda v: float(v) if isinstance(v, Decimal) else v)


# ---------------------------------------------------------------- completeness


def test_fills_every_table_and_logs_one_audit_event(demo: Demo) -> None:
    assert set(demo.counts) == TABLES
    assert all(n > 0 for n in demo.counts.values()), demo.counts
    with demo.engine.connect() as conn:
        for name, n in demo.counts.items():
            table = Base.metadata.tables[name]
            assert conn.execute(select(func.count()).select_from(table)).scalar() == n
    audit = demo.table("audit_events")
    assert len(audit) == 1
    event = audit.iloc[0]
    assert (event.actor, event.action, event.entity) == ("system", "demo", "database")
    assert json.loads(event.new_value) == demo.counts


def test_staff_covers_every_role_with_pinyin_logins(demo: Demo) -> None:
    users = demo.table("users")
    assert users.username.is_unique
    roles = users.role.value_counts()
    assert roles["admin"] == 1 and 2 <= roles["manager"] <= 3
    assert roles["sales"] == max(4, round(CUSTOMERS / 250))
    assert roles["service"] >= 3 and {"marketing", "finance", "analyst"} <= set(roles.index)
    staff = users[users.role != "admin"]
    assert staff.username.str.fullmatch(r"[a-z]+\.[a-z]+\d*").all()
    assert set(users[users.role == "sales"].team) <= set(TEAMS.values())


def test_enumerated_columns_hold_their_codes(demo: Demo) -> None:
    columns = {
        "users": {"role": "role"},
        "customers": {
            "kind": "kind",
            "size": "size",
            "status": "status",
            "source": "source",
            "grade": "grade",
        },
        "leads": {"status": "lead_status", "source": "source", "value_tier": "value_tier"},
        "opportunities": {"stage": "stage"},
        "opportunity_stage_history": {"stage": "stage"},
        "interactions": {"channel": "channel"},
        "campaigns": {"channel": "campaign_channel"},
        "campaign_members": {"status": "member_status"},
        "tickets": {"type": "ticket_type", "priority": "priority", "status": "ticket_status"},
        "ticket_events": {"kind": "ticket_event"},
        "feedback": {"kind": "feedback_kind"},
    }
    for table, enums in columns.items():
        frame = demo.table(table)
        for column, name in enums.items():
            assert set(frame[column].dropna()) <= set(ENUMS[name].codes), (table, column)


# ---------------------------------------------------------------- customers


def test_customers_are_consistent(demo: Demo) -> None:
    customers = demo.table("customers")
    assert customers.code.is_unique
    parts = customers.code.str.extract(CODE)
    assert parts.notna().all().all()
    assert (parts.day == customers.created_at.dt.strftime("%Y%m%d")).all()
    # Numbers count up by creation time within each day, from 1.
    numbered = customers.assign(day=parts.day, number=parts.number.astype(int))
    numbered = numbered.sort_values("created_at")
    assert (numbered.groupby("day").cumcount() + 1 == numbered.number).all()
    last = numbered.groupby("day").number.max().rename(lambda d: f"C{d}").sort_index()
    sequences = demo.table("code_sequences").set_index("prefix").last_value.sort_index()
    assert last.to_dict() == sequences[sequences.index.str.startswith("C")].to_dict()

    assert customers.created_at.min() >= datetime.combine(START, datetime.min.time())
    assert customers.created_at.max() < datetime.combine(AS_OF, datetime.min.time())
    located = customers.province.notna()
    assert (customers[located].province.map(region_of) == customers[located].region).all()
    assert customers[~located].region.isna().all()
    assert 0.78 <= (customers.kind == "company").mean() <= 0.92
    persons = customers.kind == "person"
    assert customers[persons].birthday.notna().all() and customers[~persons].birthday.isna().all()
    assert customers[~persons].industry_section.notna().mean() > 0.9

    users = demo.table("users").set_index("id")
    assert (users.loc[customers.owner_id, "role"] == "sales").all()


def test_status_grade_and_last_contact_follow_the_history(demo: Demo) -> None:
    customers = demo.table("customers").set_index("id")
    orders = demo.table("orders")
    buyers = set(orders.customer_id)
    assert (customers.index.isin(buyers) == (customers.status == "active")).all()

    since = pd.Timestamp(add_months(AS_OF, -12))
    recent = orders[pd.to_datetime(orders.ordered_at) >= since]
    spend = _money(recent.amount).groupby(recent.customer_id).sum().round(2)
    spend = spend.reindex(customers.index, fill_value=0)
    limits = DEFAULTS["grade_thresholds"]
    expected = np.select([spend >= limits["A"], spend >= limits["B"]], ["A", "B"], "C")
    assert (customers.grade == expected).all()
    assert {"A", "B", "C"} <= set(customers.grade)

    last = demo.table("interactions").groupby("customer_id").occurred_at.max()
    contacted = customers.last_contact_at.dropna()
    assert set(contacted.index) == set(last.index)
    assert (contacted == last.reindex(contacted.index)).all()


def test_contacts_have_one_main_contact_and_valid_phones(demo: Demo) -> None:
    contacts = demo.table("contacts")
    assert (contacts.groupby("customer_id").is_primary.sum() == 1).all()
    assert contacts.customer_id.nunique() == CUSTOMERS
    assert contacts.phone.notna().all()
    e164 = contacts.phone.str.startswith("+86")
    for phone in contacts[e164].phone:
        parsed = phonenumbers.parse(phone, None)
        assert phonenumbers.is_valid_number(parsed), phone
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == phone
    landlines = contacts[e164 & ~contacts.phone.str.match(r"^\+861[3-9]")]
    assert len(landlines) > 0
    for phone in contacts[~e164].phone:  # the injected ones
        assert not phonenumbers.is_valid_number(phonenumbers.parse(phone, "CN")), phone


# ---------------------------------------------------------------- sales, service, marketing


def test_stage_history_is_ordered_and_matches_the_deals(demo: Demo) -> None:
    deals = demo.table("opportunities").set_index("id")
    history = demo.table("opportunity_stage_history").sort_values("id")
    order = {code: i for i, code in enumerate(STAGE.codes)}
    probability = DEFAULTS["stage_probability"]
    for deal_id, rows in history.groupby("opportunity_id"):
        deal = deals.loc[deal_id]
        stages = list(rows.stage)
        assert stages[0] == "contact" and rows.entered_at.iloc[0] == deal.created_at
        assert [order[s] for s in stages[:-1]] == list(range(len(stages) - 1))
        assert rows.entered_at.is_monotonic_increasing and rows.entered_at.is_unique
        assert (rows.left_at.iloc[:-1].to_numpy() == rows.entered_at.iloc[1:].to_numpy()).all()
        assert pd.isna(rows.left_at.iloc[-1])
        assert deal.stage == stages[-1] and deal.probability == probability[deal.stage]
        if deal.stage in ("won", "lost"):
            assert deal.closed_at == rows.entered_at.iloc[-1]
        else:
            assert pd.isna(deal.closed_at)
        assert pd.notna(deal.loss_reason) == (deal.stage == "lost")
    assert {"won", "lost"} <= set(deals.stage)


def test_tickets_follow_their_slas_and_events(demo: Demo) -> None:
    tickets = demo.table("tickets")
    hours = {"high": (24, 72), "medium": (48, 120), "low": (72, 240)}
    due = tickets.priority.map(lambda p: timedelta(hours=hours[p][0]))
    assert (tickets.first_response_due - tickets.opened_at == due).all()
    breached = tickets.first_response_at > tickets.first_response_due
    assert 0 < breached.mean() < 0.3
    assert (tickets.status == "open").eq(tickets.first_response_at.isna()).all()
    assert (tickets.status == "closed").eq(tickets.closed_at.notna()).all()

    events = demo.table("ticket_events").sort_values("id")
    assert events.groupby("ticket_id").occurred_at.apply(lambda s: s.is_monotonic_increasing).all()
    assert set(events.kind) <= {"status", "transfer", "comment", "response"}
    closed = set(tickets[tickets.status == "closed"].id)
    assert closed == set(events[events.to_value == "closed"].ticket_id)

    feedback = demo.table("feedback")
    csat, nps = feedback[feedback.kind == "csat"], feedback[feedback.kind == "nps"]
    assert csat.score.between(1, 5).all() and nps.score.between(0, 10).all()
    assert set(csat.ticket_id) <= closed and nps.ticket_id.isna().all()

    routed = tickets.type.map(lambda kind: DEFAULTS["ticket_routing"].get(kind, "service"))
    assert (tickets.team == routed).all()
    users = demo.table("users").set_index("id")
    assert (users.team[tickets.assignee_id].to_numpy() == tickets.team.to_numpy()).all()
    moves = events[events.kind == "status"]
    reopened = moves[(moves.from_value == "resolved") & (moves.to_value == "in_progress")]
    assert 0 < reopened.ticket_id.nunique() < 0.15 * len(tickets)
    assert set(reopened.ticket_id) <= set(tickets[tickets.status.isin(["resolved", "closed"])].id)
    transfers = events[events.kind == "transfer"]
    assert transfers.to_value.str.fullmatch(r"(service|support)/[a-z.0-9]+").all()

    articles, links = demo.table("kb_articles"), demo.table("ticket_articles")
    assert len(articles) >= 8 and set(links.article_id) <= set(articles.id)
    assert set(links.ticket_id) <= set(tickets[tickets.status != "open"].id)
    assert links.set_index("ticket_id").index.is_unique


def test_leads_and_campaigns_are_linked(demo: Demo) -> None:
    campaigns = demo.table("campaigns")
    assert 10 <= len(campaigns) <= 20
    assert (campaigns.start_date <= campaigns.end_date).all()
    leads = demo.table("leads")
    converted = leads.status == "converted"
    assert leads[converted][["customer_id", "converted_at"]].notna().all().all()
    assert leads[~converted].customer_id.isna().all()
    assert (leads.invalid_reason.notna() == (leads.status == "invalid")).all()
    assert set(leads.source) >= {"website", "exhibition", "phone", "referral", "campaign", "social"}
    assert leads.campaign_id.notna().any()
    members = demo.table("campaign_members")
    assert set(members.status) == {"sent", "responded", "converted"}
    assert (members.customer_id.notna() | members.lead_id.notna()).all()
    assert demo.table("orders").campaign_id.notna().any()


# ---------------------------------------------------------------- noise


def _core(name: str) -> str:
    """A name without the differences the duplicates are made of."""
    folded = "".join(unicodedata.normalize("NFKC", name).split())
    return LEGAL_FORMS.sub("", folded)


def test_injected_duplicates_and_invalid_fields_are_measured(demo: Demo) -> None:
    pairs = injected_duplicates(CUSTOMERS, SEED)
    assert pairs == injected_duplicates(CUSTOMERS, SEED)
    assert len(pairs) == round(CUSTOMERS * 0.02)
    customers = demo.table("customers")
    by_code = customers.set_index("code")
    for original, copy in pairs:
        a, b = by_code.loc[original], by_code.loc[copy]
        assert a.created_at < b.created_at
        assert (a.kind, a.city) == (b.kind, b.city)
        one, other = _core(str(a["name"])), _core(str(b["name"]))
        assert one in other or other in one

    contacts = demo.table("contacts")
    main = contacts[contacts.is_primary].set_index("customer_id").reindex(customers.id)
    invalid = (
        ~main.phone.str.startswith("+").to_numpy()
        | (main.email.notna() & ~main.email.str.contains("@", na=True)).to_numpy()
        | ((customers.kind == "company") & customers.industry_section.isna()).to_numpy()
        | customers.province.isna().to_numpy()
    )
    assert abs(invalid.mean() - 0.03) <= 0.01


# ---------------------------------------------------------------- determinism and safety


def _dump(engine: Engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {name: pd.read_sql(select(Base.metadata.tables[name]), conn) for name in TABLES}


def test_same_arguments_give_the_same_data(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a", SEED), ("b", SEED), ("c", SEED + 1)):
        engine = make_engine(f"sqlite:///{tmp_path}/{name}.db")
        generate(engine, customers=CUSTOMERS, seed=seed)
        dumps.append(_dump(engine))
        engine.dispose()
    first, again, other = dumps
    for name in TABLES:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["customers"].equals(other["customers"])


@pytest.mark.slow
def test_a_helper_process_writes_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large SQLite loads share the work with a second process: same rows, same files."""
    make_recipe = demo_generate._recipe
    monkeypatch.setattr(  # three chunks, so that the helper starts
        demo_generate, "_recipe", lambda *args: replace(make_recipe(*args), chunk=100)
    )
    started = []
    helper = demo_generate.Helper

    def spy(*args: Any) -> Any:
        started.append(args)
        return helper(*args)

    monkeypatch.setattr(demo_generate, "Helper", spy)
    dumps = []
    for name, helped in (("helped", True), ("alone", False)):
        if not helped:
            monkeypatch.setattr(demo_generate, "can_help", lambda conn, recipe: False)
        engine = make_engine(f"sqlite:///{tmp_path}/{name}.db")
        generate(engine, customers=CUSTOMERS, seed=SEED)
        dumps.append(_dump(engine))
        engine.dispose()
    assert len(started) == 1
    for name in TABLES:
        pd.testing.assert_frame_equal(dumps[0][name], dumps[1][name])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.db", "helped.db"]


def test_customers_added_after_the_demo_continue_the_codes(db_url: str) -> None:
    today = clock.today()
    start = add_months(today.replace(day=1), -12)  # so that today is inside the span
    engine = make_engine(db_url)
    generate(engine, customers=1500, seed=SEED, start=start)
    with engine.connect() as conn:
        issued = conn.execute(
            select(CodeSequence.last_value).where(CodeSequence.prefix == f"C{today:%Y%m%d}")
        ).scalar()
    engine.dispose()
    with crmlib.open(db_url, user="admin") as ws:
        added = ws.customers.add(**company())
        again = ws.customers.add(**company())
    assert added.code == format_code("C", today, (issued or 0) + 1)
    assert again.code == format_code("C", today, (issued or 0) + 2)


def test_keeps_existing_users_and_refuses_a_second_load(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with crmlib.open(sqlite_url, user="admin") as ws:
        ws.users.add("zhang.wei", role="sales", team="east")
    engine = make_engine(sqlite_url)
    counts = generate(engine, customers=50, seed=SEED, progress=True)
    assert "demo data" in capsys.readouterr().err
    with engine.connect() as conn:
        usernames = list(conn.execute(text("SELECT username FROM users")).scalars())
        assert len(usernames) == len(set(usernames)) == counts["users"] + 2
        with speaking("en"), pytest.raises(Conflict, match="already has customers"):
            generate(engine, customers=50, seed=SEED)
        assert conn.execute(select(func.count()).select_from(Customer)).scalar() == 50
    engine.dispose()


def test_load_creates_the_schema_and_keeps_its_indexes(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)  # an empty database: generate creates the schema
    generate(engine, customers=CUSTOMERS, seed=SEED)
    with engine.connect() as conn:
        found = inspect(conn)
        for table in Base.metadata.sorted_tables:
            expected = {str(index.name) for index in table.indexes}
            assert expected <= {i["name"] for i in found.get_indexes(table.name)}, table.name
        if conn.dialect.name == "sqlite":  # the load skipped the per-row checks
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


# ---------------------------------------------------------------- the time line


def test_period_and_seasonality() -> None:
    assert period() == (date(2024, 1, 1), date(2026, 1, 1))
    assert period(date(2024, 1, 31)) == (date(2024, 1, 31), date(2026, 1, 31))
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    days = Timeline.of().activity.sample(np.random.default_rng(SEED), 200_000)

    def week(first: date) -> int:
        offset = (first - START).days
        return int(((days >= offset) & (days < offset + 7)).sum())

    festival = SPRING_FESTIVAL[2024]  # a Saturday: the following week is the holiday
    assert week(festival + timedelta(days=2)) < week(date(2024, 3, 11)) / 2
    assert week(date(2024, 3, 11)) < week(date(2024, 12, 9))
