"""Industries: GB/T 4754-2017 "Industrial classification for national economic activities".

The 20 sections (门类, letters A-T) and 97 divisions (大类, codes 01-97) of the 2017 edition
of the national standard 《国民经济行业分类》, with their official Chinese names and English
names. The CRM stores the code (a section letter or a two-digit division code); the names are
for people, so forms and imports accept either language and :func:`find_industry` maps free
text back to the code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crmlib.errors import FieldError, ValidationError
from crmlib.i18n import t

__all__ = ["DIVISIONS", "SECTIONS", "Industry", "find_industry", "section_of"]


@dataclass(frozen=True)
class Industry:
    """A section or a division; ``section`` is the letter it belongs to (itself for a section)."""

    code: str
    zh: str
    en: str
    section: str

    @property
    def is_section(self) -> bool:
        """True for a 门类 (letter code), so callers need not test the code's shape."""
        return self.code == self.section

    def label(self, lang: str = "zh") -> str:
        """The name to show: Chinese for ``"zh"`` (and ``"zh-CN"`` etc.), English otherwise."""
        return self.zh if lang.lower().startswith("zh") else self.en


# (letter, first division, last division, Chinese name, English name)
# fmt: off
_SECTION_ROWS: tuple[tuple[str, int, int, str, str], ...] = (
    ("A", 1, 5, "农、林、牧、渔业", "Agriculture, Forestry, Animal Husbandry and Fishery"),
    ("B", 6, 12, "采矿业", "Mining"),
    ("C", 13, 43, "制造业", "Manufacturing"),
    (
        "D", 44, 46, "电力、热力、燃气及水生产和供应业",
        "Production and Supply of Electricity, Heat, Gas and Water",
    ),
    ("E", 47, 50, "建筑业", "Construction"),
    ("F", 51, 52, "批发和零售业", "Wholesale and Retail Trades"),
    ("G", 53, 60, "交通运输、仓储和邮政业", "Transport, Storage and Postal Services"),
    ("H", 61, 62, "住宿和餐饮业", "Accommodation and Catering"),
    (
        "I", 63, 65, "信息传输、软件和信息技术服务业",
        "Information Transmission, Software and Information Technology Services",
    ),
    ("J", 66, 69, "金融业", "Finance"),
    ("K", 70, 70, "房地产业", "Real Estate"),
    ("L", 71, 72, "租赁和商务服务业", "Leasing and Business Services"),
    ("M", 73, 75, "科学研究和技术服务业", "Scientific Research and Technical Services"),
    (
        "N", 76, 79, "水利、环境和公共设施管理业",
        "Management of Water Conservancy, Environment and Public Facilities",
    ),
    ("O", 80, 82, "居民服务、修理和其他服务业", "Resident Services, Repair and Other Services"),
    ("P", 83, 83, "教育", "Education"),
    ("Q", 84, 85, "卫生和社会工作", "Health and Social Work"),
    ("R", 86, 90, "文化、体育和娱乐业", "Culture, Sports and Entertainment"),
    (
        "S", 91, 96, "公共管理、社会保障和社会组织",
        "Public Management, Social Security and Social Organizations",
    ),
    ("T", 97, 97, "国际组织", "International Organizations"),
)
# fmt: on

