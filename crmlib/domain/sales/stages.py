"""The sales stages of an opportunity: which moves are allowed and what each stage needs.

An opportunity walks contact → needs_analysis → proposal → negotiation and ends won or
lost (:data:`STAGE_FLOW`, rule ``opportunity_stage_flow``):

* forward to any later open stage, skipping stages when a deal moves fast;
* one step back among the open stages (a proposal goes back to needs analysis when the
  customer's need changes; a negotiation back to proposal for a new version);
* from any open stage to won or lost; won and lost are final (a lost deal that comes back
  is a new opportunity, so the loss stays in the win rate).

A stage also needs what the handbook asks a rep to know by then
(:data:`STAGE_REQUIREMENTS`, rule ``stage_requires_field``): the customer's need from
needs analysis on, the proposal version from proposal on, amount and expected close date
from negotiation on (and so for a won deal), a loss reason for a lost one.
:func:`stage_field_errors` is the one place this is decided; the API (adding, changing,
and clearing a field later) and the importer both call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ...errors import FieldError, ValidationError
from ...i18n import current_lang, t
from ...reference.enums import STAGE
from ..flows import Flow

OPEN_STAGES = ("contact", "needs_analysis", "proposal", "negotiation")
CLOSED_STAGES = ("won", "lost")

STAGE_FLOW = Flow.of(
    "opportunity_stage_flow",
    "stage",
    STAGE,
    {
        "contact": ("needs_analysis", "proposal", "negotiation", "won", "lost"),
        "needs_analysis": ("contact", "proposal", "negotiation", "won", "lost"),
        "proposal": ("needs_analysis", "negotiation", "won", "lost"),
        "negotiation": ("proposal", "won", "lost"),
    },
)

_NEEDS = ("need_description",)
_PROPOSAL = (*_NEEDS, "proposal_version")
_NEGOTIATION = (*_PROPOSAL, "amount", "expected_close_date")
STAGE_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "contact": (),
    "needs_analysis": _NEEDS,
    "proposal": _PROPOSAL,
    "negotiation": _NEGOTIATION,
    "won": _NEGOTIATION,
    "lost": ("loss_reason",),
}
#: Every field some stage requires.
STAGE_FIELDS = tuple(dict.fromkeys(f for fields in STAGE_REQUIREMENTS.values() for f in fields))


def stage_field_errors(stage: str, values: Mapping[str, Any]) -> list[FieldError]:
    """The fields ``stage`` requires that ``values`` (the whole record) leaves empty."""
    missing = [f for f in STAGE_REQUIREMENTS.get(stage, ()) if values.get(f) in (None, "")]
    if not missing:
        return []
    message = t("stages:stage_requires_field", stage=STAGE.label(stage, current_lang()))
    return [FieldError(f, None, "stage_requires_field", message) for f in missing]


def check_opportunity(_session: Session, opportunity: Any, values: Mapping[str, Any]) -> None:
    """Before an opportunity is saved: the stage move is allowed and the stage it ends in
    has its fields, counting stored values that ``values`` does not change."""
    current: str | None = opportunity.stage
    if "stage" in values and not values["stage"]:
        raise ValidationError(FieldError("stage", values["stage"], "required", t("required")))
    target = values.get("stage") or current or "contact"
    if current is not None:
        STAGE_FLOW.check(current, target)
    merged = {f: values[f] if f in values else getattr(opportunity, f) for f in STAGE_FIELDS}
    errors = stage_field_errors(target, merged)
    if errors:
        raise ValidationError(errors)
