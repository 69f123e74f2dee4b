"""The workspace: one database, one acting user. Everything an analyst or a notebook does
starts with :func:`open`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import admin, team_mode
from .access import ROLES, Actor
from .admin import RestoreResult
from .analytics.churn import Churn
from .analytics.funnel import Funnel, sales_funnel
from .analytics.kpi import Kpis
from .analytics.profile import Profile, customer_profile
from .analytics.segments import Segments
from .config import database_url, is_sqlite
from .context import Context
from .domain.customers.custom_fields import CustomFields
from .domain.customers.customers import Customers
from .domain.customers.lifecycle import RefreshResult, refresh
from .domain.customers.search import search_customers
from .domain.marketing.campaigns import Campaigns
from .domain.sales.leads import Leads
from .domain.sales.pipeline import Opportunities, forecast
from .domain.sales.records import CONTACTS, INTERACTIONS, ORDERS, Records
from .domain.service.feedback import FeedbackAnswers
from .domain.service.knowledge import KnowledgeBase
from .domain.service.tickets import Tickets
from .domain.team.comments import Comments
from .domain.team.reminders import reminders
from .domain.team.tasks import Tasks
from .domain.team.users import Users, admin_display_name, find_user
from .errors import AccessDenied, ConfigError, FieldError, ValidationError
from .history import history
from .i18n import current_lang, speaking, t
from .quality.duplicates import Duplicates
from .quality.scorecard import Scorecard, scorecard, trend
from .reporting import Reports
from .settings import Settings
from .store.backup import BackupInfo
from .store.engine import WRITE_INTENT, make_engine
from .store.migrate import current_revision, head_revision, upgrade
from .store.models import Base, User
from .transfer.exporting import ExportResult, export
from .transfer.importing import ImportResult, import_file

BOOTSTRAP_ADMIN = "admin"


class Workspace:
    """A database seen through one user's role and scope."""

    def __init__(self, engine: Engine, actor: Actor, lang: str | None = None) -> None:
        self.engine = engine
        self.ctx = Context(engine, actor, current_lang(lang))
        self.users = Users(self.ctx)
        self.settings = Settings(self.ctx)
        self.customers = Customers(self.ctx)
        self.custom_fields = CustomFields(self.ctx)
        self.contacts = Records(self.ctx, CONTACTS)
        self.opportunities = Opportunities(self.ctx)
        self.interactions = Records(self.ctx, INTERACTIONS)
        self.orders = Records(self.ctx, ORDERS)
        self.duplicates = Duplicates(self.ctx)
        self.segments = Segments(self.ctx)
        self.churn = Churn(self.ctx)
        self.leads = Leads(
            self.ctx, self.customers, self.contacts, self.opportunities, self.duplicates.check
        )
        self.campaigns = Campaigns(self.ctx, segment_codes=self.segments.codes)
        self.tickets = Tickets(self.ctx)
        self.feedback = FeedbackAnswers(self.ctx)
        self.kb = KnowledgeBase(self.ctx)
        self.tasks = Tasks(self.ctx)
        self.comments = Comments(self.ctx)
        self._kpis = Kpis(self.ctx)
        self.reports = Reports(self.ctx, self)

    @property
    def user(self) -> Actor:
        return self.ctx.actor

    def import_file(
        self,
        kind: str,
        path: str | Path,
        *,
        dry_run: bool = False,
        strict: bool = False,
        sheet: str | None = None,
        output_dir: str | Path | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        engine: str | None = None,
        allow_duplicates: bool = False,
        mapping: Mapping[str, str] | None = None,
    ) -> ImportResult:
        """Import a CSV or .xlsx file of ``kind`` (customers, contacts, leads, opportunities,
        orders, tickets); see :mod:`crmlib.transfer.importing`. ``engine`` names the
        import engine (:mod:`crmlib.transfer.engines`; default: ``CRM_IMPORT_ENGINE``,
        else ``pipelined``), the same for a notebook as for ``crm import``.
        ``allow_duplicates`` creates customers that exactly duplicate stored ones (audited)
        instead of rejecting their rows. ``mapping`` names the field of headers the kind does
        not know, as ``crm import --map`` does: ``{"客户说明": "remarks"}``."""
        return import_file(
            self.ctx,
            kind,
            Path(path),
            dry_run=dry_run,
            strict=strict,
            sheet=sheet,
            output_dir=output_dir,
            progress=progress,
            engine=engine,
            allow_duplicates=allow_duplicates,
            mapping=mapping,
        )

    def export(
        self,
        kind: str,
        path: str | Path,
        *,
        fmt: str | None = None,
        columns: Sequence[str] | None = None,
        lang: str | None = None,
        segment: str | None = None,
    ) -> ExportResult:
        """Write the records of ``kind`` this user may see to CSV or .xlsx (PII masked by
        role), in the layout the importer reads back; the export is audited. ``segment``
        (customers only) limits it to a saved segment's members, or a rule's."""
        if segment is not None:
            if kind != "customers":
                raise ValidationError(
                    FieldError(
                        "segment", segment, "segment_kind", t("workspace:segment_kind", kind=kind)
                    )
                )
            return self.segments.export(segment, path, fmt=fmt, columns=columns)
        return export(self.ctx, kind, Path(path), fmt=fmt, columns=columns, lang=lang)

    def scorecard(self, *, stale_days: int = 90, save: bool = True) -> Scorecard:
        """The data-quality scorecard of the customers this user may see; saved runs give
        :meth:`scorecard_trend`."""
        return scorecard(self.ctx, stale_days=stale_days, save=save)

    def scorecard_trend(self) -> pd.DataFrame:
        return trend(self.ctx)

    def refresh(self, *, as_of: date | None = None, dry_run: bool = False) -> RefreshResult:
        """The nightly lifecycle job: grades from trailing-12-month spend, potential → active
        → lost, archive flags; see :mod:`crmlib.domain.customers.lifecycle`. Safe to run twice."""
        return refresh(self.ctx, as_of=as_of, dry_run=dry_run)

    def kpi(self, kpi_id: str, by: str | None = None, **filters: Any) -> pd.DataFrame:
        """One KPI of the catalogue as a DataFrame with a ``value`` column, grouped ``by``
        region, province, team, owner, month or industry where it makes sense; see
        :mod:`crmlib.analytics.kpi`."""
        return self._kpis.kpi(kpi_id, by, **filters)

    def kpis(self, ids: Sequence[str] | None = None, **filters: Any) -> pd.DataFrame:
        """The whole KPI catalogue (or the KPIs ``ids``) with values, names in your
        language and formulas."""
        return self._kpis.kpis(ids, **filters)

    def cohort_retention(self, **filters: Any) -> pd.DataFrame:
        """Monthly cohorts by first order and the share of each that ordered again."""
        return self._kpis.cohort_retention(**filters)

    def clv_forecast(self, months: int = 12, **filters: Any) -> pd.DataFrame:
        """Predicted customer lifetime value (BG/NBD with Gamma-Gamma) per customer."""
        return self._kpis.clv_forecast(months, **filters)

    def profile(self, by: str = "grade", **filters: Any) -> Profile:
        """The customer profile (regions, industries, sizes, value, product preference per
        ``by`` group, follow-ups); see :mod:`crmlib.analytics.profile`."""
        with speaking(self.ctx.lang):
            return customer_profile(self.ctx, by=by, **filters)

    def funnel(self, basis: str = "leads", **filters: Any) -> Funnel:
        """The sales funnel of the leads (or deals) created in the period: counts,
        conversions, days per step, loss reasons; see :mod:`crmlib.analytics.funnel`."""
        with speaking(self.ctx.lang):
            return sales_funnel(self.ctx, basis=basis, **filters)

    def forecast(
        self, by: str = "month", *, start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """Weighted forecast of the open opportunities by month, owner or team; see
        :func:`crmlib.domain.sales.pipeline.forecast`."""
        with speaking(self.ctx.lang):
            return forecast(self.ctx, by, start=start, end=end)

    def reminders(self, user: str | None = None) -> pd.DataFrame:
        """Due and overdue follow-up next actions and tasks of ``user`` (default: you)."""
        return reminders(self.ctx, user)

    def find_customers(self, query: str, limit: int = 20) -> pd.DataFrame:
        """Visible customers by part of a code, a (misspelt) name, phone digits or a tag,
        best first; see :func:`crmlib.domain.customers.search.search_customers`."""
        return search_customers(self.ctx, query, limit)

    def history(self, code: str) -> pd.DataFrame:
        """Change history of a customer (and the records under it), newest first."""
        self.customers.get(code)  # raises AccessDenied / NotFound for codes out of reach
        return history(self.ctx, code)

    def backup(
        self, directory: str | Path | None = None, *, keep_days: int | None = None
    ) -> BackupInfo:
        """Back the whole database up (an unmasked copy of everyone's data): for roles with
        ``backup_data`` (admin), audited; see :func:`crmlib.admin.backup`."""
        with speaking(self.ctx.lang):
            return admin.backup(self.engine, directory, keep_days, user=self.user)

    def restore(self, file: str | Path, *, directory: str | Path | None = None) -> RestoreResult:
        """Replace the database with a backup, after verifying it and backing the current
        contents up into ``directory``: for roles with ``restore_data`` (admin), audited,
        the audit events of the rolled-back work kept; see :func:`crmlib.admin.restore`."""
        with speaking(self.ctx.lang):
            return admin.restore(self.engine, file, directory, user=self.user)

    def operations(self, limit: int | None = 100) -> pd.DataFrame:
        """Backups, restores, resets and schema upgrades, newest first, each in a sentence
        (``text``): who, when, which file, how many rows. For administrators."""
        with speaking(self.ctx.lang):
            return admin.operations(self.engine, self.user, limit=limit, lang=self.ctx.lang)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        url = self.engine.url.render_as_string(hide_password=True)
        return f"<Workspace {url} as {self.user.username} ({self.user.role.name})>"


def resolve_username(user: str | None, engine: Engine | None = None) -> str:
    """The acting user: the argument, else CRM_USER, else JUPYTERHUB_USER. On a team
    database (``engine``'s, :mod:`crmlib.team_mode`) the connection's login, and a name
    that is not the login is refused."""
    name = user or os.environ.get("CRM_USER") or os.environ.get("JUPYTERHUB_USER")
    if engine is not None:
        name = team_mode.acting_username(engine, name)
    if not name:
        raise ConfigError(t("workspace:no_user"))
    return name


def ensure_schema(engine: Engine) -> None:
    """Create the schema of a new database; refuse one left behind by an older version."""
    revision = current_revision(engine)
    if revision is None:
        foreign = set(inspect(engine).get_table_names()) - set(Base.metadata.tables)
        if foreign - {"alembic_version"}:
            raise ConfigError(t("workspace:not_crm_database"))
        upgrade(engine)
    elif revision != head_revision():
        raise ConfigError(t("workspace:old_schema", revision=revision, head=head_revision()))


def _bootstrap_admin(session: Session, username: str) -> User | None:
    """On a database with no users, the first ``admin`` opens it and becomes its administrator."""
    if (
        username != BOOTSTRAP_ADMIN
        or session.execute(select(func.count()).select_from(User)).scalar_one()
    ):
        return None
    admin = User(
        username=BOOTSTRAP_ADMIN, display_name=admin_display_name(), role="admin", active=True
    )
    session.add(admin)
    try:
        session.commit()
    except IntegrityError:  # another process bootstrapped it a moment ago
        session.rollback()
        return None
    return admin


def open(url: str | None = None, user: str | None = None, *, lang: str | None = None) -> Workspace:
    """Open the CRM database at ``url`` as ``user``.

    ``url`` None means ``CRM_DATABASE_URL``, else the workspace database
    (``<CRM_HOME>/data/crm.db``, :func:`crmlib.config.home`). A new database
    gets its schema, and ``user="admin"`` bootstraps its first administrator. On a team
    database the user is the connection's login (``user`` may only repeat it).
    """
    with speaking(lang) if lang else nullcontext():  # errors speak the workspace's language
        resolved = database_url(url)
        # A file database has no logins: a missing user is refused before the file is made.
        named = resolve_username(user) if is_sqlite(resolved) else None
        engine = make_engine(resolved)
        try:
            username = named or resolve_username(user, engine)
            ensure_schema(engine)
            # The session may create the first admin, so it takes SQLite's write lock first.
            with Session(engine.execution_options(**{WRITE_INTENT: True})) as session:
                record = _bootstrap_admin(session, username) or find_user(session, username)
                if record.role not in ROLES:
                    raise AccessDenied(
                        t("workspace:unknown_role", username=username, role=record.role)
                    )
                actor = Actor.of(record)
        except BaseException:
            engine.dispose()
            raise
    return Workspace(engine, actor, lang)