# (two-digit code, Chinese name, English name); the section follows from _SECTION_ROWS.
# fmt: off
_DIVISION_ROWS: tuple[tuple[str, str, str], ...] = (
    # A 农、林、牧、渔业
    ("01", "农业", "Agriculture"),
    ("02", "林业", "Forestry"),
    ("03", "畜牧业", "Animal Husbandry"),
    ("04", "渔业", "Fishery"),
    (
        "05", "农、林、牧、渔专业及辅助性活动",
        "Professional and Support Activities for Agriculture, Forestry, Animal Husbandry "
        "and Fishery",
    ),
    # B 采矿业
    ("06", "煤炭开采和洗选业", "Mining and Washing of Coal"),
    ("07", "石油和天然气开采业", "Extraction of Petroleum and Natural Gas"),
    ("08", "黑色金属矿采选业", "Mining and Processing of Ferrous Metal Ores"),
    ("09", "有色金属矿采选业", "Mining and Processing of Non-ferrous Metal Ores"),
    ("10", "非金属矿采选业", "Mining and Processing of Non-metallic Minerals"),
    ("11", "开采专业及辅助性活动", "Professional and Support Activities for Mining"),
    ("12", "其他采矿业", "Other Mining"),
    # C 制造业
    ("13", "农副食品加工业", "Processing of Food from Agricultural Products"),
    ("14", "食品制造业", "Manufacture of Foods"),
    ("15", "酒、饮料和精制茶制造业", "Manufacture of Liquor, Beverages and Refined Tea"),
    ("16", "烟草制品业", "Manufacture of Tobacco Products"),
    ("17", "纺织业", "Manufacture of Textiles"),
    ("18", "纺织服装、服饰业", "Manufacture of Textile Apparel and Accessories"),
    (
        "19", "皮革、毛皮、羽毛及其制品和制鞋业",
        "Manufacture of Leather, Fur, Feather and Related Products and Footwear",
    ),
    (
        "20", "木材加工和木、竹、藤、棕、草制品业",
        "Processing of Timber and Manufacture of Wood, Bamboo, Rattan, Palm and Straw Products",
    ),
    ("21", "家具制造业", "Manufacture of Furniture"),
    ("22", "造纸和纸制品业", "Manufacture of Paper and Paper Products"),
    ("23", "印刷和记录媒介复制业", "Printing and Reproduction of Recording Media"),
    (
        "24", "文教、工美、体育和娱乐用品制造业",
        "Manufacture of Articles for Culture, Education, Arts and Crafts, Sports and "
        "Entertainment",
    ),
    ("25", "石油、煤炭及其他燃料加工业", "Processing of Petroleum, Coal and Other Fuels"),
    (
        "26", "化学原料和化学制品制造业",
        "Manufacture of Raw Chemical Materials and Chemical Products",
    ),
    ("27", "医药制造业", "Manufacture of Medicines"),
    ("28", "化学纤维制造业", "Manufacture of Chemical Fibers"),
    ("29", "橡胶和塑料制品业", "Manufacture of Rubber and Plastic Products"),
    ("30", "非金属矿物制品业", "Manufacture of Non-metallic Mineral Products"),
    ("31", "黑色金属冶炼和压延加工业", "Smelting and Pressing of Ferrous Metals"),
    ("32", "有色金属冶炼和压延加工业", "Smelting and Pressing of Non-ferrous Metals"),
    ("33", "金属制品业", "Manufacture of Metal Products"),
    ("34", "通用设备制造业", "Manufacture of General-purpose Machinery"),
    ("35", "专用设备制造业", "Manufacture of Special-purpose Machinery"),
    ("36", "汽车制造业", "Manufacture of Automobiles"),
    (
        "37", "铁路、船舶、航空航天和其他运输设备制造业",
        "Manufacture of Railway, Ship, Aerospace and Other Transport Equipment",
    ),
    ("38", "电气机械和器材制造业", "Manufacture of Electrical Machinery and Apparatus"),
    (
        "39", "计算机、通信和其他电子设备制造业",
        "Manufacture of Computers, Communication and Other Electronic Equipment",
    ),
    ("40", "仪器仪表制造业", "Manufacture of Measuring Instruments and Meters"),
    ("41", "其他制造业", "Other Manufacturing"),
    ("42", "废弃资源综合利用业", "Comprehensive Utilization of Waste Resources"),
    (
        "43", "金属制品、机械和设备修理业",
        "Repair of Metal Products, Machinery and Equipment",
    ),
    # D 电力、热力、燃气及水生产和供应业
    ("44", "电力、热力生产和供应业", "Production and Supply of Electricity and Heat"),
    ("45", "燃气生产和供应业", "Production and Supply of Gas"),
    ("46", "水的生产和供应业", "Production and Supply of Water"),
    # E 建筑业
    ("47", "房屋建筑业", "Construction of Buildings"),
    ("48", "土木工程建筑业", "Civil Engineering"),
    ("49", "建筑安装业", "Building Installation"),
    (
        "50", "建筑装饰、装修和其他建筑业",
        "Building Decoration, Renovation and Other Construction Activities",
    ),
    # F 批发和零售业
    ("51", "批发业", "Wholesale Trade"),
    ("52", "零售业", "Retail Trade"),
    # G 交通运输、仓储和邮政业
    ("53", "铁路运输业", "Rail Transport"),
    ("54", "道路运输业", "Road Transport"),
    ("55", "水上运输业", "Water Transport"),
    ("56", "航空运输业", "Air Transport"),
    ("57", "管道运输业", "Pipeline Transport"),
    ("58", "多式联运和运输代理业", "Multimodal Transport and Transport Agency"),
    ("59", "装卸搬运和仓储业", "Loading, Unloading, Handling and Warehousing"),
    ("60", "邮政业", "Postal Services"),
    # H 住宿和餐饮业
    ("61", "住宿业", "Accommodation"),
    ("62", "餐饮业", "Catering Services"),
    # I 信息传输、软件和信息技术服务业
    (
        "63", "电信、广播电视和卫星传输服务",
        "Telecommunications, Radio and Television and Satellite Transmission Services",
    ),
    ("64", "互联网和相关服务", "Internet and Related Services"),
    ("65", "软件和信息技术服务业", "Software and Information Technology Services"),
    # J 金融业
    ("66", "货币金融服务", "Monetary and Financial Services"),
    ("67", "资本市场服务", "Capital Market Services"),
    ("68", "保险业", "Insurance"),
    ("69", "其他金融业", "Other Financial Services"),
    # K 房地产业
    ("70", "房地产业", "Real Estate"),
    # L 租赁和商务服务业
    ("71", "租赁业", "Leasing"),
    ("72", "商务服务业", "Business Services"),
    # M 科学研究和技术服务业
    ("73", "研究和试验发展", "Research and Experimental Development"),
    ("74", "专业技术服务业", "Professional Technical Services"),
    ("75", "科技推广和应用服务业", "Technology Promotion and Application Services"),
    # N 水利、环境和公共设施管理业
    ("76", "水利管理业", "Water Conservancy Management"),
    ("77", "生态保护和环境治理业", "Ecological Protection and Environmental Governance"),
    ("78", "公共设施管理业", "Public Facilities Management"),
    ("79", "土地管理业", "Land Management"),
    # O 居民服务、修理和其他服务业
    ("80", "居民服务业", "Resident Services"),
    (
        "81", "机动车、电子产品和日用产品修理业",
        "Repair of Motor Vehicles, Electronic Products and Household Goods",
    ),
    ("82", "其他服务业", "Other Services"),
    # P 教育
    ("83", "教育", "Education"),
    # Q 卫生和社会工作
    ("84", "卫生", "Health"),
    ("85", "社会工作", "Social Work"),
    # R 文化、体育和娱乐业
    ("86", "新闻和出版业", "News and Publishing"),
    ("87", "广播、电视、电影和录音制作业", "Radio, Television, Film and Sound Recording"),
    ("88", "文化艺术业", "Culture and Arts"),
    ("89", "体育", "Sports"),
    ("90", "娱乐业", "Entertainment"),
    # S 公共管理、社会保障和社会组织
    ("91", "中国共产党机关", "Organs of the Communist Party of China"),
    ("92", "国家机构", "State Organs"),
    ("93", "人民政协、民主党派", "CPPCC and Democratic Parties"),
    ("94", "社会保障", "Social Security"),
    (
        "95", "群众团体、社会团体和其他成员组织",
        "Mass Organizations, Social Organizations and Other Membership Organizations",
    ),
    (
        "96", "基层群众自治组织及其他组织",
        "Grass-roots Self-governing Organizations and Other Organizations",
    ),
    # T 国际组织
    ("97", "国际组织", "International Organizations"),
)
# fmt: on

