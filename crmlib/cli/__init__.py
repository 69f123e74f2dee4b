"""The ``crm`` command: thin over crmlib, one clear line for every expected error.

Each module adds its subcommands to :data:`main`; importing them here registers them all.
"""

from . import (  # noqa: F401  (importing a module registers its subcommands)
    analytics,
    analytics_views,
    churn,
    core,
    fields,
    lab,
    lifecycle,
    notebooks,
    reports,
    sales,
    sales_work,
    segments,
    service,
    settings,
)
from .base import main, run

__all__ = ["main", "run"]
