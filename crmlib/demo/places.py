"""Where demo customers are: provinces weighted like a real customer base, real cities with
their postcodes and telephone area codes, and street addresses.

The weights put most customers on the east and south coast (广东, 江苏, 浙江, 上海, 北京,
山东) and few in the west (西藏, 青海), as in the CRM of a typical Chinese B2B supplier.
Region and province names come from :mod:`crmlib.reference.regions`, so a demo customer's
region is exactly what the entry form would derive.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..reference.regions import PROVINCES, REGION_EN, REGIONS
from .vectors import Array, choose, concat, pool, zfill


@dataclass(frozen=True)
class City:
    province: str  # GB/T 2260 province code
    name: str  # as stored in customers.city
    prefix: str  # as it starts a registered company name
    postcode: int  # first postcode of the city
    area_code: str  # long-distance code without the leading 0
    subscriber_digits: int  # local number length there (7 or 8)
    weight: float  # share within the province
    districts: str  # separated by spaces


# fmt: off
PROVINCE_WEIGHTS: dict[str, float] = {
    "44": 15.0, "32": 12.0, "33": 11.0, "31": 9.0, "11": 7.0, "37": 7.0, "35": 4.0, "51": 4.0,
    "42": 3.5, "41": 3.5, "34": 3.0, "43": 2.5, "13": 2.5, "12": 2.0, "50": 2.0, "61": 2.0,
    "21": 2.0, "36": 1.5, "45": 1.2, "53": 1.0, "14": 0.9, "23": 0.8, "22": 0.7, "52": 0.7,
    "15": 0.6, "65": 0.5, "62": 0.4, "46": 0.4, "64": 0.2, "63": 0.1, "54": 0.05,
}

CITIES: tuple[City, ...] = (
    City("44", "广州市", "广州市", 510000, "20", 8, 30,
         "天河区 海珠区 越秀区 番禺区 白云区 黄埔区"),
    City("44", "深圳市", "深圳市", 518000, "755", 8, 30,
         "南山区 福田区 宝安区 龙岗区 龙华区 罗湖区"),
    City("44", "东莞市", "东莞市", 523000, "769", 8, 12,
         "松山湖 长安镇 虎门镇 南城街道"),
    City("44", "佛山市", "佛山市", 528000, "757", 8, 10,
         "禅城区 南海区 顺德区"),
    City("44", "珠海市", "珠海市", 519000, "756", 7, 5,
         "香洲区 金湾区"),
    City("44", "中山市", "中山市", 528400, "760", 8, 5,
         "火炬开发区 石岐街道"),
    City("44", "惠州市", "惠州市", 516000, "752", 7, 5,
         "惠城区 惠阳区"),
    City("44", "汕头市", "汕头市", 515000, "754", 8, 3,
         "龙湖区 金平区"),
    City("32", "苏州市", "苏州市", 215000, "512", 8, 30,
         "工业园区 吴中区 相城区 姑苏区 虎丘区 昆山市"),
    City("32", "南京市", "南京市", 210000, "25", 8, 25,
         "鼓楼区 玄武区 江宁区 建邺区 栖霞区"),
    City("32", "无锡市", "无锡市", 214000, "510", 8, 15,
         "梁溪区 滨湖区 新吴区 江阴市"),
    City("32", "常州市", "常州市", 213000, "519", 8, 10,
         "武进区 新北区 天宁区"),
    City("32", "南通市", "南通市", 226000, "513", 8, 10,
         "崇川区 通州区"),
    City("32", "徐州市", "徐州市", 221000, "516", 8, 6,
         "鼓楼区 云龙区"),
    City("33", "杭州市", "杭州市", 310000, "571", 8, 35,
         "西湖区 滨江区 余杭区 萧山区 拱墅区 上城区"),
    City("33", "宁波市", "宁波市", 315000, "574", 8, 20,
         "鄞州区 海曙区 北仑区 江北区"),
    City("33", "温州市", "温州市", 325000, "577", 8, 12,
         "鹿城区 瓯海区 龙湾区"),
    City("33", "绍兴市", "绍兴市", 312000, "575", 8, 8,
         "越城区 柯桥区"),
    City("33", "嘉兴市", "嘉兴市", 314000, "573", 8, 8,
         "南湖区 秀洲区"),
    City("33", "金华市", "金华市", 321000, "579", 8, 8,
         "婺城区 义乌市"),
    City("33", "台州市", "台州市", 318000, "576", 8, 6,
         "椒江区 黄岩区"),
    City("31", "上海市", "上海", 200000, "21", 8, 1,
         "浦东新区 闵行区 徐汇区 嘉定区 松江区 静安区 长宁区 宝山区"),
    City("11", "北京市", "北京", 100000, "10", 8, 1,
         "海淀区 朝阳区 丰台区 大兴区 顺义区 昌平区 东城区 西城区"),
    City("12", "天津市", "天津", 300000, "22", 8, 1,
         "滨海新区 南开区 和平区 西青区 河西区"),
    City("50", "重庆市", "重庆", 400000, "23", 8, 1,
         "渝北区 九龙坡区 江北区 沙坪坝区 南岸区"),
    City("37", "济南市", "济南市", 250000, "531", 8, 25,
         "历下区 高新区 槐荫区"),
    City("37", "青岛市", "青岛市", 266000, "532", 8, 30,
         "市南区 崂山区 黄岛区 城阳区"),
    City("37", "烟台市", "烟台市", 264000, "535", 7, 12,
         "芝罘区 莱山区"),
    City("37", "潍坊市", "潍坊市", 261000, "536", 7, 12,
         "奎文区 潍城区"),
    City("37", "临沂市", "临沂市", 276000, "539", 7, 10,
         "兰山区 河东区"),
    City("35", "福州市", "福州市", 350000, "591", 8, 35,
         "鼓楼区 仓山区 晋安区"),
    City("35", "厦门市", "厦门市", 361000, "592", 7, 35,
         "思明区 湖里区 集美区"),
    City("35", "泉州市", "泉州市", 362000, "595", 8, 30,
         "丰泽区 鲤城区 晋江市"),
    City("51", "成都市", "成都市", 610000, "28", 8, 80,
         "武侯区 高新区 锦江区 青羊区 成华区"),
    City("51", "绵阳市", "绵阳市", 621000, "816", 7, 20,
         "涪城区 游仙区"),
    City("42", "武汉市", "武汉市", 430000, "27", 8, 75,
         "江汉区 洪山区 武昌区 东湖高新区 江岸区"),
    City("42", "宜昌市", "宜昌市", 443000, "717", 7, 12,
         "西陵区 伍家岗区"),
    City("42", "襄阳市", "襄阳市", 441000, "710", 7, 13,
         "樊城区 襄城区"),
    City("41", "郑州市", "郑州市", 450000, "371", 8, 75,
         "金水区 二七区 中原区 郑东新区"),
    City("41", "洛阳市", "洛阳市", 471000, "379", 8, 25,
         "涧西区 洛龙区"),
    City("43", "长沙市", "长沙市", 410000, "731", 8, 80,
         "岳麓区 芙蓉区 天心区 雨花区 开福区"),
    City("43", "株洲市", "株洲市", 412000, "731", 8, 20,
         "天元区 芦淞区"),
    City("34", "合肥市", "合肥市", 230000, "551", 8, 75,
         "蜀山区 包河区 庐阳区 高新区"),
    City("34", "芜湖市", "芜湖市", 241000, "553", 7, 25,
         "镜湖区 鸠江区"),
    City("13", "石家庄市", "石家庄市", 50000, "311", 8, 45,
         "长安区 桥西区 裕华区"),
    City("13", "唐山市", "唐山市", 63000, "315", 7, 30,
         "路北区 路南区"),
    City("13", "保定市", "保定市", 71000, "312", 7, 25,
         "竞秀区 莲池区"),
    City("61", "西安市", "西安市", 710000, "29", 8, 1,
         "雁塔区 碑林区 未央区 高新区 长安区"),
    City("21", "沈阳市", "沈阳市", 110000, "24", 8, 50,
         "和平区 沈河区 浑南区 铁西区"),
    City("21", "大连市", "大连市", 116000, "411", 8, 50,
         "中山区 沙河口区 甘井子区 金州区"),
    City("22", "长春市", "长春市", 130000, "431", 8, 1,
         "朝阳区 南关区 净月区"),
    City("23", "哈尔滨市", "哈尔滨市", 150000, "451", 8, 1,
         "南岗区 道里区 香坊区"),
    City("36", "南昌市", "南昌市", 330000, "791", 8, 1,
         "东湖区 红谷滩区 青山湖区"),
    City("45", "南宁市", "南宁市", 530000, "771", 7, 70,
         "青秀区 西乡塘区 兴宁区"),
    City("45", "柳州市", "柳州市", 545000, "772", 7, 30,
         "城中区 柳北区"),
    City("53", "昆明市", "昆明市", 650000, "871", 8, 1,
         "五华区 盘龙区 官渡区"),
    City("52", "贵阳市", "贵阳市", 550000, "851", 8, 1,
         "南明区 云岩区 观山湖区"),
    City("14", "太原市", "太原市", 30000, "351", 7, 1,
         "小店区 迎泽区 杏花岭区"),
    City("15", "呼和浩特市", "呼和浩特市", 10000, "471", 7, 60,
         "新城区 赛罕区"),
    City("15", "包头市", "包头市", 14000, "472", 7, 40,
         "昆都仑区 青山区"),
    City("46", "海口市", "海口市", 570000, "898", 8, 70,
         "龙华区 美兰区"),
    City("46", "三亚市", "三亚市", 572000, "898", 8, 30,
         "吉阳区 天涯区"),
    City("62", "兰州市", "兰州市", 730000, "931", 7, 1,
         "城关区 七里河区"),
    City("64", "银川市", "银川市", 750000, "951", 7, 1,
         "兴庆区 金凤区"),
    City("63", "西宁市", "西宁市", 810000, "971", 7, 1,
         "城东区 城西区"),
    City("65", "乌鲁木齐市", "乌鲁木齐市", 830000, "991", 7, 1,
         "天山区 沙依巴克区 新市区"),
    City("54", "拉萨市", "拉萨市", 850000, "891", 7, 1,
         "城关区 堆龙德庆区"),
)

ROADS = (
    "人民路", "中山路", "解放路", "建设路", "科技路", "创业路", "工业大道", "长江路", "黄河路",
    "和平路", "新华路", "文化路", "高新大道", "滨江路", "东风路", "友谊路", "胜利路", "光明路",
    "朝阳路", "育才路", "学府路", "世纪大道", "发展大道", "迎宾路", "振兴路", "环城路",
    "青年路", "花园路", "金桥路", "软件园路",
)
# fmt: on

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
MAX_NUMBER = 999  # house numbers 1..999
TEAMS: dict[str, str] = {
    region: en.removesuffix(" China").lower() for region, en in REGION_EN.items()
}
"""Sales team of each region: 华东 -> "east", 西南 -> "southwest" …"""

_PROVINCE = {p.code: p for p in PROVINCES}
_CITY_WEIGHT = np.array(
    [
        PROVINCE_WEIGHTS[c.province]
        * c.weight
        / sum(o.weight for o in CITIES if o.province == c.province)
        for c in CITIES
    ]
)
CITY = pool([c.name for c in CITIES])
CITY_PREFIX = pool([c.prefix for c in CITIES])
PROVINCE_NAME = pool([_PROVINCE[c.province].name for c in CITIES])
REGION = pool([_PROVINCE[c.province].region for c in CITIES])
REGION_INDEX = np.array([REGIONS.index(_PROVINCE[c.province].region) for c in CITIES])
"""Each city's region as an index into :data:`crmlib.reference.regions.REGIONS`."""
AREA_CODE = pool([c.area_code for c in CITIES])
SUBSCRIBER_DIGITS = np.array([c.subscriber_digits for c in CITIES])
_POSTCODE = np.array([c.postcode for c in CITIES])
_ADDRESS_HEAD = pool(
    [("" if c.province in MUNICIPALITIES else _PROVINCE[c.province].name) + c.name for c in CITIES]
)
_DISTRICT = pool([d for c in CITIES for d in c.districts.split()])
_DISTRICT_COUNT = np.array([len(c.districts.split()) for c in CITIES])
_DISTRICT_FIRST = np.cumsum(_DISTRICT_COUNT) - _DISTRICT_COUNT
ROAD = pool(list(ROADS))