SECTIONS: dict[str, Industry] = {
    letter: Industry(letter, zh, en, letter) for letter, _, _, zh, en in _SECTION_ROWS
}
"""The 20 sections (门类), keyed by letter A-T."""

_SECTION_OF_NUMBER: dict[int, str] = {
    n: letter for letter, first, last, _, _ in _SECTION_ROWS for n in range(first, last + 1)
}

DIVISIONS: dict[str, Industry] = {
    code: Industry(code, zh, en, _SECTION_OF_NUMBER[int(code)]) for code, zh, en in _DIVISION_ROWS
}
"""The 97 divisions (大类), keyed by two-digit code 01-97."""

# Common short forms people type into a CRM; each maps to one code, never to a guess.
_SHORT_FORMS: dict[str, str] = {
    "IT": "65",
    "软件": "65",
    "Software": "65",
    "互联网": "64",
    "Internet": "64",
    "金融": "J",
    "房地产": "K",
    "教育": "P",
    "零售": "52",
    "Retail": "52",
    "批发": "51",
    "Wholesale": "51",
}

_CODE = re.compile(r"([a-t])?(\d{2})")
#: A code followed by a name: "C39 计算机、通信和其他电子设备制造业", "C 制造业".
_LABELLED = re.compile(r"([A-Ta-t](?:\d{2})?|\d{2})\s+(?!\d+$)(\S.*)")


