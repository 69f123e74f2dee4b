"""Marketing campaigns: plans with budget and cost, the customers they reached, their ROI.

Members walk ``sent → responded → converted`` (:data:`MEMBER_FLOW`). Leads, opportunities
and orders name their campaign (``campaign_id``), which is what :meth:`Campaigns.roi`
counts. Admins, managers and marketing edit campaigns; everyone else reads them.

Members are added by customer code, or from a saved rule segment (the campaign's
``target_segment`` by default); the workspace hands in the segment evaluator, because
segments live in :mod:`crmlib.analytics`, above this layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Float, case, cast, func, select, true
from sqlalchemy.orm import Session, aliased

from ... import clock
from ...access import UNSCOPED
from ...context import Context, localised
from ...errors import AccessDenied, ConfigError, FieldError, NotFound, ValidationError
from ...i18n import t
from ...reference.enums import CAMPAIGN_CHANNEL, MEMBER_STATUS
from ...rules import amount, date_value, enum_of, identifier, text, validated
from ...store.models import Campaign, CampaignMember, Customer, Lead, Opportunity, Order, User
from ..flows import Flow
from ..team.users import find_user

RULES = {
    "name": text(200),
    "channel": enum_of(CAMPAIGN_CHANNEL),
    "start_date": date_value,
    "end_date": date_value,
    "budget": amount,
    "actual_cost": amount,
    "goal": text(300),
    "target_segment": text(100),
    "owner": identifier(64),
}
REQUIRED = ("name", "channel")

MEMBER_FLOW = Flow.of(
    "member_status_flow",
    "status",
    MEMBER_STATUS,
    {"sent": ("responded",), "responded": ("converted",)},
)


def date_errors(start: Any, end: Any) -> list[FieldError]:
    """A campaign cannot end before it starts (rule ``end_after_start``)."""
    if start is not None and end is not None and end < start:
        return [
            FieldError(
                "end_date", end, "end_after_start", t("campaigns:end_after_start", start=start)
            )
        ]
    return []


#: Customer codes looked up per statement, well below SQLite's limit on bound parameters.
CODES_PER_QUERY = 5_000

SegmentCodes = Callable[[str], Iterable[str]]


class Campaigns:
    def __init__(self, ctx: Context, segment_codes: SegmentCodes | None = None) -> None:
        self._ctx = ctx
        self._segment_codes = segment_codes

    # -- campaigns ---------------------------------------------------------------------

    @localised
    def add(self, **values: Any) -> dict[str, Any]:
        """Plan a campaign; ``owner`` defaults to the acting user."""
        self._require_edit("add campaigns")
        clean = self._validate(values)
        errors = [
            FieldError(f, clean.get(f), "required", t("required"))
            for f in REQUIRED
            if clean.get(f) in (None, "")
        ]
        errors += date_errors(clean.get("start_date"), clean.get("end_date"))
        if errors:
            raise ValidationError(errors)
        with self._ctx.session() as session:
            self._check_name(session, clean["name"], None)
            campaign = Campaign(owner_id=self._ctx.actor.id)
            self._apply(session, campaign, clean)
            session.add(campaign)
            session.flush()
            return self._as_dict(session, campaign)

    @localised
    def get(self, campaign: int | str) -> dict[str, Any]:
        """A campaign by id or name."""
        with self._ctx.session() as session:
            return self._as_dict(session, self.find(session, campaign))

    @localised
    def update(self, campaign: int | str, **changes: Any) -> dict[str, Any]:
        self._require_edit("change campaigns")
        clean = self._validate(changes)
        for key in REQUIRED:
            if key in clean and clean[key] in (None, ""):
                raise ValidationError(FieldError(key, changes[key], "required", t("required")))
        with self._ctx.session() as session:
            record = self.find(session, campaign)
            errors = date_errors(
                clean.get("start_date", record.start_date), clean.get("end_date", record.end_date)
            )
            if errors:
                raise ValidationError(errors)
            if "name" in clean:
                self._check_name(session, clean["name"], record.id)
            self._apply(session, record, clean)
            session.flush()
            return self._as_dict(session, record)

    @localised
    def frame(self) -> pd.DataFrame:
        """Every campaign, newest first, with its owner's username."""
        owner = aliased(User)
        stmt = (
            select(*Campaign.__table__.columns, owner.username.label("owner"))
            .outerjoin(owner, owner.id == Campaign.owner_id)
            .order_by(Campaign.start_date.desc(), Campaign.id.desc())
        )
        return self._ctx.frame(stmt)

    # -- members -----------------------------------------------------------------------

    @localised
    def add_members(self, campaign: int | str, codes: Iterable[str]) -> int:
        """Add the customers ``codes`` (that the user may see) as members ``sent`` now;
        customers already in the campaign are left as they are. Returns how many joined."""
        self._require_edit("add campaign members")
        wanted = sorted({c.strip() for c in codes if c and c.strip()})
        with self._ctx.session() as session:
            record = self.find(session, campaign)
            found: dict[str, int] = {}
            for start in range(0, len(wanted), CODES_PER_QUERY):
                part = wanted[start : start + CODES_PER_QUERY]
                rows = session.execute(
                    select(Customer.code, Customer.id).where(Customer.code.in_(part))
                )
                found.update((code, customer_id) for code, customer_id in rows)
            self._refuse_missing(session, [c for c in wanted if c not in found])
            present = set(
                session.execute(
                    select(CampaignMember.customer_id).where(
                        CampaignMember.campaign_id == record.id
                    )
                ).scalars()
            )
            now = clock.now()
            joining = [i for i in found.values() if i not in present]
            session.add_all(
                CampaignMember(campaign_id=record.id, customer_id=i, status="sent", sent_at=now)
                for i in joining
            )
            return len(joining)

    @localised
    def add_segment_members(self, campaign: int | str, segment: str | None = None) -> int:
        """Add the members of a saved segment (default: the campaign's target segment)
        that the user may see; returns how many joined."""
        with self._ctx.session() as session:
            name = segment or self.find(session, campaign).target_segment
        if not name:
            raise ValidationError(
                FieldError(
                    "target_segment", None, "campaign_needs_segment", t("campaigns:needs_segment")
                )
            )
        if self._segment_codes is None:
            raise ConfigError(t("campaigns:no_segments"))
        return self.add_members(campaign, self._segment_codes(name))

    @localised
    def record_response(
        self, campaign: int | str, customer_code: str, response: str
    ) -> dict[str, Any]:
        """A member answered (``sent → responded``); a later answer replaces the text."""
        clean = validated({"response": text(300)}, {"response": response}, "campaign_member")
        return self._move(campaign, customer_code, "responded", response=clean["response"])

    @localised
    def mark_converted(self, campaign: int | str, customer_code: str) -> dict[str, Any]:
        """A member who responded bought or signed (``responded → converted``)."""
        return self._move(campaign, customer_code, "converted")

    @localised
    def members(self, campaign: int | str) -> pd.DataFrame:
        """The campaign's members the user may see (customers, and leads it produced)."""
        with self._ctx.session() as session:
            record = self.find(session, campaign)
        stmt = (
            select(
                CampaignMember.id,
                Customer.code.label("customer_code"),
                Customer.name.label("customer"),
                CampaignMember.lead_id,
                CampaignMember.status,
                CampaignMember.sent_at,
                CampaignMember.responded_at,
                CampaignMember.response,
                CampaignMember.converted_at,
            )
            .outerjoin(Customer, Customer.id == CampaignMember.customer_id)
            .where(CampaignMember.campaign_id == record.id, self._visible(CampaignMember))
            .order_by(CampaignMember.id)
        )
        return self._ctx.frame(stmt)

    # -- ROI -----------------------------------------------------------------------------

    @localised
    def roi(self) -> pd.DataFrame:
        """Per campaign: cost, members, leads, opportunities, won amount, orders, revenue, ROI.

        * ``revenue`` (attributed revenue): the sum of the orders whose ``campaign_id`` is
          the campaign (set on entry or import), in CNY.
        * ``won_amount``: the amount of its opportunities in stage ``won``.
        * ``roi`` = (revenue − actual cost) / actual cost; empty when the cost is 0 or unknown.

        Counts and sums cover the customers and leads the user may see; cost is the whole
        campaign's. Computed in SQL, on SQLite and PostgreSQL alike.
        """
        won = Opportunity.stage == "won"
        orders = (
            select(
                Order.campaign_id.label("cid"),
                func.count().label("orders"),
                func.sum(Order.amount).label("revenue"),
            )
            .where(Order.campaign_id.is_not(None), self._visible(Order))
            .group_by(Order.campaign_id)
            .subquery()
        )
        deals = (
            select(
                Opportunity.campaign_id.label("cid"),
                func.count().label("opportunities"),
                func.sum(case((won, 1), else_=0)).label("won"),
                func.sum(case((won, Opportunity.amount), else_=0)).label("won_amount"),
            )
            .where(Opportunity.campaign_id.is_not(None), self._visible(Opportunity))
            .group_by(Opportunity.campaign_id)
            .subquery()
        )
        leads = (
            select(
                Lead.campaign_id.label("cid"),
                func.count().label("leads"),
                func.sum(case((Lead.status == "converted", 1), else_=0)).label("converted_leads"),
            )
            .where(Lead.campaign_id.is_not(None), self._ctx.scope.lead_filter())
            .group_by(Lead.campaign_id)
            .subquery()
        )
        reached = CampaignMember.status.in_(("responded", "converted"))
        members = (
            select(
                CampaignMember.campaign_id.label("cid"),
                func.count().label("members"),
                func.sum(case((reached, 1), else_=0)).label("responded"),
            )
            .where(CampaignMember.customer_id.is_not(None), self._visible(CampaignMember))
            .group_by(CampaignMember.campaign_id)
            .subquery()
        )
        cost = cast(Campaign.actual_cost, Float)
        revenue = cast(func.coalesce(orders.c.revenue, 0), Float)
        stmt = (
            select(
                Campaign.id,
                Campaign.name,
                Campaign.channel,
                Campaign.start_date,
                Campaign.end_date,
                cast(Campaign.budget, Float).label("budget"),
                cost.label("cost"),
                func.coalesce(members.c.members, 0).label("members"),
                func.coalesce(members.c.responded, 0).label("responded"),
                func.coalesce(leads.c.leads, 0).label("leads"),
                func.coalesce(leads.c.converted_leads, 0).label("converted_leads"),
                func.coalesce(deals.c.opportunities, 0).label("opportunities"),
                func.coalesce(deals.c.won, 0).label("won"),
                cast(func.coalesce(deals.c.won_amount, 0), Float).label("won_amount"),
                func.coalesce(orders.c.orders, 0).label("orders"),
                revenue.label("revenue"),
                case((cost > 0, (revenue - cost) / cost), else_=None).label("roi"),
            )
            .outerjoin(orders, orders.c.cid == Campaign.id)
            .outerjoin(deals, deals.c.cid == Campaign.id)
            .outerjoin(leads, leads.c.cid == Campaign.id)
            .outerjoin(members, members.c.cid == Campaign.id)
            .order_by(Campaign.start_date, Campaign.id)
        )
        df = self._ctx.frame(stmt)
        df["roi"] = df["roi"].astype(object).where(df["roi"].notna(), None)
        return df

    # -- helpers -----------------------------------------------------------------------

    def find(self, session: Session, campaign: int | str) -> Campaign:
        """A campaign by id, or by name; NotFound names what was asked for."""
        if isinstance(campaign, int) or (isinstance(campaign, str) and campaign.isdigit()):
            found = session.get(Campaign, int(campaign))
        else:
            found = session.execute(
                select(Campaign).where(Campaign.name == campaign)
            ).scalar_one_or_none()
        if found is None:
            raise NotFound(t("campaigns:not_found", campaign=campaign))
        return found

    def _visible(self, model: Any) -> Any:
        """Rows of a customer's record the user may see (Core queries scope themselves)."""
        if self._ctx.scope.owner_ids() is None:
            return true()
        return model.customer_id.in_(self._ctx.scope.customer_ids())

    def _move(
        self, campaign: int | str, customer_code: str, status: str, **fields: Any
    ) -> dict[str, Any]:
        # Whoever looks after the customer records the answer: reps reach their own
        # customers' members (scoping hides the rest), marketing and managers any.
        role = self._ctx.actor.role
        self._ctx.scope.require(
            role.edit_campaigns or role.edit_customers, "record campaign responses"
        )
        with self._ctx.session() as session:
            record = self.find(session, campaign)
            member = session.execute(
                select(CampaignMember)
                .join(Customer, Customer.id == CampaignMember.customer_id)
                .where(CampaignMember.campaign_id == record.id, Customer.code == customer_code)
            ).scalar_one_or_none()
            if member is None:
                visible = session.execute(
                    select(Customer.id).where(Customer.code == customer_code)
                ).scalar()
                if visible is None:
                    self._refuse_missing(session, [customer_code])
                raise NotFound(t("campaigns:not_member", code=customer_code, campaign=record.name))
            MEMBER_FLOW.check(member.status, status)
            now = clock.now()
            if member.status != status:
                member.status = status
                if status == "responded":
                    member.responded_at = now
                else:
                    member.converted_at = now
            for key, value in fields.items():
                setattr(member, key, value)
            session.flush()
            return {c.name: getattr(member, c.name) for c in CampaignMember.__table__.columns}

    def _refuse_missing(self, session: Session, codes: list[str]) -> None:
        """Codes the user cannot see: AccessDenied if they exist, else ValidationError."""
        if not codes:
            return
        hidden = list(
            session.execute(
                select(Customer.code)
                .where(Customer.code.in_(codes))
                .execution_options(**{UNSCOPED: True})
            ).scalars()
        )
        if hidden:
            actor = self._ctx.actor
            raise AccessDenied(
                t(
                    "campaigns:out_of_scope",
                    codes=", ".join(sorted(hidden)),
                    username=actor.username,
                    role=actor.role.name,
                )
            )
        raise ValidationError(
            FieldError(
                "customer_code",
                codes,
                "unknown_customer",
                t("campaigns:unknown_customers", codes=", ".join(codes)),
            )
        )

    def _require_edit(self, action: str) -> None:
        self._ctx.scope.require(self._ctx.actor.role.edit_campaigns, action)

    @staticmethod
    def _validate(values: Mapping[str, Any]) -> dict[str, Any]:
        return validated(RULES, values, "campaign")

    def _check_name(self, session: Session, name: str, own_id: int | None) -> None:
        other = session.execute(select(Campaign.id).where(Campaign.name == name)).scalar()
        if other is not None and other != own_id:
            raise ValidationError(
                FieldError("name", name, "unique", t("unique", other=f"campaign #{other}"))
            )

    @staticmethod
    def _apply(session: Session, campaign: Campaign, clean: Mapping[str, Any]) -> None:
        for key, value in clean.items():
            if key == "owner":
                campaign.owner_id = find_user(session, value).id if value else None
            else:
                setattr(campaign, key, value)

    @staticmethod
    def _as_dict(session: Session, campaign: Campaign) -> dict[str, Any]:
        values = {c.name: getattr(campaign, c.name) for c in Campaign.__table__.columns}
        owner = session.get(User, campaign.owner_id) if campaign.owner_id else None
        values["owner"] = owner.username if owner else None
        return values