def region_shares() -> Array:
    """Expected share of customers per region, in :data:`REGIONS` order."""
    weight = np.bincount(REGION_INDEX, weights=_CITY_WEIGHT, minlength=len(REGIONS))
    shares: Array = weight / _CITY_WEIGHT.sum()
    return shares


def draw_cities(rng: np.random.Generator, size: int) -> Array:
    return choose(rng, _CITY_WEIGHT, size)


@dataclass(frozen=True)
class Addresses:
    """Street addresses as indices and numbers (one element per address)."""

    district: Array  # index into the city's districts
    road: Array
    number: Array
    building: Array  # 0: none
    room: Array  # 0: none
    postcode: Array  # added to the city's first postcode

    def take(self, rows: slice) -> Addresses:
        return Addresses(*(getattr(self, f.name)[rows] for f in fields(self)))


def draw_addresses(rng: np.random.Generator, city: Array) -> Addresses:
    size = len(city)
    has_building = rng.random(size) < 0.6
    return Addresses(
        district=(rng.random(size) * _DISTRICT_COUNT[city]).astype(np.int64),
        road=rng.integers(0, len(ROADS), size),
        number=1 + np.minimum(rng.geometric(1 / 120, size), MAX_NUMBER - 1),
        building=np.where(has_building, rng.integers(1, 20, size), 0),
        room=np.where(has_building, 100 * rng.integers(1, 30, size) + rng.integers(1, 20, size), 0),
        postcode=rng.integers(0, 100, size),
    )


def address_text(city: Array, parts: Addresses, short: Array) -> Array:
    """Full addresses (省 + 市 + 区 + road + number + building/room); ``short`` rows omit
    the province and city, as people often type them."""
    head = np.where(short, "", _ADDRESS_HEAD[city])
    district = _DISTRICT[_DISTRICT_FIRST[city] + parts.district]
    number = parts.number.astype(str).astype(object)
    building = parts.building.astype(str).astype(object)
    room = parts.room.astype(str).astype(object)
    tail = np.where(parts.building > 0, concat(building, "栋", room, "室"), "")
    out: Array = concat(head, district, ROAD[parts.road], number, "号", tail)
    return out


def postcodes(city: Array, parts: Addresses) -> Array:
    return zfill(_POSTCODE[city] + parts.postcode, 6)
