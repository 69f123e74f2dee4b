"""Customer feedback: CSAT answers (1-5) when a ticket closes and NPS survey answers (0-10).

Both land in ``feedback`` under the customer, so scoping and the service-quality reports
treat them alike. :func:`score` is the one rule for a score's range, used by ticket
closing and by NPS surveys.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clock
from ...context import Context, localised
from ...errors import FieldError, ValidationError
from ...i18n import t
from ...rules import text, validate
from ...store.models import Customer, Feedback
from ..reach import customer_by_code

#: Score range and rule name per feedback kind.
SCALES = {"csat": (1, 5, "csat_score"), "nps": (0, 10, "nps_score")}
COMMENT_RULE = text(4000)


def score(kind: str, value: Any) -> int:
    """``value`` as a score of ``kind``; raises ValidationError naming the kind's rule."""
    low, high, rule = SCALES[kind]
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None or not low <= number <= high:
        raise ValidationError(
            FieldError("score", value, rule, t("feedback:score", low=low, high=high))
        )
    return number


def clean_comment(comment: Any) -> str | None:
    clean, errors = validate({"comment": COMMENT_RULE}, {"comment": comment})
    if errors:
        raise ValidationError(errors)
    value: str | None = clean["comment"]
    return value


def record_answer(
    session: Session,
    kind: str,
    customer_id: int,
    value: Any,
    comment: Any = None,
    ticket_id: int | None = None,
) -> Feedback:
    """Add one validated answer to the session."""
    answer = Feedback(
        customer_id=customer_id,
        ticket_id=ticket_id,
        kind=kind,
        score=score(kind, value),
        comment=clean_comment(comment),
        answered_at=clock.now(),
    )
    session.add(answer)
    return answer


class FeedbackAnswers:
    """NPS survey answers and the list of all answers (CSAT comes from closing tickets)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @localised
    def nps(self, customer_code: str, score: Any, comment: str | None = None) -> dict[str, Any]:
        """Record a customer's answer to "how likely are you to recommend us?" (0-10).

        Anyone who talks to customers may record it (roles that edit customers, leads or
        tickets); sales reps only for their own customers.
        """
        role = self._ctx.actor.role
        self._ctx.scope.require(
            role.edit_customers or role.edit_leads or role.edit_tickets, "record survey answers"
        )
        with self._ctx.session(action="feedback") as session:
            customer = customer_by_code(session, self._ctx, customer_code)
            answer = record_answer(session, "nps", customer.id, score, comment)
            session.flush()
            return {
                "id": answer.id,
                "customer_code": customer.code,
                "kind": answer.kind,
                "score": answer.score,
                "comment": answer.comment,
                "answered_at": answer.answered_at,
            }

    @localised
    def frame(self, kind: str | None = None) -> pd.DataFrame:
        """The answers this user may see, newest first, optionally of one kind."""
        stmt = (
            select(
                Feedback.id,
                Customer.code.label("customer_code"),
                Customer.name.label("customer_name"),
                Feedback.ticket_id,
                Feedback.kind,
                Feedback.score,
                Feedback.comment,
                Feedback.answered_at,
            )
            .join(Customer, Customer.id == Feedback.customer_id)
            .where(self._ctx.scope.customer_filter())
            .order_by(Feedback.answered_at.desc(), Feedback.id.desc())
        )
        if kind is not None:
            stmt = stmt.where(Feedback.kind == kind)
        return self._ctx.frame(stmt)
