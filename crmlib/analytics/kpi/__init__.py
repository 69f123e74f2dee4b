"""The KPI catalogue: every figure registered once (:func:`kpi` on the function computing
it, gathered in :data:`CATALOGUE`), computed in the database and returned as a tidy
DataFrame, scoped to the asking user.

``ws.kpi("win_rate", period="previous_quarter", by="region")`` computes one KPI;
``ws.kpis(period="previous_quarter")`` the whole catalogue; ``ws.cohort_retention(...)`` and
``ws.clv_forecast(...)`` the two figures that are tables rather than single values.
"""

from .catalogue import CATALOGUE, FAMILIES, UNITS, Kpi
from .compute import FILTERS, Kpis
from .definition import kpi

__all__ = ["CATALOGUE", "FAMILIES", "FILTERS", "UNITS", "Kpi", "Kpis", "kpi"]
