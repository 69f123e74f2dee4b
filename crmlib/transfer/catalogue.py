"""The kinds of record a file can carry, each registered once with all that belongs to it.

A kind's registration names its columns (:mod:`.kinds`), the writer that imports its rows
(:mod:`.writers`), the query its export reads (:mod:`.sources`) and the role permission
both need. Templates, imports, exports, the CLI's choices and the import notebook's list
all look kinds up here, so adding a kind is one :func:`add` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..access import Scope
from ..registry import Registry
from . import sources
from .kinds import CONTACTS, CUSTOMERS, LEADS, OPPORTUNITIES, ORDERS, TICKETS, FileKind
from .sources import Source
from .writers.base import Writer
from .writers.children import ContactWriter, OpportunityWriter, OrderWriter, TicketWriter
from .writers.customers import CustomerWriter
from .writers.leads import LeadWriter


@dataclass(frozen=True)
class Kind:
    """An importable and exportable kind: its columns, its writer, its export's source,
    and the role permission (:class:`crmlib.access.Role` attribute) importing it needs."""

    spec: FileKind
    writer: type[Writer]
    source: Callable[[Scope], Source]
    permission: str

    @property
    def name(self) -> str:
        return self.spec.name


KINDS: Registry[Kind] = Registry("kind")


def add(
    spec: FileKind, writer: type[Writer], source: Callable[[Scope], Source], permission: str
) -> Kind:
    """Register a kind of file (once)."""
    return KINDS.add(spec.name, Kind(spec, writer, source, permission))


def file_kind(name: str) -> Kind:
    """The kind called ``name``; an unknown name is a clear error listing the kinds."""
    return KINDS.get(name)


add(CUSTOMERS, CustomerWriter, sources.customers, "edit_customers")
add(CONTACTS, ContactWriter, sources.contacts, "edit_customers")
add(LEADS, LeadWriter, sources.leads, "edit_leads")
add(OPPORTUNITIES, OpportunityWriter, sources.opportunities, "edit_customers")
add(ORDERS, OrderWriter, sources.orders, "edit_customers")
add(TICKETS, TicketWriter, sources.tickets, "edit_tickets")
