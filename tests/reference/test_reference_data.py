"""Reference data: GB/T 4754-2017 industries, GB/T 2260 provinces and the sales regions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmlib.errors import ValidationError
from crmlib.reference.industries import DIVISIONS, SECTIONS, Industry, find_industry, section_of
from crmlib.reference.regions import (
    PROVINCES,
    REGION_EN,
    REGIONS,
    Province,
    find_province,
    find_region,
    region_of,
)

# ---------------------------------------------------------------- industries: the data


def test_counts() -> None:
    assert len(SECTIONS) == 20
    assert list(SECTIONS) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert len(DIVISIONS) == 97
    assert list(DIVISIONS) == [f"{n:02d}" for n in range(1, 98)]


def test_every_division_belongs_to_an_existing_section() -> None:
    for code, division in DIVISIONS.items():
        assert division.code == code
        assert division.section in SECTIONS
        assert section_of(code) == division.section
        assert division.zh and division.en
    for letter, section in SECTIONS.items():
        assert section.code == section.section == letter
        assert any(d.section == letter for d in DIVISIONS.values())


@pytest.mark.parametrize(
    ("code", "letter"),
    [
        ("01", "A"),
        ("05", "A"),
        ("06", "B"),
        ("12", "B"),
        ("13", "C"),
        ("43", "C"),
        ("44", "D"),
        ("46", "D"),
        ("47", "E"),
        ("50", "E"),
        ("51", "F"),
        ("52", "F"),
        ("53", "G"),
        ("60", "G"),
        ("61", "H"),
        ("62", "H"),
        ("63", "I"),
        ("65", "I"),
        ("66", "J"),
        ("69", "J"),
        ("70", "K"),
        ("71", "L"),
        ("72", "L"),
        ("73", "M"),
        ("75", "M"),
        ("76", "N"),
        ("79", "N"),
        ("80", "O"),
        ("82", "O"),
        ("83", "P"),
        ("84", "Q"),
        ("85", "Q"),
        ("86", "R"),
        ("90", "R"),
        ("91", "S"),
        ("96", "S"),
        ("97", "T"),
    ],
)
def test_section_boundaries(code: str, letter: str) -> None:
    assert section_of(code) == letter
    assert DIVISIONS[code].section == letter


def test_section_of_accepts_prefixed_code_and_rejects_garbage() -> None:
    assert section_of("C39") == "C"
    for bad in ("99", "00", "3", "A39", "", "火星"):
        with pytest.raises(ValidationError):
            section_of(bad)


def test_official_2017_names() -> None:
    assert SECTIONS["A"].zh == "农、林、牧、渔业"
    assert SECTIONS["D"].zh == "电力、热力、燃气及水生产和供应业"
    assert SECTIONS["I"].zh == "信息传输、软件和信息技术服务业"
    assert SECTIONS["S"].zh == "公共管理、社会保障和社会组织"
    assert DIVISIONS["05"].zh == "农、林、牧、渔专业及辅助性活动"
    assert DIVISIONS["11"].zh == "开采专业及辅助性活动"
    assert DIVISIONS["25"].zh == "石油、煤炭及其他燃料加工业"
    assert DIVISIONS["39"].zh == "计算机、通信和其他电子设备制造业"
    assert DIVISIONS["58"].zh == "多式联运和运输代理业"
    assert DIVISIONS["63"].zh == "电信、广播电视和卫星传输服务"
    assert DIVISIONS["64"].zh == "互联网和相关服务"
    assert DIVISIONS["65"].zh == "软件和信息技术服务业"
    assert DIVISIONS["79"].zh == "土地管理业"
    assert DIVISIONS["96"].zh == "基层群众自治组织及其他组织"


def test_label() -> None:
    assert DIVISIONS["39"].label() == "计算机、通信和其他电子设备制造业"
    assert DIVISIONS["39"].label("en").startswith("Manufacture of Computers")
    assert SECTIONS["C"].label("en") == "Manufacturing"
    assert SECTIONS["C"].is_section and not DIVISIONS["39"].is_section


# ---------------------------------------------------------------- industries: lookups


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # section letters and division codes
        ("C", "C"),
        ("c", "C"),
        (" t ", "T"),
        ("39", "39"),
        ("C39", "39"),
        ("c39", "39"),
        ("C 39", "39"),
        ("３９", "39"),
        ("01", "01"),
        ("97", "97"),
        # exact names, either language, case and width folded
        ("制造业", "C"),
        ("Manufacturing", "C"),
        ("MANUFACTURING", "C"),
        ("计算机、通信和其他电子设备制造业", "39"),
        ("计算机，通信和其他电子设备制造业", "39"),
        ("计算机,通信和其他电子设备制造业", "39"),
        (" 计算机、 通信和其他电子设备制造业 ", "39"),
        ("农、林、牧、渔业", "A"),
        ("农林牧渔业", "A"),
        ("互联网和相关服务", "64"),
        ("internet and related services", "64"),
        ("Wholesale and Retail Trades", "F"),
        # a name shared by a section and its only division is the section
        ("教育", "P"),
        ("房地产业", "K"),
        ("国际组织", "T"),
        ("Real Estate", "K"),
        # names without the trailing 业, and the common short forms
        ("制造", "C"),
        ("采矿", "B"),
        ("建筑", "E"),
        ("保险", "68"),
        ("餐饮", "62"),
        ("IT", "65"),
        ("it", "65"),
        ("ＩＴ", "65"),
        ("软件", "65"),
        ("互联网", "64"),
        ("金融", "J"),
        ("房地产", "K"),
        ("零售", "52"),
        ("批发", "51"),
    ],
)
def test_find_industry(text: str, code: str) -> None:
    found = find_industry(text)
    assert found is not None, text
    assert found.code == code


@pytest.mark.parametrize(
    "text", ["火星", "", "   ", "99", "00", "3", "039", "A39", "Z", "CC", "制造商", "农", "IT服务"]
)
def test_find_industry_none_for_garbage(text: str) -> None:
    assert find_industry(text) is None


def test_every_name_finds_itself() -> None:
    shared = {"K": "70", "P": "83", "T": "97"}  # sections named like their single division
    items: list[Industry] = [*SECTIONS.values(), *DIVISIONS.values()]
    for item in items:
        for name in (item.zh, item.en, item.code):
            found = find_industry(name)
            if item.code in shared.values() and name != item.code:
                assert found == SECTIONS[item.section]
            else:
                assert found == item, name


# ---------------------------------------------------------------- provinces and regions


MAINLAND = [p for p in PROVINCES if p.code not in {"71", "81", "82"}]


def test_province_counts_and_regions() -> None:
    assert len(PROVINCES) == 34
    assert len(MAINLAND) == 31
    assert len({p.code for p in PROVINCES}) == 34
    assert REGIONS == ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
    assert set(REGION_EN) == set(REGIONS)
    for p in MAINLAND:
        assert [r for r in REGIONS if p.region == r] == [p.region]
    by_region = {r: {p.short for p in PROVINCES if p.region == r} for r in REGIONS}
    assert by_region == {
        "华东": {"上海", "江苏", "浙江", "安徽", "福建", "江西", "山东", "台湾"},
        "华南": {"广东", "广西", "海南", "香港", "澳门"},
        "华北": {"北京", "天津", "河北", "山西", "内蒙古"},
        "华中": {"河南", "湖北", "湖南"},
        "西南": {"重庆", "四川", "贵州", "云南", "西藏"},
        "西北": {"陕西", "甘肃", "青海", "宁夏", "新疆"},
        "东北": {"辽宁", "吉林", "黑龙江"},
    }


def test_province_names() -> None:
    names = {p.code: (p.name, p.short, p.en) for p in PROVINCES}
    assert names["44"] == ("广东省", "广东", "Guangdong")
    assert names["11"] == ("北京市", "北京", "Beijing")
    assert names["15"] == ("内蒙古自治区", "内蒙古", "Inner Mongolia")
    assert names["45"] == ("广西壮族自治区", "广西", "Guangxi")
    assert names["81"] == ("香港特别行政区", "香港", "Hong Kong")
    assert names["82"] == ("澳门特别行政区", "澳门", "Macao")
    assert names["71"][1:] == ("台湾", "Taiwan")
    assert PROVINCES[0].label() == "北京市" and PROVINCES[0].label("en") == "Beijing"


@given(st.sampled_from(PROVINCES))
def test_every_form_of_a_province_finds_it(p: Province) -> None:
    assert find_province(p.name) == find_province(p.short) == find_province(p.en) == p
    assert find_province(p.code) == p
    assert find_province(p.en.upper()) == p
    assert region_of(p.name) == p.region


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("广东省", "44"),
        ("广东", "44"),
        ("guangdong", "44"),
        ("44", "44"),
        ("440000", "44"),
        ("北京", "11"),
        ("北京市", "11"),
        ("ＢＥＩＪＩＮＧ", "11"),
        ("Ｂｅｉｊｉｎｇ", "11"),
        ("Hei Long Jiang", "23"),
        ("hei-long-jiang", "23"),
        ("Inner Mongolia", "15"),
        ("Nei Mongol", "15"),
        ("Xizang", "54"),
        ("Tibet", "54"),
        ("Macau", "82"),
        ("Hong Kong", "81"),
        ("hongkong", "81"),
        ("广西自治区", "45"),
        ("香港特区", "81"),
        ("Guangdong Province", "44"),
    ],
)
def test_find_province(text: str, code: str) -> None:
    found = find_province(text)
    assert found is not None, text
    assert found.code == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("廣東省", "44"),
        ("廣東", "44"),
        ("遼寧", "21"),
        ("黑龍江", "23"),
        ("臺灣", "71"),
        ("台灣", "71"),
        ("陝西", "61"),
        ("貴州", "52"),
        ("雲南", "53"),
        ("內蒙古", "15"),
        ("廣西", "45"),
        ("寧夏", "64"),
        ("新疆維吾爾自治區", "65"),
        ("廣西壯族自治區", "45"),
        ("寧夏回族自治區", "64"),
        ("香港特別行政區", "81"),
        ("澳門", "82"),
        ("重慶市", "50"),
        ("江蘇", "32"),
        ("甘肅", "62"),
    ],
)
def test_find_province_traditional(text: str, code: str) -> None:
    found = find_province(text)
    assert found is not None, text
    assert found.code == code


def test_shaanxi_is_not_shanxi() -> None:
    shaanxi, shanxi = find_province("Shaanxi"), find_province("Shanxi")
    assert shaanxi is not None and shanxi is not None
    assert (shaanxi.code, shaanxi.short) == ("61", "陕西")
    assert (shanxi.code, shanxi.short) == ("14", "山西")
    assert region_of("陕西") == "西北"
    assert region_of("山西") == "华北"


@pytest.mark.parametrize("text", ["火星", "", "  ", "99", "00", "4", "东", "省", "市", "Mars"])
def test_find_province_none_for_garbage(text: str) -> None:
    assert find_province(text) is None
    assert region_of(text) is None


def test_region_of() -> None:
    assert region_of("广东") == "华南"
    assert region_of("台灣") == "华东"
    assert region_of("Hong Kong") == "华南"
    assert region_of("黑龍江省") == "东北"


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("华东", "华东"),
        ("華東", "华东"),
        ("East China", "华东"),
        ("east", "华东"),
        ("EAST", "华东"),
        ("华东地区", "华东"),
        ("華南", "华南"),
        ("south china", "华南"),
        ("North", "华北"),
        ("central china", "华中"),
        ("South-west China", "西南"),
        ("northwest", "西北"),
        ("東北", "东北"),
        ("Northeast China", "东北"),
    ],
)
def test_find_region(text: str, region: str) -> None:
    assert find_region(text) == region


@pytest.mark.parametrize("text", ["火星", "", "东", "China", "广东", "west"])
def test_find_region_none(text: str) -> None:
    assert find_region(text) is None