def _key(text: str) -> str:
    """Fold case, full-/half-width forms, whitespace and punctuation (、 vs , vs ，) away."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def _build_index() -> dict[str, Industry]:
    """Name -> industry; sections win over same-named divisions (教育 is P, not 83)."""
    index: dict[str, Industry] = {}
    for item in (*SECTIONS.values(), *DIVISIONS.values()):
        for name in (item.zh, item.en):
            index.setdefault(_key(name), item)
    for short, code in _SHORT_FORMS.items():
        index.setdefault(_key(short), SECTIONS.get(code) or DIVISIONS[code])
    # Chinese names without the trailing 业 (制造 -> 制造业). Single characters (农, 林, 渔)
    # are left out as too vague, and a stem shared by two names would be a guess: skip it.
    stems: dict[str, list[Industry]] = {}
    for item in (*SECTIONS.values(), *DIVISIONS.values()):
        stem = _key(item.zh.removesuffix("业"))
        if item.zh.endswith("业") and len(stem) >= 2:
            stems.setdefault(stem, []).append(item)
    for stem, items in stems.items():
        if len(items) == 1:
            index.setdefault(stem, items[0])
    return index


_INDEX = _build_index()


def _division_by_code(key: str) -> Industry | None:
    """The division for a folded code key ("39", "c39"); None if unknown or the letter is wrong."""
    match = _CODE.fullmatch(key)
    if match is None:
        return None
    letter, digits = match.groups()
    division = DIVISIONS.get(digits)
    if division is None or (letter is not None and letter.upper() != division.section):
        return None
    return division


def _labelled(code: str, name: str) -> Industry | None:
    """ "C39 计算机、通信…" as templates and exports write it: the code must carry its own name."""
    found = find_industry(code)
    if found is None or _key(name) not in (_key(found.zh), _key(found.en)):
        return None
    return found


def find_industry(text: str) -> Industry | None:
    """The section or division that ``text`` names exactly, or None.

    Accepts a section letter (``"C"``), a two-digit division code (``"39"``, ``"C39"``), a
    Chinese or English name of a section or division, a Chinese name without its trailing 业,
    a code followed by its own name (``"C39 计算机、通信和其他电子设备制造业"``), and a few
    common short forms (``"IT"``, ``"互联网"``). Matching ignores case, spaces,
    punctuation and full-/half-width differences, but is never fuzzy: typos give None.
    """
    labelled = _LABELLED.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if labelled:
        return _labelled(labelled[1], labelled[2])
    key = _key(text)
    if not key:
        return None
    if len(key) == 1 and key.upper() in SECTIONS:
        return SECTIONS[key.upper()]
    if _CODE.fullmatch(key):
        return _division_by_code(key)
    return _INDEX.get(key)


def section_of(division_code: str) -> str:
    """The section letter of a division code (``"39"`` or ``"C39"`` -> ``"C"``).

    Raises :class:`~crmlib.errors.ValidationError` for anything that is not a division code,
    so a bad code in an import is reported instead of being filed under a wrong section.
    """
    division = _division_by_code(_key(division_code))
    if division is None:
        raise ValidationError(
            FieldError("industry", division_code, "division_code", t("industries:not_division"))
        )
    return division.section
