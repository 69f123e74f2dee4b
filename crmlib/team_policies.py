"""How team mode treats each table of the schema, in one place, and the policies that
follow from it (applied by :mod:`crmlib.team_mode` after every migration).

Every table is in exactly one of

- :data:`POLICIES`: scoped rows, with the scopes of :mod:`crmlib.access` (row-level
  security enabled and forced);
- :data:`GUARDED`: everyone reads, and only the roles holding one of the table's
  permissions (of :class:`crmlib.access.Role`, as the API's ``require`` calls ask)
  insert, update or delete;
- :data:`READ_ONLY`: everyone reads, nobody changes;
- :data:`APPEND_ONLY`: everyone adds, nobody changes or deletes; ``audit_events`` is also
  read by scope (:data:`AUDIT_READERS`);
- :data:`SHARED`: working data every role reads and writes through the API, which checks
  no permission for it.

A table in none of them (a later migration's) fails the tests until it is placed.
"""

from __future__ import annotations

from collections.abc import Collection

from .access import CUSTOMER_CHILDREN, ROLES
from .store.models import (
    Article,
    AuditEvent,
    Campaign,
    CodeSequence,
    CustomField,
    CustomValue,
    ImportBatch,
    ImportReject,
    Merge,
    QualityRun,
    ReportRun,
    Segment,
    SegmentSize,
    Setting,
    TeamMode,
    User,
)

#: Tables members of the group role may read but never change.
READ_ONLY = ("alembic_version", TeamMode.__tablename__)
#: Tables members of the group role may add to but never change or delete from.
APPEND_ONLY = (AuditEvent.__tablename__,)

_IN_SCOPE = "= ANY ((SELECT crm_scope_users())::integer[])"  # an array, not a subquery


def _under(column: str, parent: str) -> str:
    """Rows whose ``column`` points at a row of ``parent`` the actor may see (the parent's
    own policy decides)."""
    return f"{column} IN (SELECT id FROM {parent})"


#: The kinds of record that have custom fields (``custom_fields.kind``): each kind is the
#: name of its table (:data:`crmlib.domain.customers.custom_fields.RECORDS`).
CUSTOM_KINDS = ("customers", "leads", "opportunities", "tickets")


def _custom_values() -> str:
    """A custom value is visible and writable where its record is: for each kind, the
    record's own table (and so its policy) decides."""
    fields = CustomField.__tablename__
    return " OR ".join(
        f"(field_id IN (SELECT id FROM {fields} WHERE kind = '{kind}') "
        f"AND {_under('record_id', kind)})"
        for kind in CUSTOM_KINDS
    )


#: The row-level security of each scoped table for the logins whose role sees a scope
#: (``own`` or ``team``), one place: the same rules as :class:`crmlib.access.Scope`
#: (customers by owner; the records under a customer by their customer; leads by owner, a
#: manager also the team's unassigned ones; tasks by assignee or author; custom values by
#: their record). The logins whose role sees everything (members of
#: ``TeamRoles.everyone``, which :func:`crmlib.team_mode.sync_scope` keeps in step with
#: their CRM role) get a policy without a condition, so neither pays for the other's: a
#: rep's condition uses the indexes, an analyst's query has none.
POLICIES: dict[str, str] = {
    "customers": f"owner_id {_IN_SCOPE}",
    **{child.__tablename__: _under("customer_id", "customers") for child in CUSTOMER_CHILDREN},
    "opportunity_stage_history": _under("opportunity_id", "opportunities"),
    "ticket_events": _under("ticket_id", "tickets"),
    "ticket_articles": _under("ticket_id", "tickets"),
    "leads": (
        f"owner_id {_IN_SCOPE} OR ((SELECT crm_scope()) = 'team'"
        " AND owner_id IS NULL AND (team IS NULL OR team = (SELECT crm_team())))"
    ),
    "tasks": f"assignee_id {_IN_SCOPE} OR created_by_id {_IN_SCOPE}",
    CustomValue.__tablename__: _custom_values(),
}

#: The permissions that import a kind of file (:data:`crmlib.transfer.catalogue.KINDS`):
#: whoever holds one records import batches and their rejected rows.
IMPORT_PERMISSIONS = ("edit_customers", "edit_leads", "edit_tickets")

