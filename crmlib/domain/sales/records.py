"""Records that hang under a customer: contacts, opportunities, follow-ups and orders.

One small service class serves them all, because their access rules are the same: a
record is visible and editable exactly when its customer is. What differs per kind (the
fields, their rules, what is required, side effects such as stage history) is declared in
a :class:`Kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import PII_MASKS, mask_frame
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...reference.enums import CHANNEL, STAGE
from ...rules import (
    Rule,
    amount,
    date_value,
    datetime_value,
    email,
    enum_of,
    flag,
    identifier,
    phone,
    probability,
    text,
    validated,
)
from ...settings import get_setting
from ...store.models import (
    Base,
    Contact,
    Customer,
    Interaction,
    Opportunity,
    Order,
    StageHistory,
    User,
)
from ..customers.custom_fields import (
    KINDS,
    add_columns,
    entered,
    forget_record,
    values_of,
)
from ..marketing.attribution import campaign_ref, known_campaign
from ..reach import reach
from ..team.users import find_user
from .followups import check_follow_up, record_id
from .stages import check_opportunity

Hook = Callable[[Session, Any, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Kind:
    """How one kind of child record is validated and kept."""

    name: str
    model: type[Base]
    rules: Mapping[str, Rule]
    required: tuple[str, ...]
    pii: tuple[str, ...] = ()
    has_owner: bool = False
    on_create: tuple[Hook, ...] = field(default=())
    on_change: tuple[Hook, ...] = field(default=())
    #: Checks of the record and the values about to be set (may raise ValidationError).
    before_save: tuple[Hook, ...] = field(default=())


def _open_stage(session: Session, opportunity: Opportunity, _values: Mapping[str, Any]) -> None:
    session.add(
        StageHistory(opportunity_id=opportunity.id, stage=opportunity.stage, entered_at=clock.now())
    )


def _move_stage(session: Session, opportunity: Opportunity, values: Mapping[str, Any]) -> None:
    """Close the current stage's history row and open the next, so durations add up."""
    if "stage" not in values:
        return
    current = (
        session.execute(
            select(StageHistory).where(
                StageHistory.opportunity_id == opportunity.id, StageHistory.left_at.is_(None)
            )
        )
        .scalars()
        .all()
    )
    if len(current) == 1 and current[0].stage == opportunity.stage:
        return
    moment = clock.now()
    for row in current:
        row.left_at = moment
    session.add(
        StageHistory(opportunity_id=opportunity.id, stage=opportunity.stage, entered_at=moment)
    )
    if opportunity.stage in ("won", "lost"):
        opportunity.closed_at = moment


def _default_probability(
    session: Session, opportunity: Opportunity, values: Mapping[str, Any]
) -> None:
    if "probability" not in values and ("stage" in values or opportunity.probability is None):
        opportunity.probability = get_setting(session, "stage_probability").get(opportunity.stage)


def _touch_customer(session: Session, interaction: Interaction, _values: Mapping[str, Any]) -> None:
    """A follow-up is the customer's latest contact unless a later one is already known."""
    customer = session.get(Customer, interaction.customer_id)
    if customer and (
        customer.last_contact_at is None or customer.last_contact_at < interaction.occurred_at
    ):
        customer.last_contact_at = interaction.occurred_at


CONTACTS = Kind(
    "contacts",
    Contact,
    {"name": text(100), "title": text(100), "phone": phone, "email": email, "is_primary": flag},
    required=("name",),
    pii=("phone", "email"),
)
OPPORTUNITIES = Kind(
    "opportunities",
    Opportunity,
    {
        "name": text(200),
        "stage": enum_of(STAGE),
        "amount": amount,
        "expected_close_date": date_value,
        "probability": probability,
        "need_description": text(4000),
        "proposal_version": text(32),
        "loss_reason": text(300),
        "external_id": identifier(128),
        "campaign_id": campaign_ref,
    },
    required=("name",),
    has_owner=True,
    before_save=(check_opportunity, known_campaign),
    on_create=(_default_probability, _open_stage),
    on_change=(_default_probability, _move_stage),
)
INTERACTIONS = Kind(
    "interactions",
    Interaction,
    {
        "channel": enum_of(CHANNEL),
        "occurred_at": datetime_value,
        "summary": text(4000),
        "customer_need": text(4000),
        "next_step": text(4000),
        "next_action_date": date_value,
        "opportunity_id": record_id,
    },
    required=("channel", "summary", "customer_need", "next_step"),
    has_owner=True,
    before_save=(check_follow_up,),
    on_create=(_touch_customer,),
    on_change=(_touch_customer,),
)
ORDERS = Kind(
    "orders",
    Order,
    {
        "ordered_at": date_value,
        "amount": amount,
        "product": text(200),
        "category": text(64),
        "external_id": identifier(128),
        "campaign_id": campaign_ref,
    },
    required=("ordered_at", "amount"),
    before_save=(known_campaign,),
)


