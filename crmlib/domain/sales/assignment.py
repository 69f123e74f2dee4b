"""Handing out unassigned leads by the ``lead_assignment`` setting.

The setting is ``{"rules": [{"region": "华东", "industry": "C", "team": "east"}, ...],
"method": "round_robin" | "fewest_open"}``. The first rule whose region and industry match
the lead names its team (a rule's ``region`` or ``industry`` left out or None matches any
lead; ``industry`` is a GB/T 4754 section letter or division code). Within the team's
active sales reps:

* ``round_robin`` gives the lead to the rep whose last assignment (``leads.assigned_at``)
  is the oldest, a rep who never had one first;
* ``fewest_open`` gives it to the rep with the fewest open leads (new, contacted,
  qualified), ties to the one assigned least recently.

Remaining ties go to the alphabetically first username, and leads are taken oldest
first, so the same data always gives the same result. Leads within one run are stamped a
microsecond apart, so the next run continues the rotation exactly where this one ended.
A lead that matches no rule keeps no owner and is reported; so is a team without reps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...access import UNSCOPED, Actor, Scope
from ...errors import FieldError, ValidationError
from ...i18n import current_lang, t
from ...reference.enums import TEAM
from ...settings import get_setting
from ...settings.rules import ASSIGNMENT_METHODS
from ...store.models import Lead, User
from .lead_rules import OPEN_STATUSES

NEVER = datetime.min


@dataclass(frozen=True)
class Assignment:
    """What one assignment run did: who got which leads, and which leads it could not place."""

    method: str
    leads: dict[int, str] = field(default_factory=dict)  # lead id -> username
    unmatched: list[int] = field(default_factory=list)  # no rule matched
    unstaffed: dict[str, list[int]] = field(default_factory=dict)  # team -> lead ids
    other_team: list[int] = field(default_factory=list)  # a manager's: not their team

    @property
    def assigned(self) -> dict[str, int]:
        """Leads per rep, by username."""
        return dict(sorted(Counter(self.leads.values()).items()))

    def describe(self, lang: str | None = None, names: Mapping[str, str] | None = None) -> str:
        """What the run did, in ``lang``; ``names`` gives the reps' display names."""
        users = dict(names or {})
        method = t(f"assign:{self.method}", lang)
        lines = [t("assign:summary", lang, total=len(self.leads), method=method)]
        lines += [
            t("assign:to_user", lang, user=users.get(u, u), count=n)
            for u, n in self.assigned.items()
        ]
        if self.unmatched:
            lines.append(
                t("assign:unmatched", lang, count=len(self.unmatched), ids=_ids(self.unmatched))
            )
        for team, ids in self.unstaffed.items():
            shown = TEAM.label(team, current_lang(lang))
            lines.append(t("assign:unstaffed", lang, team=shown, count=len(ids), ids=_ids(ids)))
        if self.other_team:
            lines.append(
                t("assign:other_team", lang, count=len(self.other_team), ids=_ids(self.other_team))
            )
        return "\n".join(lines)


def _ids(ids: list[int], shown: int = 20) -> str:
    text = ", ".join(f"#{i}" for i in ids[:shown])
    return text + (" …" if len(ids) > shown else "")


def read_policy(session: Session) -> tuple[list[Mapping[str, Any]], str]:
    """The rules and method of the ``lead_assignment`` setting, checked."""
    policy = get_setting(session, "lead_assignment")
    method = policy.get("method", "round_robin")
    if method not in ASSIGNMENT_METHODS:
        raise ValidationError(
            FieldError(
                "lead_assignment.method",
                method,
                "assignment_method",
                t("assign:method", methods=", ".join(ASSIGNMENT_METHODS)),
            )
        )
    rules = list(policy.get("rules", []))
    for rule in rules:
        if not isinstance(rule, Mapping) or not rule.get("team"):
            raise ValidationError(
                FieldError("lead_assignment.rules", rule, "assignment_rule", t("assign:rule"))
            )
    return rules, method


def team_for(lead: Lead, rules: list[Mapping[str, Any]]) -> str | None:
    """The team of the first rule matching the lead's region and industry."""
    industries = {lead.industry_section, lead.industry_division} - {None}
    for rule in rules:
        region, industry = rule.get("region"), rule.get("industry")
        if region is not None and region != lead.region:
            continue
        if industry is not None and industry not in industries:
            continue
        return str(rule["team"])
    return None


def assign_leads(session: Session, actor: Actor, now: datetime) -> Assignment:
    """Assign the unassigned open leads the actor may see (see the module's docstring)."""
    rules, method = read_policy(session)
    result = Assignment(method)
    waiting = (
        session.execute(
            select(Lead)
            .where(Lead.owner_id.is_(None), Lead.status.in_(OPEN_STATUSES))
            .order_by(Lead.created_at, Lead.id)
        )
        .scalars()
        .all()
    )
    scope = Scope(actor)
    reps = _reps(session)
    last = _last_assigned(session)
    open_leads = _open_counts(session)
    # Stamps follow every earlier one, so the rotation holds even within one clock tick.
    start = max([now, *(when + timedelta(microseconds=1) for when in last.values())])
    for lead in waiting:
        team = team_for(lead, rules) or lead.team
        if team is None:
            result.unmatched.append(lead.id)
            continue
        if actor.role.scope == "team" and team != actor.team:
            result.other_team.append(lead.id)
            continue
        lead.team = team
        candidates = [u for u in reps.get(team, []) if scope.may_own(u.id, u.team)]
        if not candidates:
            result.unstaffed.setdefault(team, []).append(lead.id)
            continue
        if method == "round_robin":
            rep = min(candidates, key=lambda u: (last.get(u.id, NEVER), u.username))
        else:
            rep = min(
                candidates,
                key=lambda u: (open_leads.get(u.id, 0), last.get(u.id, NEVER), u.username),
            )
        stamp = start + timedelta(microseconds=len(result.leads))
        lead.owner_id, lead.assigned_at = rep.id, stamp
        last[rep.id] = stamp
        open_leads[rep.id] = open_leads.get(rep.id, 0) + 1
        result.leads[lead.id] = rep.username
    session.flush()
    return result


def _reps(session: Session) -> dict[str, list[User]]:
    users = session.execute(
        select(User)
        .where(User.role == "sales", User.active.is_(True), User.team.is_not(None))
        .order_by(User.username)
    ).scalars()
    teams: dict[str, list[User]] = {}
    for user in users:
        teams.setdefault(str(user.team), []).append(user)
    return teams


def _last_assigned(session: Session) -> dict[int, datetime]:
    """Each rep's latest assignment, over all leads (a manager's view must not skew it)."""
    rows = session.execute(
        select(Lead.owner_id, func.max(Lead.assigned_at))
        .where(Lead.owner_id.is_not(None), Lead.assigned_at.is_not(None))
        .group_by(Lead.owner_id)
        .execution_options(**{UNSCOPED: True})
    )
    return {int(owner): when for owner, when in rows if owner is not None and when is not None}


def _open_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Lead.owner_id, func.count())
        .where(Lead.owner_id.is_not(None), Lead.status.in_(OPEN_STATUSES))
        .group_by(Lead.owner_id)
        .execution_options(**{UNSCOPED: True})
    )
    return {int(owner): int(count) for owner, count in rows if owner is not None}
