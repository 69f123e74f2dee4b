"""Customer segments: saved rules in a small, safe filter language (see
:mod:`crmlib.analytics.segment_rules`)."""

from .service import MEMBER_COLUMNS, Segments

__all__ = ["MEMBER_COLUMNS", "Segments"]