#: Tables everyone reads and only roles with one of the permissions (of
#: :class:`crmlib.access.Role`) change, as the API checks them: whoever could write
#: ``users`` could make themselves an administrator; the others follow the domain
#: modules' ``require`` calls (custom field definitions are settings; campaigns need
#: ``edit_campaigns``, the knowledge base ``edit_tickets``, merges ``edit_customers``).
#: Enabled but not forced, so the owner's functions read ``users`` without policies (no
#: recursion).
GUARDED: dict[str, tuple[str, ...]] = {
    User.__tablename__: ("manage_users",),
    Setting.__tablename__: ("manage_settings",),
    CustomField.__tablename__: ("manage_settings",),
    Campaign.__tablename__: ("edit_campaigns",),
    Article.__tablename__: ("edit_tickets",),
    Merge.__tablename__: ("edit_customers",),
    ImportBatch.__tablename__: IMPORT_PERMISSIONS,
    ImportReject.__tablename__: IMPORT_PERMISSIONS,
}

#: Working data the API lets every role write without a permission: saved segments and
#: their measured sizes, report runs, data-quality scorecards, and the code sequences
#: every new record draws from.
SHARED = (
    Segment.__tablename__,
    SegmentSize.__tablename__,
    ReportRun.__tablename__,
    QualityRun.__tablename__,
    CodeSequence.__tablename__,
)

#: What ``crm_role()`` answers for an installation login (a member of the owner role).
INSTALLER = "*"

#: The permissions whose holders read every audit event (the whole workspace's
#: operations and users); everyone else reads the events of the customers they see, as
#: ``ws.history`` shows them, and those of their own actions.
AUDIT_READERS = ("manage_users", "backup_data", "restore_data", "reset_database")


def treatment(table: str) -> str | None:
    """How team mode treats ``table``: ``scoped``, ``guarded``, ``read-only``,
    ``append-only`` or ``shared``; None for a table placed nowhere yet."""
    kinds: dict[str, Collection[str]] = {
        "scoped": POLICIES,
        "guarded": GUARDED,
        "read-only": READ_ONLY,
        "append-only": APPEND_ONLY,
        "shared": SHARED,
    }
    return next((kind for kind, tables in kinds.items() if table in tables), None)


def _holders(permissions: tuple[str, ...]) -> str:
    """The CRM roles holding any of ``permissions``, and the installer, as an SQL list."""
    names = (
        INSTALLER,
        *(r.name for r in ROLES.values() if any(getattr(r, p) for p in permissions)),
    )
    return ", ".join(f"'{name}'" for name in names)


#: The policies of a guarded table.
GUARD_POLICIES = ("crm_read", "crm_insert", "crm_update", "crm_delete")


def guard(table: str, permissions: tuple[str, ...]) -> list[str]:
    """The policies of a table everyone reads and only holders of ``permissions`` change."""
    rule = f"(SELECT crm_role()) IN ({_holders(permissions)})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {name} ON {table}" for name in GUARD_POLICIES),
        f"CREATE POLICY crm_read ON {table} FOR SELECT USING (true)",
        f"CREATE POLICY crm_insert ON {table} FOR INSERT WITH CHECK ({rule})",
        f"CREATE POLICY crm_update ON {table} FOR UPDATE USING ({rule}) WITH CHECK ({rule})",
        f"CREATE POLICY crm_delete ON {table} FOR DELETE USING ({rule})",
    ]


def audit_scope() -> list[str]:
    """The read scope of the audit log: holders of :data:`AUDIT_READERS` read every event;
    everyone else those filed under a customer they see (the customers' policy decides)
    and those of their own actions. Anyone may add events of their own actions (an
    installation login any); the grants let nobody change or delete them. Enabled but not
    forced, so the owner's trigger functions write freely."""
    table = AuditEvent.__tablename__
    everything = f"(SELECT crm_role()) IN ({_holders(AUDIT_READERS)})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {name} ON {table}" for name in GUARD_POLICIES),
        f"CREATE POLICY crm_read ON {table} FOR SELECT USING ({everything} "
        f"OR actor = session_user OR ref IN (SELECT code FROM customers))",
        f"CREATE POLICY crm_insert ON {table} FOR INSERT "
        f"WITH CHECK (actor = session_user OR (SELECT crm_role()) = '{INSTALLER}')",
    ]
