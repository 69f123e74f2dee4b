"""Customer segments: saved rules in a small, safe filter language (see :mod:`.language`)."""

from .language import parse
from .service import MEMBER_COLUMNS, Segments

__all__ = ["MEMBER_COLUMNS", "Segments", "parse"]
