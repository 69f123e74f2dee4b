"""Enumerations of the data model. The stored value is the English code; labels are for
people, in the message catalogue as ``enum:<enumeration>.<code>`` (crmlib/locale/)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ..i18n import LANGUAGES, catalogue


@dataclass(frozen=True)
class Choice:
    """One value of an enumeration: the code stored, and its labels from the catalogue."""

    enumeration: str
    code: str

    @property
    def zh(self) -> str:
        return self.label("zh")

    @property
    def en(self) -> str:
        return self.label("en")

    def label(self, lang: str = "zh") -> str:
        """The label in ``lang``; a language without a catalogue reads English."""
        texts = catalogue(lang if lang in LANGUAGES else "en")
        return texts[f"enum:{self.enumeration}.{self.code}"]


@dataclass(frozen=True)
class Enumeration:
    """A closed list of choices that accepts its code or a label in any language as input."""

    name: str
    choices: tuple[Choice, ...]

    def __iter__(self) -> Iterator[Choice]:
        return iter(self.choices)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    @cached_property
    def _accepted(self) -> dict[str, Choice]:
        """Each code and label, casefolded, to its choice (the first choice that has it)."""
        accepted: dict[str, Choice] = {}
        for choice in self.choices:
            for text in (choice.code, *(choice.label(lang) for lang in LANGUAGES)):
                accepted.setdefault(text.casefold(), choice)
        return accepted

    def lookup(self, text: str) -> Choice | None:
        """The choice whose code or label equals ``text`` (case-insensitive, trimmed)."""
        return self._accepted.get(text.strip().casefold())

    def label(self, code: str, lang: str = "zh") -> str:
        choice = self.lookup(code)
        return choice.label(lang) if choice else code


def _enum(name: str, *codes: str) -> Enumeration:
    return Enumeration(name, tuple(Choice(name, code) for code in codes))


ROLE = _enum("role", "admin", "manager", "sales", "marketing", "service", "finance", "analyst")
CUSTOMER_KIND = _enum("kind", "company", "person")
GRADE = _enum("grade", "A", "B", "C")
SIZE = _enum("size", "small", "medium", "large")
CUSTOMER_STATUS = _enum("status", "potential", "active", "lost", "archived")
SOURCE = _enum(
    "source",
    "website",
    "exhibition",
    "referral",
    "phone",
    "campaign",
    "social",
    "other",
)
LEAD_STATUS = _enum("lead_status", "new", "contacted", "qualified", "converted", "invalid")
VALUE_TIER = _enum("value_tier", "high", "medium", "low")
STAGE = _enum("stage", "contact", "needs_analysis", "proposal", "negotiation", "won", "lost")
CHANNEL = _enum("channel", "phone", "email", "visit", "wechat", "meeting")
CAMPAIGN_CHANNEL = _enum(
    "campaign_channel",
    "email",
    "sms",
    "wechat",
    "exhibition",
    "webinar",
    "advertising",
)
MEMBER_STATUS = _enum("member_status", "sent", "responded", "converted")
TICKET_TYPE = _enum("ticket_type", "inquiry", "complaint", "after_sales", "technical")
PRIORITY = _enum("priority", "high", "medium", "low")
TICKET_STATUS = _enum("ticket_status", "open", "in_progress", "resolved", "closed")
TICKET_EVENT = _enum("ticket_event", "status", "transfer", "comment", "response")
FEEDBACK_KIND = _enum("feedback_kind", "csat", "nps")
TASK_STATUS = _enum("task_status", "open", "in_progress", "done", "cancelled")

#: Teams are free text; these are the ones the demo and the default ticket routing use,
#: named after the regions of :mod:`crmlib.reference.regions`. Other teams read as typed.
TEAM = _enum(
    "team",
    "east",
    "south",
    "north",
    "central",
    "southwest",
    "northwest",
    "northeast",
    "service",
    "support",
    "marketing",
    "finance",
    "analytics",
)
SLA_STATE = _enum("sla_state", "ok", "at_risk", "breached")
RECORD_KIND = _enum("record_kind", "customer", "opportunity", "ticket", "lead")
REMINDER_KIND = _enum("reminder_kind", "follow_up", "task")
REPORT_RUN_STATUS = _enum("report_run_status", "running", "ok", "warning", "skipped", "failed")
REPORT_OUTPUT = _enum("report_output", "notebook", "html", "pdf", "xlsx")
#: Lists people read but never type into a record's field (no validation rule uses them).
SHOWN_ONLY: tuple[Enumeration, ...] = (
    TEAM,
    SLA_STATE,
    RECORD_KIND,
    REMINDER_KIND,
    REPORT_RUN_STATUS,
    REPORT_OUTPUT,
)

ENUMS: dict[str, Enumeration] = {
    e.name: e
    for e in (
        ROLE,
        CUSTOMER_KIND,
        GRADE,
        SIZE,
        CUSTOMER_STATUS,
        SOURCE,
        LEAD_STATUS,
        VALUE_TIER,
        STAGE,
        CHANNEL,
        CAMPAIGN_CHANNEL,
        MEMBER_STATUS,
        TICKET_TYPE,
        PRIORITY,
        TICKET_STATUS,
        TICKET_EVENT,
        FEEDBACK_KIND,
        TASK_STATUS,
    )
}


def enumeration(name: str) -> Enumeration:
    return ENUMS[name]
