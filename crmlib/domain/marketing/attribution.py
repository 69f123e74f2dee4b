"""Campaign attribution: leads, opportunities and orders name the campaign that brought
them (``campaign_id``), and whatever path sets it checks that the campaign exists, so the
campaign ROI report never counts revenue against a campaign that is not there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ...errors import FieldError, ValidationError
from ...i18n import t
from ...rules import RuleViolation
from ...store.models import Campaign


def campaign_ref(value: Any) -> int | None:
    """A campaign id as typed (``7``, ``"7"``); empty means no campaign."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RuleViolation("record_id", t("attribution:not_an_id"))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RuleViolation("record_id", t("attribution:not_an_id")) from None
    if number < 1:
        raise RuleViolation("record_id", t("attribution:not_an_id"))
    return number


def require_campaign(session: Session, campaign_id: int | None) -> None:
    """Raise ValidationError (rule ``unknown_campaign``) unless the campaign exists."""
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise ValidationError(
            FieldError("campaign_id", campaign_id, "unknown_campaign", t("unknown_campaign"))
        )


def known_campaign(session: Session, _record: Any, values: Mapping[str, Any]) -> None:
    """Record check before saving: a ``campaign_id`` being set must name a campaign."""
    if "campaign_id" in values:
        require_campaign(session, values["campaign_id"])
