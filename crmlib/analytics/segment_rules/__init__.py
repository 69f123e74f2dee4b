"""The segment rule language: parsing a rule (:mod:`.language`, over the fields of
:mod:`.fields`), compiling it into a scoped SQL query (:mod:`.compile`) and finding a saved
segment's rule (:mod:`.saved`). Saved segments themselves are :mod:`crmlib.analytics.segments`."""

from .language import parse

__all__ = ["parse"]
