"""Every environment variable crmlib reads or sets, described once.

docs/reference/environment.md is generated from :data:`VARIABLES`, and a test checks that
every ``CRM_*`` name in the code is listed here, so a new variable cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import t

#: Who sets a variable: the people who run the CRM, crmlib for the processes it starts
#: (kernels, Voila), or the project's own tests, benchmarks and CI; their titles are the
#: catalogue's ``environment_audience:<audience>``.
AUDIENCES = ("user", "internal", "development")


@dataclass(frozen=True)
class Variable:
    """One environment variable: its default (None: unset) and what it changes."""

    name: str
    audience: str
    default: str | None

    def description(self, lang: str) -> str:
        """What the variable changes, in ``lang`` (the catalogue's ``environment:<name>``)."""
        return t(f"environment:{self.name}", lang)


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "CRM_HOME",
        "user",
        "the clone crmlib runs from; for an installed package, the current folder",
    ),
    Variable("CRM_DATABASE_URL", "user", "`sqlite:///<CRM_HOME>/data/crm.db`"),
    Variable("CRM_USER", "user", None),
    Variable("JUPYTERHUB_USER", "user", None),
    Variable("CRM_LANG", "user", "`zh`"),
    Variable("CRM_TIMEZONE", "user", "`Asia/Shanghai`"),
    Variable("CRM_IMPORT_DIR", "user", "`imports/` beside the SQLite file (`data/imports`)"),
    Variable("CRM_IMPORT_ENGINE", "user", "`pipelined`"),
    Variable("CRM_BACKUP_DIR", "user", "`backups/` beside the SQLite file (`data/backups`)"),
    Variable("CRM_REPORTS", "user", "`reports`"),
    Variable("CRM_NOTEBOOKS", "user", "`notebooks/reports`"),
    Variable("CRM_CHROMIUM", "user", "`/usr/bin/chromium`"),
    Variable("CRM_REPORT_OUTPUT", "internal", None),
    Variable("CRM_REPORT_NOTES", "internal", None),
    Variable("CRM_VEGA_BUNDLE", "internal", None),
    Variable("CRM_PAGE_CHART_LIBRARIES", "internal", None),
    Variable("CRM_TEST_PG_URL", "development", None),
    Variable("CRM_SCREENSHOT_DIR", "development", "the test's own folder"),
    Variable("CRM_DOCS_DEMO_START", "development", "24 months before the current month"),
    Variable("CRM_BENCH_TIMEOUT_MS", "development", "`180000`"),
    Variable("CRM_CI_TIMEOUT", "development", "`28m`"),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
