"""Provinces and sales regions: the 34 provincial-level divisions of China (GB/T 2260).

Each province carries its GB/T 2260 "Codes for the administrative divisions of the People's
Republic of China" two-digit code, its full and short Chinese names, its English name, and the
one sales region (华东, 华南, 华北, 华中, 西南, 西北, 东北) it is reported under. The CRM stores
the code; :func:`find_province` maps what people type (full or short name, English or pinyin,
traditional characters, full-width forms) back to it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = [
    "PROVINCES",
    "REGIONS",
    "REGION_EN",
    "Province",
    "find_province",
    "find_region",
    "region_of",
]


@dataclass(frozen=True)
class Province:
    """A provincial-level division and the sales region it belongs to."""

    code: str
    name: str
    short: str
    en: str
    region: str

    def label(self, lang: str = "zh") -> str:
        """The name to show: the full Chinese name for ``"zh"`` (and ``"zh-CN"``), else English."""
        return self.name if lang.lower().startswith("zh") else self.en


REGIONS: tuple[str, ...] = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
"""The seven sales regions, in reporting order."""

REGION_EN: dict[str, str] = {
    "华东": "East China",
    "华南": "South China",
    "华北": "North China",
    "华中": "Central China",
    "西南": "Southwest China",
    "西北": "Northwest China",
    "东北": "Northeast China",
}
"""English names of the sales regions, keyed by the Chinese name."""

PROVINCES: tuple[Province, ...] = (
    Province("11", "北京市", "北京", "Beijing", "华北"),
    Province("12", "天津市", "天津", "Tianjin", "华北"),
    Province("13", "河北省", "河北", "Hebei", "华北"),
    Province("14", "山西省", "山西", "Shanxi", "华北"),
    Province("15", "内蒙古自治区", "内蒙古", "Inner Mongolia", "华北"),
    Province("21", "辽宁省", "辽宁", "Liaoning", "东北"),
    Province("22", "吉林省", "吉林", "Jilin", "东北"),
    Province("23", "黑龙江省", "黑龙江", "Heilongjiang", "东北"),
    Province("31", "上海市", "上海", "Shanghai", "华东"),
    Province("32", "江苏省", "江苏", "Jiangsu", "华东"),
    Province("33", "浙江省", "浙江", "Zhejiang", "华东"),
    Province("34", "安徽省", "安徽", "Anhui", "华东"),
    Province("35", "福建省", "福建", "Fujian", "华东"),
    Province("36", "江西省", "江西", "Jiangxi", "华东"),
    Province("37", "山东省", "山东", "Shandong", "华东"),
    Province("41", "河南省", "河南", "Henan", "华中"),
    Province("42", "湖北省", "湖北", "Hubei", "华中"),
    Province("43", "湖南省", "湖南", "Hunan", "华中"),
    Province("44", "广东省", "广东", "Guangdong", "华南"),
    Province("45", "广西壮族自治区", "广西", "Guangxi", "华南"),
    Province("46", "海南省", "海南", "Hainan", "华南"),
    Province("50", "重庆市", "重庆", "Chongqing", "西南"),
    Province("51", "四川省", "四川", "Sichuan", "西南"),
    Province("52", "贵州省", "贵州", "Guizhou", "西南"),
    Province("53", "云南省", "云南", "Yunnan", "西南"),
    Province("54", "西藏自治区", "西藏", "Tibet", "西南"),
    Province("61", "陕西省", "陕西", "Shaanxi", "西北"),
    Province("62", "甘肃省", "甘肃", "Gansu", "西北"),
    Province("63", "青海省", "青海", "Qinghai", "西北"),
    Province("64", "宁夏回族自治区", "宁夏", "Ningxia", "西北"),
    Province("65", "新疆维吾尔自治区", "新疆", "Xinjiang", "西北"),
    Province("71", "台湾省", "台湾", "Taiwan", "华东"),
    Province("81", "香港特别行政区", "香港", "Hong Kong", "华南"),
    Province("82", "澳门特别行政区", "澳门", "Macao", "华南"),
)
"""All 34 provincial-level divisions, in GB/T 2260 code order."""

# Other spellings in use: pinyin / postal forms and the long official English names.
_EN_ALIASES: dict[str, tuple[str, ...]] = {
    "11": ("Peking",),
    "15": (
        "Nei Mongol",
        "Nei Menggu",
        "Inner Mongolia Autonomous Region",
        "Nei Mongol Autonomous Region",
    ),
    "45": ("Guangxi Zhuang Autonomous Region",),
    "54": ("Xizang", "Xizang Autonomous Region", "Tibet Autonomous Region"),
    "64": ("Ningxia Hui Autonomous Region",),
    "65": ("Xinjiang Uygur Autonomous Region", "Xinjiang Uyghur Autonomous Region"),
    "81": ("Hong Kong SAR", "Hong Kong Special Administrative Region", "HKSAR"),
    "82": ("Macau", "Macao SAR", "Macau SAR", "Macao Special Administrative Region"),
}

# Traditional characters that occur in province and region names -> simplified. Folding the
# input (rather than listing every traditional name) also covers mixed forms such as 台灣.
_TRADITIONAL = str.maketrans(
    "廣東遼寧龍臺灣陝陜貴雲內維爾區慶蘇門肅壯別華",
    "广东辽宁龙台湾陕陕贵云内维尔区庆苏门肃壮别华",
)

# Endings people add or drop after a short name: 广西自治区, 香港特区, 北京市, 广东省.
_ZH_SUFFIXES: tuple[str, ...] = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "自治区",
    "特别行政区",
    "特区",
    "省",
    "市",
)
_EN_SUFFIXES: tuple[str, ...] = ("province", "municipality", "city")


def _key(text: str) -> str:
    """Fold width, case, traditional characters, spaces, hyphens and other punctuation away."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TRADITIONAL)
    return "".join(
        ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def _build_index() -> dict[str, Province]:
    """Every accepted key -> province; a key claimed by two provinces is a bug in the data."""
    index: dict[str, Province] = {}
    for province in PROVINCES:
        keys = {
            province.code,
            f"{province.code}0000",
            province.name,
            province.short,
            province.en,
            *_EN_ALIASES.get(province.code, ()),
        }
        for key in map(_key, keys):
            if index.setdefault(key, province) is not province:
                raise RuntimeError(f"province key {key!r} is ambiguous")
    return index


_INDEX = _build_index()


def find_province(text: str) -> Province | None:
    """The province ``text`` names, or None.

    Accepts the GB/T 2260 code (``"44"`` or ``"440000"``), the full or short Chinese name in
    simplified or traditional characters, with or without 省/市/自治区, and the English or pinyin
    name (case, spaces and hyphens ignored). Shaanxi (陕西) and Shanxi (山西) stay distinct.
    """
    key = _key(text)
    if not key:
        return None
    found = _INDEX.get(key)
    if found is not None:
        return found
    for suffix in (*_ZH_SUFFIXES, *_EN_SUFFIXES):
        stem = key.removesuffix(suffix)
        if stem != key and stem:
            return _INDEX.get(stem)
    return None


def region_of(text: str) -> str | None:
    """The sales region (Chinese name) of the province ``text`` names, or None."""
    province = find_province(text)
    return province.region if province is not None else None


_REGION_INDEX: dict[str, str] = {
    _key(name): region
    for region, en in REGION_EN.items()
    for name in (region, en, en.removesuffix(" China"))
}


def find_region(text: str) -> str | None:
    """The Chinese name of the sales region ``text`` names, or None.

    Accepts the Chinese name in simplified or traditional characters (华东, 華東, 华东区, 华东地区)
    and the English name with or without "China" (``"East China"``, ``"east"``).
    """
    key = _key(text)
    if not key:
        return None
    for candidate in (key, key.removesuffix("地区"), key.removesuffix("区")):
        region = _REGION_INDEX.get(candidate)
        if region is not None:
            return region
    return None
