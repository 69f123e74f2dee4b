"""The KPI catalogue: every figure registered once, with :func:`~.definition.kpi` on the
function computing it, in the module of its family. Importing this module registers them
all, in the order the dashboard, the ``crm kpi`` command and the reference list them.
"""

from __future__ import annotations

# Each family registers its KPIs as it is imported: this order is the catalogue's.
# isort: off
from . import customers, value, sales, service, data  # noqa: F401

# isort: on
from .definition import CATALOGUE, FAMILIES, UNITS, Kpi, family_name, schedule

__all__ = ["CATALOGUE", "FAMILIES", "UNITS", "Kpi", "family_name", "schedule"]
