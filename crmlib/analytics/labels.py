"""Names people read on the profile, the funnel and the charts, in Chinese and English.

Kept apart from :mod:`crmlib.analytics.charts` so that the ``crm`` command can label its
tables without importing Altair.
"""

from __future__ import annotations

from ..i18n import MESSAGES, t
from ..reference.enums import ENUMS
from ..reference.industries import find_industry
from ..reference.regions import REGION_EN, find_province

#: The figure groups a profile's product preference can be split by.
GROUP_COLUMNS = ("grade", "industry", "size", "region", "kind")


def label(key: str, lang: str | None = None, **values: object) -> str:
    """A figure label such as ``label("customers")`` in ``lang``."""
    return t(f"figures:{key}", lang, **values)


def group_label(column: str, lang: str | None = None) -> str:
    """The name of a group column (``by="team"`` reads 团队); a column without one keeps
    its name, which is then a name already."""
    return label(column, lang) if f"figures:{column}" in MESSAGES else column


def value_label(column: str, code: object, lang: str) -> str:
    """How a stored value of ``column`` (a region, province, industry section, enum code)
    reads in ``lang``; missing values read "not set"."""
    if code is None or code == "" or (isinstance(code, float) and code != code):
        return label("not_set", lang)
    text = str(code)
    english = not lang.startswith("zh")
    if column == "region":
        return REGION_EN.get(text, text) if english else text
    if column == "province":
        province = find_province(text)
        return province.label(lang) if province else text
    if column == "industry":
        industry = find_industry(text)
        return industry.label(lang) if industry else text
    enum = ENUMS.get(column)
    return enum.label(text, lang) if enum else text
