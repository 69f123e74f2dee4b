"""Service tickets: opened under a customer, routed to a team, worked against SLA clocks.

A ticket walks ``open → in_progress → resolved → closed``; a resolved or closed ticket can
be reopened (back to ``in_progress``). Each step is a verb of :class:`Tickets` (``start``,
``respond``, ``resolve``, ``close``, ``reopen``) that checks the move against
:data:`TICKET_FLOW` and writes a ``ticket_events`` row, next to the field-level audit
that every ORM change gets anyway.

Who does what: roles with ``edit_tickets`` (service, manager, admin) work tickets. A sales
rep may open a ticket for, and comment on, the customers they see — the rep is often the
one the customer calls — but the service team takes it from there.

SLA: due times come from :class:`~crmlib.domain.service.sla.SlaClock` (settings ``sla_policy``,
``business_hours``) when a ticket opens and again when its priority changes. The first
response is recorded by :meth:`Tickets.respond` only (starting work is not a response);
a ticket resolved without one counts as answered when it was resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import ROLES
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...missing import is_missing
from ...reference.enums import PRIORITY, TICKET_STATUS, TICKET_TYPE
from ...rules import datetime_value, enum_of, identifier, text, validate
from ...settings import get_setting
from ...store.models import Customer, Ticket, TicketEvent, User
from ..customers.custom_fields import add_columns, entered, values_of
from ..flows import Flow
from ..reach import customer_by_code, reach
from ..team.users import find_user
from .feedback import clean_comment, record_answer, score
from .sla import PENDING, SLA_STATES, SlaClock

TICKET_FLOW = Flow.of(
    "ticket_status_flow",
    "status",
    TICKET_STATUS,
    {
        "open": {"in_progress"},
        "in_progress": {"resolved"},
        "resolved": {"closed", "in_progress"},
        "closed": {"in_progress"},
    },
)
OPEN_RULES = {
    "type": enum_of(TICKET_TYPE),
    "priority": enum_of(PRIORITY),
    "subject": text(300),
    "description": text(4000),
    "team": identifier(64),
    "assignee": identifier(64),
    "opened_at": datetime_value,
}
EDITABLE = ("type", "priority", "subject", "description")
NOTE = text(4000)
FILTERS = ("status", "type", "priority", "team", "assignee", "customer_code")


def route(routing: Mapping[str, str], ticket_type: str) -> str | None:
    """The team a new ticket of ``ticket_type`` goes to (setting ``ticket_routing``)."""
    return routing.get(ticket_type)


def holder(team: str | None, assignee: str | None) -> str | None:
    """Who holds a ticket, as transfer events record it: ``team/assignee``."""
    return "/".join(part for part in (team, assignee) if part) or None


class Tickets:
    """Open, work and list the tickets of the customers one may see."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- opening and editing --------------------------------------------------------------

    @localised
    def open(
        self,
        customer_code: str,
        *,
        type: str,
        subject: str,
        priority: str = "medium",
        description: str | None = None,
        team: str | None = None,
        assignee: str | None = None,
        opened_at: datetime | str | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Open a ticket; it goes to ``team``, else the team ``ticket_routing`` names for its
        type, and gets its SLA due times. ``opened_at`` (default now) logs a call that came
        in earlier. Sales reps may open tickets for their own customers but not route them.
        ``custom`` gives custom fields by key or name, as for customers."""
        role = self._ctx.actor.role
        self._ctx.scope.require(role.edit_tickets or role.edit_customers, "open tickets")
        if team is not None or assignee is not None:
            self._require_work("assign tickets")
        values = {
            "type": type,
            "priority": priority,
            "subject": subject,
            "description": description,
            "team": team,
            "assignee": assignee,
            "opened_at": opened_at,
        }
        clean, errors = validate(OPEN_RULES, values)
        errors += [
            FieldError(name, values[name], "required", t("required"))
            for name in ("type", "priority", "subject")
            if clean.get(name) is None and not any(e.field == name for e in errors)
        ]
        now = clock.now()
        if clean.get("opened_at") is not None and clean["opened_at"] > now:
            errors.append(
                FieldError("opened_at", opened_at, "not_in_future", t("tickets:opened_future"))
            )
        with self._ctx.reading() as conn:
            extra = entered(conn, "tickets", custom)
        errors += extra.errors
        if errors:
            raise ValidationError(errors)
        with self._ctx.session(action="create") as session:
            customer = customer_by_code(session, self._ctx, customer_code)
            worker = self._assignee(session, clean["assignee"]) if clean["assignee"] else None
            ticket = Ticket(
                customer_id=customer.id,
                type=clean["type"],
                priority=clean["priority"],
                status="open",
                subject=clean["subject"],
                description=clean["description"],
                team=clean["team"]
                or route(get_setting(session, "ticket_routing"), clean["type"])
                or (worker.team if worker else None),
                assignee_id=worker.id if worker else None,
                opened_at=clean["opened_at"] or now,
            )
            ticket.first_response_due, ticket.resolution_due = SlaClock.load(session).due(
                ticket.opened_at, ticket.priority
            )
            session.add(ticket)
            session.flush()
            extra.save(session, ticket.id, actor=self._ctx.actor.username)
            return self._as_dict(session, ticket, now)

    @localised
    def get(self, ticket_id: int) -> dict[str, Any]:
        """One ticket with its customer, assignee, SLA state and reopen count."""
        with self._ctx.session() as session:
            return self._as_dict(session, self._load(session, ticket_id), clock.now())

    @localised
    def update(
        self, ticket_id: int, *, custom: Mapping[str, Any] | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change the type, priority, subject or description, and ``custom`` fields by key
        or name (None clears one); a new priority moves the due times. The status changes
        only through the verbs (start, resolve, …)."""
        self._require_work("change tickets")
        errors = [
            FieldError(k, v, "unknown_field", t("unknown_field", entity="tickets"))
            for k, v in changes.items()
            if k not in EDITABLE
        ]
        clean, rule_errors = validate(
            OPEN_RULES, {k: v for k, v in changes.items() if k in EDITABLE}
        )
        errors += rule_errors + [
            FieldError(k, changes[k], "required", t("required"))
            for k in ("type", "priority", "subject")
            if k in clean and clean[k] is None
        ]
        with self._ctx.reading() as conn:
            extra = entered(conn, "tickets", custom)
        errors += extra.errors
        if errors:
            raise ValidationError(errors)
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            for key, value in clean.items():
                setattr(ticket, key, value)
            if "priority" in clean:
                ticket.first_response_due, ticket.resolution_due = SlaClock.load(session).due(
                    ticket.opened_at, ticket.priority
                )
            session.flush()
            extra.save(session, ticket.id, actor=self._ctx.actor.username)
            return self._as_dict(session, ticket, clock.now())

    # -- working a ticket -----------------------------------------------------------------

    @localised
    def take(self, ticket_id: int) -> dict[str, Any]:
        """Assign the ticket to the acting agent (a ``transfer`` event)."""
        self._require_work("take tickets")
        with self._ctx.session() as session:
            me = find_user(session, self._ctx.actor.username)
            ticket = self._load(session, ticket_id)
            self._hand_over(session, ticket, ticket.team or me.team, me, None)
            return self._as_dict(session, ticket, clock.now())

    @localised
    def transfer(
        self,
        ticket_id: int,
        *,
        team: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Hand the ticket to another team's queue (unassigned) or to an agent (who brings
        their team unless ``team`` is given); records a ``transfer`` event with the note."""
        self._require_work("transfer tickets")
        clean, errors = validate(
            {"team": identifier(64), "assignee": identifier(64), "note": NOTE},
            {"team": team, "assignee": assignee, "note": note},
        )
        if errors:
            raise ValidationError(errors)
        if clean["team"] is None and clean["assignee"] is None:
            raise ValidationError(
                FieldError("team", None, "ticket_transfer_target", t("tickets:transfer_target"))
            )
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            worker = self._assignee(session, clean["assignee"]) if clean["assignee"] else None
            new_team = clean["team"] or (worker.team if worker else None) or ticket.team
            self._hand_over(session, ticket, new_team, worker, clean["note"])
            return self._as_dict(session, ticket, clock.now())

    @localised
    def start(self, ticket_id: int) -> dict[str, Any]:
        """Begin work: ``open → in_progress`` (not a first response; see :meth:`respond`).
        An unassigned ticket goes to the agent who starts it."""
        self._require_work("work on tickets")
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            self._move(session, ticket, "in_progress", ("open",))
            self._claim(session, ticket)
            return self._as_dict(session, ticket, clock.now())

    @localised
    def respond(self, ticket_id: int, text: str) -> dict[str, Any]:
        """Record the first response to the customer (once; later replies are comments).

        An open ticket moves to ``in_progress`` and an unassigned one goes to the agent.
        """
        self._require_work("respond to tickets")
        message = self._text("text", text)
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            if ticket.first_response_at is not None:
                raise ValidationError(
                    FieldError(
                        "first_response_at",
                        ticket.first_response_at,
                        "ticket_first_response_once",
                        t("tickets:responded", at=f"{ticket.first_response_at:%Y-%m-%d %H:%M}"),
                    )
                )
            self._expect(ticket, PENDING, "ticket_response_open")
            now = clock.now()
            ticket.first_response_at = now
            self._event(session, ticket, "response", note=message)
            if ticket.status == "open":
                self._move(session, ticket, "in_progress", ("open",))
            self._claim(session, ticket)
            return self._as_dict(session, ticket, now)

    @localised
    def comment(self, ticket_id: int, text: str) -> dict[str, Any]:
        """Add a note to the ticket's events (anyone who may open tickets for its customer)."""
        role = self._ctx.actor.role
        self._ctx.scope.require(role.edit_tickets or role.edit_customers, "comment on tickets")
        message = self._text("text", text)
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            self._event(session, ticket, "comment", note=message)
            return self._as_dict(session, ticket, clock.now())

    @localised
    def resolve(self, ticket_id: int, resolution: str) -> dict[str, Any]:
        """``in_progress → resolved`` with the resolution text (rule
        ``ticket_resolution_required``)."""
        self._require_work("resolve tickets")
        clean, errors = validate({"resolution": text(4000)}, {"resolution": resolution})
        if errors:
            raise ValidationError(errors)
        if clean["resolution"] is None:
            raise ValidationError(
                FieldError(
                    "resolution",
                    resolution,
                    "ticket_resolution_required",
                    t("tickets:resolution_required"),
                )
            )
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            self._move(session, ticket, "resolved", ("in_progress",))
            now = clock.now()
            ticket.resolution = clean["resolution"]
            ticket.resolved_at = now
            return self._as_dict(session, ticket, now)

    @localised
    def close(
        self, ticket_id: int, *, csat: int | None, comment: str | None = None
    ) -> dict[str, Any]:
        """``resolved → closed`` once the customer confirms, with their CSAT score (1-5,
        rule ``csat_score``) and comment, recorded as ``feedback``.

        ``csat`` must be given: ``None`` states that the customer did not answer the
        survey, so no feedback row is written (and a comment without a score is refused).
        """
        self._require_work("close tickets")
        if csat is None:
            if clean_comment(comment) is not None:
                raise ValidationError(
                    FieldError(
                        "comment", comment, "csat_score", t("feedback:comment_without_score")
                    )
                )
        else:
            score("csat", csat)
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            self._move(session, ticket, "closed", ("resolved",))
            now = clock.now()
            ticket.closed_at = now
            if csat is not None:
                record_answer(session, "csat", ticket.customer_id, csat, comment, ticket.id)
            return self._as_dict(session, ticket, now)

    @localised
    def reopen(self, ticket_id: int, reason: str | None = None) -> dict[str, Any]:
        """``resolved``/``closed`` → ``in_progress``: the problem is back. The resolution
        clock runs again against the original due time; reopens are counted in
        :meth:`frame`."""
        self._require_work("reopen tickets")
        note = self._optional_text("reason", reason)
        with self._ctx.session() as session:
            ticket = self._load(session, ticket_id)
            self._move(session, ticket, "in_progress", ("resolved", "closed"), note)
            ticket.resolved_at = None
            ticket.closed_at = None
            return self._as_dict(session, ticket, clock.now())

    # -- lists ----------------------------------------------------------------------------

    @localised
    def frame(self, **filters: Any) -> pd.DataFrame:
        """The visible tickets, oldest first, with ``sla_state`` (ok / at_risk / breached)
        and ``reopens``. Filters: status, type, priority, team, assignee, customer_code,
        each a value or a list of values."""
        unknown = [k for k in filters if k not in FILTERS]
        if unknown:
            raise ValidationError(
                [
                    FieldError(k, filters[k], "unknown_field", t("unknown_field", entity="tickets"))
                    for k in unknown
                ]
            )
        assignee = aliased(User)
        reopens = (
            select(TicketEvent.ticket_id, func.count().label("reopens"))
            .where(
                TicketEvent.kind == "status",
                TicketEvent.to_value == "in_progress",
                TicketEvent.from_value.in_(("resolved", "closed")),
            )
            .group_by(TicketEvent.ticket_id)
            .subquery()
        )
        columns = {
            "status": Ticket.status,
            "type": Ticket.type,
            "priority": Ticket.priority,
            "team": Ticket.team,
            "assignee": assignee.username,
            "customer_code": Customer.code,
        }
        stmt = (
            select(
                Ticket.id,
                Customer.code.label("customer_code"),
                Customer.name.label("customer_name"),
                Ticket.type,
                Ticket.priority,
                Ticket.status,
                Ticket.subject,
                Ticket.team,
                assignee.username.label("assignee"),
                Ticket.opened_at,
                Ticket.first_response_due,
                Ticket.first_response_at,
                Ticket.resolution_due,
                Ticket.resolved_at,
                Ticket.closed_at,
                func.coalesce(reopens.c.reopens, 0).label("reopens"),
            )
            .join(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(assignee, assignee.id == Ticket.assignee_id)
            .outerjoin(reopens, reopens.c.ticket_id == Ticket.id)
            .where(self._ctx.scope.customer_filter(), *self._filters(columns, filters))
            .order_by(Ticket.opened_at, Ticket.id)
        )
        df = self._ctx.frame(stmt)
        with self._ctx.reading() as conn:
            sla = SlaClock.load(conn)
            add_columns(conn, df, "tickets", df["id"].tolist())
        df.insert(
            list(df.columns).index("resolved_at") + 1, "sla_state", sla_states(df, sla, clock.now())
        )
        return df

    def at_risk(self, **filters: Any) -> pd.DataFrame:
        """Open and in-progress tickets, not yet breached, that have used more than
        ``sla_at_risk_share`` of an allowance, most urgent first."""
        df = self.frame(**filters)
        risky = df[df.sla_state == "at_risk"]
        due = risky.first_response_due.where(risky.first_response_at.isna(), risky.resolution_due)
        return risky.assign(next_due=due).sort_values(["next_due", "id"]).reset_index(drop=True)

    def breached(self, **filters: Any) -> pd.DataFrame:
        """Tickets whose first response or resolution came later than due, or is overdue."""
        df = self.frame(**filters)
        return df[df.sla_state == "breached"].reset_index(drop=True)

    @localised
    def events(self, ticket_id: int) -> pd.DataFrame:
        """The ticket's events (status, transfer, response, comment), oldest first."""
        with self._ctx.session() as session:
            self._load(session, ticket_id)
        actor = aliased(User)
        stmt = (
            select(
                TicketEvent.occurred_at,
                TicketEvent.kind,
                TicketEvent.from_value,
                TicketEvent.to_value,
                TicketEvent.note,
                actor.username.label("actor"),
            )
            .outerjoin(actor, actor.id == TicketEvent.actor_id)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.occurred_at, TicketEvent.id)
        )
        return self._ctx.frame(stmt)

    # -- helpers --------------------------------------------------------------------------

    def _require_work(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_tickets, action)

    def _load(self, session: Session, ticket_id: int) -> Ticket:
        ticket: Ticket = reach(
            session, self._ctx, select(Ticket).where(Ticket.id == ticket_id), f"ticket #{ticket_id}"
        )
        return ticket

    def _assignee(self, session: Session, username: str) -> User:
        user = find_user(session, username)
        if not ROLES[user.role].edit_tickets:
            raise ValidationError(
                FieldError(
                    "assignee",
                    username,
                    "ticket_assignee_role",
                    t("tickets:assignee_role", user=username, role=user.role),
                )
            )
        return user

    def _text(self, field: str, value: Any) -> str:
        clean = self._optional_text(field, value)
        if clean is None:
            raise ValidationError(FieldError(field, value, "required", t("tickets:text_required")))
        return clean

    def _optional_text(self, field: str, value: Any) -> str | None:
        clean, errors = validate({field: NOTE}, {field: value})
        if errors:
            raise ValidationError(errors)
        result: str | None = clean[field]
        return result

    def _expect(self, ticket: Ticket, statuses: Iterable[str], rule: str) -> None:
        allowed = tuple(statuses)
        if ticket.status not in allowed:
            lang = self._ctx.lang
            raise ValidationError(
                FieldError(
                    "status",
                    ticket.status,
                    rule,
                    t(
                        "tickets:wrong_step",
                        current=TICKET_STATUS.label(ticket.status, lang),
                        expected=", ".join(TICKET_STATUS.label(s, lang) for s in allowed),
                    ),
                )
            )

    def _move(
        self,
        session: Session,
        ticket: Ticket,
        target: str,
        sources: tuple[str, ...],
        note: str | None = None,
    ) -> None:
        """Check ``status → target`` against the flow and that this verb starts from one of
        ``sources`` (both rule ``ticket_status_flow``), then move and record the event."""
        if ticket.status != target:
            TICKET_FLOW.check(ticket.status, target)
        self._expect(ticket, sources, TICKET_FLOW.rule)
        before = ticket.status
        ticket.status = target
        self._event(session, ticket, "status", before, target, note)

    def _hand_over(
        self,
        session: Session,
        ticket: Ticket,
        team: str | None,
        worker: User | None,
        note: str | None,
    ) -> None:
        self._expect(ticket, PENDING, "ticket_transfer_open")
        current = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        before = holder(ticket.team, current.username if current else None)
        after = holder(team, worker.username if worker else None)
        ticket.team = team
        ticket.assignee_id = worker.id if worker else None
        if before != after:
            self._event(session, ticket, "transfer", before, after, note)

    def _claim(self, session: Session, ticket: Ticket) -> None:
        """An unassigned ticket goes to the agent who works on it."""
        if ticket.assignee_id is None:
            me = find_user(session, self._ctx.actor.username)
            self._hand_over(session, ticket, ticket.team or me.team, me, None)

    def _event(
        self,
        session: Session,
        ticket: Ticket,
        kind: str,
        before: str | None = None,
        after: str | None = None,
        note: str | None = None,
    ) -> None:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=kind,
                from_value=before,
                to_value=after,
                note=note,
                actor_id=self._ctx.actor.id,
                occurred_at=clock.now(),
            )
        )

    @staticmethod
    def _filters(
        columns: Mapping[str, Any], filters: Mapping[str, Any]
    ) -> list[ColumnElement[bool]]:
        criteria: list[ColumnElement[bool]] = []
        for name, value in filters.items():
            if value is None:
                continue
            values = [value] if isinstance(value, str) else list(value)
            criteria.append(columns[name].in_(values))
        return criteria

    def _as_dict(self, session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
        session.flush()
        values = {c.name: getattr(ticket, c.name) for c in Ticket.__table__.columns}
        customer = session.get(Customer, ticket.customer_id)
        assert customer is not None
        worker = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        values.pop("customer_id")
        values.pop("assignee_id")
        reopens = session.execute(
            select(func.count()).where(
                and_(
                    TicketEvent.ticket_id == ticket.id,
                    TicketEvent.kind == "status",
                    TicketEvent.to_value == "in_progress",
                    TicketEvent.from_value.in_(("resolved", "closed")),
                )
            )
        ).scalar_one()
        values.update(
            customer_code=customer.code,
            customer_name=customer.name,
            assignee=worker.username if worker else None,
            reopens=reopens,
            sla_state=SlaClock.load(session).state(
                status=ticket.status,
                opened_at=ticket.opened_at,
                first_response_due=ticket.first_response_due,
                resolution_due=ticket.resolution_due,
                first_response_at=ticket.first_response_at,
                resolved_at=ticket.resolved_at,
                now=now,
            ),
            custom=values_of(session, "tickets", ticket.id),
        )
        return values


def sla_states(df: pd.DataFrame, sla: SlaClock, now: datetime) -> pd.Series:
    """The SLA state of each ticket row of ``df`` (the columns of :meth:`Tickets.frame`);
    the one function behind the queue's colours, :meth:`Tickets.at_risk` and
    :meth:`Tickets.breached`."""

    def moment(value: Any) -> datetime | None:
        return None if is_missing(value) else pd.Timestamp(value).to_pydatetime()

    states = [
        sla.state(
            status=str(row.status),
            opened_at=moment(row.opened_at) or now,
            first_response_due=moment(row.first_response_due),
            resolution_due=moment(row.resolution_due),
            first_response_at=moment(row.first_response_at),
            resolved_at=moment(row.resolved_at),
            now=now,
        )
        for row in df.itertuples(index=False)
    ]
    return pd.Series(
        pd.Categorical(states, categories=SLA_STATES), index=df.index, dtype="category"
    )


def import_problem(current: Mapping[str, Any], new: Mapping[str, Any]) -> FieldError | None:
    """Why an imported ticket row breaks a ticket rule, or None: the same status flow and
    resolution rule as the API. ``current`` is the stored ticket (empty for a new one),
    ``new`` the row's values."""
    before, after = current.get("status"), new.get("status") or current.get("status")
    if before is not None and after is not None and after != before:
        try:
            TICKET_FLOW.check(before, after)
        except ValidationError as refused:
            return refused.errors[0]
    if after in ("resolved", "closed") and not (new.get("resolution") or current.get("resolution")):
        return FieldError(
            "resolution", None, "ticket_resolution_required", t("tickets:resolution_required")
        )
    return None
