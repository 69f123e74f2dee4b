"""Saved rule segments: define, list, evaluate, tag, export and follow their size.

A segment is a name and a rule in the language of
:mod:`crmlib.analytics.segment_rules.language`, saved in the ``segments`` table so
marketing, reports and campaigns share one definition. Members are evaluated when asked
for, as of a day, within the asking user's scope: the same segment is a rep's own
customers for the rep and the whole company for an analyst.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select

from ... import clock
from ...audit import record as audit_record
from ...context import Context, localised
from ...errors import AccessDenied, Conflict, NotFound
from ...i18n import t
from ...store.like import storable
from ...store.models import Customer, CustomerTag, Segment, SegmentSize
from ...transfer.exporting import ExportResult, export
from ..rfm import rfm, rfm_summary
from ..segment_rules.compile import members_query
from ..segment_rules.language import Node
from ..segment_rules.saved import checked, rule_of

#: Columns of a membership list, in this order.
MEMBER_COLUMNS = (
    "code",
    "name",
    "kind",
    "status",
    "grade",
    "region",
    "province",
    "city",
    "owner",
    "team",
    "orders",
    "revenue",
    "spend_12m",
    "aov",
    "last_order",
    "last_contact_at",
    "days_since_contact",
)


class Segments:
    """Rule segments as one user sees them (membership is scoped to the user)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def define(
        self, name: str, rule: str, *, description: str | None = None, replace: bool = False
    ) -> dict[str, Any]:
        """Save ``rule`` under ``name`` after checking it parses and names custom fields
        that exist; ``replace`` overwrites."""
        with self._ctx.reading() as conn:
            checked(conn, rule)
        storable(name, "name")
        with self._ctx.session() as session:
            existing = session.execute(select(Segment).where(Segment.name == name)).scalar()
            if existing is not None and not replace:
                raise Conflict(t("segments:exists", name=name, rule=existing.rule))
            if existing is not None:
                self._require_owner(existing)
                existing.rule, existing.description = rule, description
                segment = existing
            else:
                segment = Segment(
                    name=name, rule=rule, description=description, owner_id=self._ctx.actor.id
                )
                session.add(segment)
            session.flush()
            return _as_dict(segment)

    @localised
    def get(self, name: str) -> dict[str, Any]:
        with self._ctx.session() as session:
            return _as_dict(self._load(session, name))

    def list(self) -> pd.DataFrame:
        """Every saved segment with its latest measured size."""
        latest = (
            select(SegmentSize.segment_id, func.max(SegmentSize.measured_on).label("day"))
            .group_by(SegmentSize.segment_id)
            .subquery()
        )
        stmt = (
            select(
                Segment.name,
                Segment.rule,
                Segment.description,
                SegmentSize.size.label("last_size"),
                SegmentSize.measured_on,
            )
            .outerjoin(latest, latest.c.segment_id == Segment.id)
            .outerjoin(
                SegmentSize,
                (SegmentSize.segment_id == Segment.id) & (SegmentSize.measured_on == latest.c.day),
            )
            .order_by(Segment.name)
        )
        return self._ctx.frame(stmt)

    @localised
    def delete(self, name: str) -> None:
        with self._ctx.session() as session:
            segment = self._load(session, name)
            self._require_owner(segment)
            session.delete(segment)

    @localised
    def members(self, name_or_rule: str, *, as_of: date | None = None) -> pd.DataFrame:
        """The customers a saved segment (or a rule given directly) selects, as of a day."""
        day = as_of or clock.today()
        frame = self._ctx.frame(members_query(self._rule(name_or_rule), self._ctx.scope, day))
        frame["days_since_contact"] = (
            pd.Timestamp(day) - pd.to_datetime(frame["last_touch"]).dt.normalize()
        ).dt.days
        return frame[list(MEMBER_COLUMNS)]

    def codes(self, name_or_rule: str, *, as_of: date | None = None) -> tuple[str, ...]:
        """The members' customer codes (what a campaign adds as its members)."""
        return tuple(self.members(name_or_rule, as_of=as_of)["code"])

    @localised
    def rfm(self, **filters: Any) -> pd.DataFrame:
        """RFM figures, quintile scores and named segment per customer, within the filters
        (period, region, team, owner, segment, as_of); see :mod:`crmlib.analytics.rfm`."""
        return rfm(self._ctx, **filters)

    @localised
    def rfm_summary(self, **filters: Any) -> pd.DataFrame:
        """Customers, share and average R/F/M per RFM segment, plus those without orders."""
        return rfm_summary(self._ctx, **filters)

    @localised
    def count(self, name_or_rule: str, *, as_of: date | None = None) -> int:
        day = as_of or clock.today()
        query = members_query(self._rule(name_or_rule), self._ctx.scope, day).subquery()
        with self._ctx.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(query)).scalar_one())

    @localised
    def track(self, *, as_of: date | None = None) -> pd.DataFrame:
        """Measure every saved segment and keep its size for the day (re-measuring the same
        day replaces it); the nightly refresh calls this so sizes form a history."""
        day = as_of or clock.today()
        with self._ctx.session() as session:
            segments = session.execute(select(Segment).order_by(Segment.name)).scalars().all()
            sizes = {s.name: self.count(s.rule, as_of=day) for s in segments}
            session.execute(
                delete(SegmentSize).where(
                    SegmentSize.measured_on == day,
                    SegmentSize.segment_id.in_([s.id for s in segments]),
                )
            )
            if segments:
                session.execute(
                    insert(SegmentSize),
                    [
                        {"segment_id": s.id, "measured_on": day, "size": sizes[s.name]}
                        for s in segments
                    ],
                )
        return pd.DataFrame({"segment": list(sizes), "size": list(sizes.values())})

    @localised
    def history(self, name: str) -> pd.DataFrame:
        """The measured sizes of a segment, oldest first."""
        with self._ctx.session() as session:
            segment_id = self._load(session, name).id
        stmt = (
            select(SegmentSize.measured_on, SegmentSize.size)
            .where(SegmentSize.segment_id == segment_id)
            .order_by(SegmentSize.measured_on)
        )
        return self._ctx.frame(stmt)

    @localised
    def tag(self, name_or_rule: str, tag: str, *, as_of: date | None = None) -> int:
        """Give every member the tag (e.g. 高流失风险); returns how many were newly tagged.
        Each newly tagged customer gets an audit event."""
        actor = self._ctx.actor
        self._ctx.scope.require(actor.role.edit_customers, "tag customers")
        label = tag.strip()
        day = as_of or clock.today()
        members = members_query(self._rule(name_or_rule), self._ctx.scope, day).subquery()
        already = select(CustomerTag.customer_id).where(CustomerTag.tag == label)
        with self._ctx.session() as session:
            new = session.execute(
                select(members.c.id, members.c.code).where(members.c.id.not_in(already))
            ).all()
            if new:
                session.execute(
                    insert(CustomerTag), [{"customer_id": i, "tag": label} for i, _ in new]
                )
                for i, code in new:
                    audit_record(
                        session,
                        actor=actor.username,
                        action="tag",
                        entity="customer_tags",
                        entity_id=i,
                        ref=code,
                        field="tag",
                        new_value=label,
                    )
        return len(new)

    def export(
        self,
        name_or_rule: str,
        path: str | Path,
        *,
        fmt: str | None = None,
        columns: Sequence[str] | None = None,
        as_of: date | None = None,
    ) -> ExportResult:
        """Write the members to CSV or .xlsx in the customer import layout (audited)."""
        day = as_of or clock.today()
        members = members_query(self._rule(name_or_rule), self._ctx.scope, day).subquery()
        return export(
            self._ctx,
            "customers",
            Path(path),
            fmt=fmt,
            columns=columns,
            where=Customer.id.in_(select(members.c.id)),
        )

    # -- helpers -----------------------------------------------------------------------

    def _rule(self, name_or_rule: str) -> Node:
        return rule_of(self._ctx, name_or_rule)

    def _load(self, session: Any, name: str) -> Segment:
        storable(name, "name")
        segment = session.execute(select(Segment).where(Segment.name == name)).scalar()
        if segment is None:
            raise NotFound(t("segments:not_found", name=name))
        return segment

    def _require_owner(self, segment: Segment) -> None:
        actor = self._ctx.actor
        if segment.owner_id not in (None, actor.id) and actor.role.name != "admin":
            raise AccessDenied(t("segments:not_owner", name=segment.name))


def _as_dict(segment: Segment) -> dict[str, Any]:
    return {"name": segment.name, "rule": segment.rule, "description": segment.description}
