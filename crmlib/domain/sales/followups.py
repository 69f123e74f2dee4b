"""What a follow-up must say.

The handbook's complaint about follow-up records is that they only say "contacted". So a
follow-up needs a summary, the customer's need and the next step (the kind's required
fields in :mod:`.records`), and a summary that is nothing but a placeholder ("已联系",
"contacted", "跟进", "ok" …; compared without case, spaces and punctuation) is refused
with rule ``summary_placeholder``: it tells a colleague nothing.

A follow-up about a deal names it by ``opportunity_id``; the deal must be one of the same
customer's (rule ``opportunity_of_customer``). Such follow-ups keep a deal from going
stale (:mod:`.pipeline`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ...errors import FieldError, ValidationError
from ...i18n import t
from ...rules import RuleViolation
from ...store.models import Opportunity

PLACEHOLDER_SUMMARIES = frozenset(
    {
        "已联系",
        "联系",
        "联系了",
        "已沟通",
        "沟通",
        "沟通了",
        "跟进",
        "已跟进",
        "跟进中",
        "电话",
        "已电话",
        "打电话",
        "拜访",
        "已拜访",
        "无",
        "暂无",
        "同上",
        "好",
        "好的",
        "ok",
        "okay",
        "contacted",
        "called",
        "call",
        "followup",
        "followedup",
        "done",
        "na",
        "none",
        "nothing",
        "tbd",
        "todo",
        "see above",
    }
)
_NOISE = re.compile(r"[\W_]+")
_FOLDED = frozenset(_NOISE.sub("", p) for p in PLACEHOLDER_SUMMARIES)


def is_placeholder(summary: str) -> bool:
    """Whether ``summary`` is empty talk: a placeholder once case, width, spaces and
    punctuation are ignored."""
    folded = unicodedata.normalize("NFKC", summary).casefold()
    return _NOISE.sub("", folded) in _FOLDED


def record_id(value: Any) -> int | None:
    """A positive whole number naming a record, or None for a blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RuleViolation("record_id", t("followups:record_id")) from None
    if number <= 0:
        raise RuleViolation("record_id", t("followups:record_id"))
    return number


def check_follow_up(session: Session, interaction: Any, values: Mapping[str, Any]) -> None:
    """Before a follow-up is saved: its summary says something and the deal it is about
    belongs to its customer."""
    deal_id = values.get("opportunity_id")
    if deal_id is not None:
        deal = session.get(Opportunity, deal_id)
        if deal is None or deal.customer_id != interaction.customer_id:
            raise ValidationError(
                FieldError(
                    "opportunity_id",
                    deal_id,
                    "opportunity_of_customer",
                    t("followups:opportunity_of_customer"),
                )
            )
    summary = values.get("summary")
    if isinstance(summary, str) and is_placeholder(summary):
        raise ValidationError(
            FieldError(
                "summary", summary, "summary_placeholder", t("followups:summary_placeholder")
            )
        )
