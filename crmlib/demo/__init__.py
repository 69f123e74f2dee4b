"""Demo data: a realistic Chinese B2B customer base with two years of history.

``generate(engine, customers=5000, seed=42)`` fills a CRM database; ``period(start)`` is
the span it covers (its end is the as-of date for reports on demo data), and
``injected_duplicates(customers, seed)`` names the duplicates it planted for the quality
features to find.
"""

from .generate import generate, injected_duplicates
from .timeline import period

__all__ = ["generate", "injected_duplicates", "period"]
