"""The rules of a lead's status, shared by the API, the conversion and the importer.

``new → contacted → qualified → converted``, or ``invalid`` from any open status.
``new → invalid`` is allowed (an empty number, a test entry or a competitor is obvious
before anyone calls); ``new → qualified`` is not, because a need and a budget are only
confirmed by talking to the lead. ``converted`` and ``invalid`` are final; ``converted``
is reached only by converting the lead, which creates its customer.
"""

from __future__ import annotations

from ...errors import FieldError, ValidationError
from ...i18n import t
from ...reference.enums import LEAD_STATUS
from ..flows import Flow

#: Statuses of a lead someone still works on.
OPEN_STATUSES = ("new", "contacted", "qualified")

LEAD_FLOW = Flow.of(
    "lead_status_flow",
    "status",
    LEAD_STATUS,
    {
        "new": ("contacted", "invalid"),
        "contacted": ("qualified", "invalid"),
        "qualified": ("converted", "invalid"),
    },
)


def status_errors(
    status: str | None, invalid_reason: str | None, customer_id: int | None = None
) -> list[FieldError]:
    """What a lead's status demands of the rest of the lead, for every entry path:
    ``invalid`` needs a reason; ``converted`` needs the customer it became, and only a
    converted lead has one."""
    errors = []
    if status == "invalid" and not invalid_reason:
        errors.append(
            FieldError(
                "invalid_reason",
                invalid_reason,
                "invalid_needs_reason",
                t("leads:invalid_needs_reason"),
            )
        )
    if status == "converted" and customer_id is None:
        errors.append(
            FieldError(
                "status", status, "converted_needs_customer", t("leads:converted_needs_customer")
            )
        )
    if status != "converted" and customer_id is not None:
        errors.append(
            FieldError(
                "status", status, "customer_needs_conversion", t("leads:customer_needs_conversion")
            )
        )
    return errors


def refuse_manual_conversion(status: str | None) -> None:
    """``converted`` is set by :meth:`Leads.convert` only."""
    if status == "converted":
        raise ValidationError(
            FieldError(
                "status", status, "converted_by_conversion", t("leads:converted_by_conversion")
            )
        )
