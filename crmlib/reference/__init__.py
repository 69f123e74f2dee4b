"""Reference data: enumerations, GB/T 4754-2017 industries, provinces and regions.

Every value carries a Chinese and an English label, so entry forms, imports and reports
can show and accept either language while the database stores one stable code.
"""

from .enums import ENUMS, Choice, Enumeration, enumeration
from .industries import DIVISIONS, SECTIONS, Industry, find_industry
from .regions import PROVINCES, REGIONS, Province, find_province, find_region, region_of

__all__ = [
    "DIVISIONS",
    "ENUMS",
    "PROVINCES",
    "REGIONS",
    "SECTIONS",
    "Choice",
    "Enumeration",
    "Industry",
    "Province",
    "enumeration",
    "find_industry",
    "find_province",
    "find_region",
    "region_of",
]