class Records:
    """Add, read, change and delete one kind of record under the customers one may see."""

    def __init__(self, ctx: Context, kind: Kind) -> None:
        self._ctx = ctx
        self._kind = kind

    @localised
    def add(
        self, customer_code: str, *, custom: Mapping[str, Any] | None = None, **values: Any
    ) -> dict[str, Any]:
        """Add a record under the customer; ``custom`` gives the custom fields of kinds
        that have them (deals), by key or name."""
        self._require_edit()
        with self._ctx.session() as session:
            customer = self._customer(session, customer_code)
            return self._as_dict(session, self.create(session, customer, values, custom=custom))

    def create(
        self,
        session: Session,
        customer: Customer,
        values: Mapping[str, Any],
        *,
        custom: Mapping[str, Any] | None = None,
    ) -> Any:
        """Add a record under ``customer`` inside the caller's transaction, with every rule of
        :meth:`add` (a lead conversion makes customer, contact and deal in one go)."""
        self._require_edit()
        clean = self._validate(values)
        extra = entered(session, self._kind.name, custom)
        missing = [
            FieldError(f, clean.get(f), "required", t("required"))
            for f in self._kind.required
            if clean.get(f) in (None, "")
        ]
        if missing or extra.errors:
            raise ValidationError(missing + extra.errors)
        record: Any = self._kind.model(customer_id=customer.id)
        if self._kind.has_owner:
            owner = clean.pop("owner", None) or self._ctx.actor.username
            record.owner_id = find_user(session, owner).id
        if isinstance(record, Opportunity) and not clean.get("stage"):
            clean["stage"] = "contact"
        if isinstance(record, Interaction) and not clean.get("occurred_at"):
            clean["occurred_at"] = clock.now()
        for check in self._kind.before_save:
            check(session, record, clean)
        for key, value in clean.items():
            setattr(record, key, value)
        session.add(record)
        session.flush()
        for hook in self._kind.on_create:
            hook(session, record, clean)
        session.flush()
        extra.save(session, record.id, actor=self._ctx.actor.username)
        return record

    @localised
    def get(self, record_id: int) -> dict[str, Any]:
        with self._ctx.session() as session:
            return self._as_dict(session, self._load(session, record_id))

    @localised
    def update(
        self, record_id: int, *, custom: Mapping[str, Any] | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change a record; ``custom`` changes custom fields by key or name (None clears)."""
        self._require_edit()
        clean = self._validate(changes)
        with self._ctx.session() as session:
            extra = entered(session, self._kind.name, custom)
            if extra.errors:
                raise ValidationError(extra.errors)
            record = self._load(session, record_id)
            for key in self._kind.required:
                if key in clean and clean[key] in (None, ""):
                    raise ValidationError(FieldError(key, changes[key], "required", t("required")))
            if self._kind.has_owner and "owner" in clean:
                record.owner_id = find_user(session, clean.pop("owner")).id
            for check in self._kind.before_save:
                check(session, record, clean)
            for key, value in clean.items():
                setattr(record, key, value)
            session.flush()
            for hook in self._kind.on_change:
                hook(session, record, clean)
            session.flush()
            extra.save(session, record.id, actor=self._ctx.actor.username)
            return self._as_dict(session, record)

    @localised
    def delete(self, record_id: int) -> None:
        self._require_edit()
        with self._ctx.session() as session:
            session.delete(self._load(session, record_id))
            if self._kind.name in KINDS:
                forget_record(session, self._kind.name, record_id)

    @localised
    def frame(self, customer_code: str | None = None) -> pd.DataFrame:
        """The visible records, optionally of one customer, with the customer's code."""
        model: Any = self._kind.model
        columns = [c for c in model.__table__.columns if c.name != "customer_id"]
        stmt = (
            select(Customer.code.label("customer_code"), *columns)
            .join(Customer, Customer.id == model.customer_id)
            .where(self._ctx.scope.customer_filter())
            .order_by(model.id)
        )
        if self._kind.has_owner:
            owner = aliased(User)
            stmt = stmt.add_columns(owner.username.label("owner")).outerjoin(
                owner, owner.id == model.owner_id
            )
        if customer_code is not None:
            stmt = stmt.where(Customer.code == customer_code)
        df = self._ctx.frame(stmt)
        if self._kind.name in KINDS:
            with self._ctx.reading() as conn:
                add_columns(conn, df, self._kind.name, df["id"].tolist())
        return self._mask_frame(df)

    # -- helpers -----------------------------------------------------------------------

    def _require_edit(self) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_customers, f"change {self._kind.name}")

    def _validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        also = ("owner",) if self._kind.has_owner else ()
        return validated(self._kind.rules, values, self._kind.name, also=also)

    def _customer(self, session: Session, code: str) -> Customer:
        customer: Customer = reach(
            session, self._ctx, select(Customer).where(Customer.code == code), f"customer {code}"
        )
        return customer

    def _load(self, session: Session, record_id: int) -> Any:
        model: Any = self._kind.model
        return reach(
            session,
            self._ctx,
            select(model).where(model.id == record_id),
            f"{self._kind.name} #{record_id}",
        )

    def _as_dict(self, session: Session, record: Any) -> dict[str, Any]:
        values = {c.name: getattr(record, c.name) for c in record.__table__.columns}
        values["customer_code"] = session.get(Customer, record.customer_id).code  # type: ignore[union-attr]
        if self._kind.has_owner:
            owner = session.get(User, record.owner_id) if record.owner_id else None
            values["owner"] = owner.username if owner else None
        if self._kind.name in KINDS:
            values["custom"] = values_of(session, self._kind.name, record.id)
        return self._mask(values)

    def _mask(self, values: dict[str, Any]) -> dict[str, Any]:
        if self._ctx.actor.role.see_pii:
            return values
        for key in self._kind.pii:
            values[key] = PII_MASKS[key](values[key])
        return values

    def _mask_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        if self._ctx.actor.role.see_pii:
            return df
        return mask_frame(df, self._kind.pii)
