"""The rules of a lead's status, shared by the API, the conversion and the importer.

``new → contacted → qualified → converted``, or ``invalid`` from any open status.
``new → invalid`` is allowed (an empty number, a test entry or a competitor is obvious
before anyone calls); ``new → qualified`` is not, because a need and a budget are only
confirmed by talking to the lead. ``converted`` and ``invalid`` are final; ``converted``
is reached only by converting the lead, which creates its customer.
"""

from __future__ import annotations

from ..errors import FieldError, ValidationError
from ..i18n import register, t
from ..reference.enums import LEAD_STATUS
from .flows import Flow

register(
    {
        "invalid_needs_reason": {
            "en": "an invalid lead needs the reason why (invalid_reason)",
            "zh": "无效线索必须填写无效原因（invalid_reason）",
        },
        "converted_by_conversion": {
            "en": "a lead becomes converted only by converting it (ws.leads.convert / "
            "crm leads convert), which creates its customer",
            "zh": "线索只能通过“转化”（ws.leads.convert / crm leads convert）变为已转化，"
            "转化时会创建客户",
        },
        "customer_needs_conversion": {
            "en": "only a converted lead names the customer it became (status converted)",
            "zh": "只有已转化的线索才能填写对应的客户（线索状态应为已转化）",
        },
        "converted_needs_customer": {
            "en": "a converted lead needs the customer it became (customer_code)",
            "zh": "已转化的线索必须填写对应的客户（客户编号）",
        },
    },
    namespace="leads",
)

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
