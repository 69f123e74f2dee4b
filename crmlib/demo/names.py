"""Chinese name material: people, company names and job titles, with pinyin for logins and
e-mail addresses.

Surname weights follow the published frequency of China's most common surnames (王, 李 and
张 each about 7 %), so a demo customer list reads like a real one. Company names follow the
registered pattern: optional city, a two- or three-character brand, an industry word that
fits the GB/T 4754 division, and a legal-form suffix (有限公司, 股份有限公司 …).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reference.industries import DIVISIONS
from .vectors import Array, choose, concat, pool

# (surname, pinyin, share of the population in %)
# fmt: off
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.8), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.4), ("赵", "zhao", 2.3),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.5), ("孙", "sun", 1.5),
    ("马", "ma", 1.4), ("朱", "zhu", 1.3), ("胡", "hu", 1.3), ("郭", "guo", 1.2),
    ("何", "he", 1.2), ("高", "gao", 1.1), ("林", "lin", 1.1), ("罗", "luo", 1.0),
    ("郑", "zheng", 1.0), ("梁", "liang", 0.9), ("谢", "xie", 0.8), ("宋", "song", 0.8),
    ("唐", "tang", 0.8), ("许", "xu", 0.7), ("韩", "han", 0.7), ("冯", "feng", 0.7),
    ("邓", "deng", 0.7), ("曹", "cao", 0.7), ("彭", "peng", 0.6), ("曾", "zeng", 0.6),
    ("肖", "xiao", 0.6), ("田", "tian", 0.6), ("董", "dong", 0.5), ("袁", "yuan", 0.5),
    ("潘", "pan", 0.5), ("于", "yu", 0.5), ("蒋", "jiang", 0.5), ("蔡", "cai", 0.5),
    ("余", "yu", 0.5), ("杜", "du", 0.5), ("叶", "ye", 0.5), ("程", "cheng", 0.5),
    ("苏", "su", 0.4), ("魏", "wei", 0.4), ("吕", "lv", 0.4), ("丁", "ding", 0.4),
    ("任", "ren", 0.4), ("沈", "shen", 0.4), ("姚", "yao", 0.4), ("卢", "lu", 0.4),
    ("姜", "jiang", 0.4), ("崔", "cui", 0.4), ("钟", "zhong", 0.3), ("谭", "tan", 0.3),
    ("陆", "lu", 0.3), ("汪", "wang", 0.3), ("范", "fan", 0.3), ("金", "jin", 0.3),
    ("石", "shi", 0.3), ("廖", "liao", 0.3), ("贾", "jia", 0.3), ("夏", "xia", 0.3),
    ("韦", "wei", 0.3), ("付", "fu", 0.3), ("方", "fang", 0.3), ("白", "bai", 0.3),
    ("邹", "zou", 0.3), ("孟", "meng", 0.3), ("熊", "xiong", 0.3), ("秦", "qin", 0.3),
    ("邱", "qiu", 0.3), ("江", "jiang", 0.3), ("尹", "yin", 0.3), ("薛", "xue", 0.2),
    ("闫", "yan", 0.2), ("段", "duan", 0.2), ("雷", "lei", 0.2), ("侯", "hou", 0.2),
    ("龙", "long", 0.2), ("史", "shi", 0.2), ("陶", "tao", 0.2), ("黎", "li", 0.2),
    ("贺", "he", 0.2), ("顾", "gu", 0.2), ("毛", "mao", 0.2), ("郝", "hao", 0.2),
    ("龚", "gong", 0.2), ("邵", "shao", 0.2), ("万", "wan", 0.2), ("钱", "qian", 0.2),
    ("严", "yan", 0.2), ("武", "wu", 0.2), ("戴", "dai", 0.2), ("莫", "mo", 0.2),
    ("孔", "kong", 0.2), ("向", "xiang", 0.2), ("汤", "tang", 0.2), ("欧阳", "ouyang", 0.05),
    ("司马", "sima", 0.01), ("上官", "shangguan", 0.01), ("诸葛", "zhuge", 0.01),
)

# (given name, pinyin, relative frequency)
GIVEN_NAMES: tuple[tuple[str, str, float], ...] = (
    ("伟", "wei", 6), ("芳", "fang", 5), ("娜", "na", 5), ("敏", "min", 4), ("静", "jing", 4),
    ("丽", "li", 4), ("强", "qiang", 4), ("磊", "lei", 4), ("军", "jun", 4), ("洋", "yang", 4),
    ("勇", "yong", 3), ("艳", "yan", 3), ("杰", "jie", 3), ("娟", "juan", 3), ("涛", "tao", 3),
    ("明", "ming", 3), ("超", "chao", 3), ("秀英", "xiuying", 3), ("霞", "xia", 3),
    ("平", "ping", 3), ("刚", "gang", 3), ("桂英", "guiying", 2), ("玲", "ling", 2),
    ("斌", "bin", 2), ("鹏", "peng", 2), ("浩", "hao", 2), ("宇", "yu", 2), ("凯", "kai", 2),
    ("俊", "jun", 2), ("峰", "feng", 2), ("燕", "yan", 2), ("婷", "ting", 2), ("雪", "xue", 2),
    ("慧", "hui", 2), ("颖", "ying", 2), ("琳", "lin", 2), ("倩", "qian", 2), ("辉", "hui", 2),
    ("健", "jian", 2), ("亮", "liang", 2), ("飞", "fei", 2), ("建华", "jianhua", 2),
    ("建国", "jianguo", 2), ("志强", "zhiqiang", 2), ("志明", "zhiming", 2),
    ("海涛", "haitao", 2), ("晓东", "xiaodong", 2), ("文杰", "wenjie", 2), ("丹", "dan", 2),
    ("萍", "ping", 2), ("红", "hong", 2), ("建军", "jianjun", 2), ("晓燕", "xiaoyan", 2),
    ("丽娟", "lijuan", 1), ("秀兰", "xiulan", 1), ("海燕", "haiyan", 1), ("春梅", "chunmei", 1),
    ("子轩", "zixuan", 1), ("浩然", "haoran", 1), ("宇航", "yuhang", 1), ("俊杰", "junjie", 1),
    ("家豪", "jiahao", 1), ("明辉", "minghui", 1), ("国庆", "guoqing", 1), ("立新", "lixin", 1),
    ("振华", "zhenhua", 1), ("鑫", "xin", 1), ("博", "bo", 1), ("帆", "fan", 1),
    ("晨", "chen", 1), ("昊", "hao", 1), ("天佑", "tianyou", 1), ("思远", "siyuan", 1),
    ("嘉伟", "jiawei", 1), ("志刚", "zhigang", 1), ("欣怡", "xinyi", 1), ("梓涵", "zihan", 1),
    ("雨欣", "yuxin", 1), ("诗涵", "shihan", 1), ("佳怡", "jiayi", 1), ("美玲", "meiling", 1),
    ("雅琴", "yaqin", 1), ("晶晶", "jingjing", 1), ("文静", "wenjing", 1), ("思琪", "siqi", 1),
    ("梦瑶", "mengyao", 1), ("婉婷", "wanting", 1), ("莉", "li", 1), ("蕾", "lei", 1),
    ("璐", "lu", 1), ("悦", "yue", 1), ("洁", "jie", 1), ("薇", "wei", 1), ("瑶", "yao", 1),
    ("琪", "qi", 1), ("晓明", "xiaoming", 1), ("国华", "guohua", 1), ("建平", "jianping", 1),
    ("红梅", "hongmei", 1), ("玉兰", "yulan", 1), ("永刚", "yonggang", 1), ("少华", "shaohua", 1),
    ("一鸣", "yiming", 1), ("若曦", "ruoxi", 1), ("思雨", "siyu", 1), ("子豪", "zihao", 1),
)

# Characters that companies pick for their brand (字号), with pinyin for web domains.
BRAND_CHARS: tuple[tuple[str, str], ...] = (
    ("华", "hua"), ("瑞", "rui"), ("鑫", "xin"), ("泰", "tai"), ("达", "da"), ("恒", "heng"),
    ("宏", "hong"), ("盛", "sheng"), ("远", "yuan"), ("通", "tong"), ("博", "bo"),
    ("创", "chuang"), ("联", "lian"), ("嘉", "jia"), ("信", "xin"), ("德", "de"), ("海", "hai"),
    ("天", "tian"), ("星", "xing"), ("中", "zhong"), ("安", "an"), ("汇", "hui"), ("利", "li"),
    ("源", "yuan"), ("新", "xin"), ("金", "jin"), ("益", "yi"), ("诚", "cheng"), ("永", "yong"),
    ("康", "kang"), ("明", "ming"), ("兴", "xing"), ("正", "zheng"), ("润", "run"),
    ("丰", "feng"), ("凯", "kai"), ("航", "hang"), ("智", "zhi"), ("云", "yun"), ("东", "dong"),
    ("方", "fang"), ("佳", "jia"), ("优", "you"), ("立", "li"), ("亿", "yi"), ("百", "bai"),
    ("锦", "jin"), ("豪", "hao"), ("骏", "jun"), ("腾", "teng"), ("飞", "fei"), ("龙", "long"),
    ("祥", "xiang"), ("和", "he"), ("宇", "yu"), ("晟", "sheng"), ("昌", "chang"),
    ("隆", "long"), ("顺", "shun"), ("合", "he"), ("力", "li"), ("成", "cheng"), ("美", "mei"),
    ("欣", "xin"), ("旭", "xu"), ("弘", "hong"), ("卓", "zhuo"), ("越", "yue"), ("驰", "chi"),
    ("捷", "jie"), ("拓", "tuo"), ("迈", "mai"), ("思", "si"), ("威", "wei"), ("领", "ling"),
    ("峰", "feng"), ("坤", "kun"), ("乾", "qian"), ("元", "yuan"), ("光", "guang"),
    ("辰", "chen"), ("耀", "yao"), ("尚", "shang"), ("品", "pin"), ("众", "zhong"),
    ("赛", "sai"), ("协", "xie"), ("宁", "ning"), ("茂", "mao"), ("晶", "jing"), ("蓝", "lan"),
    ("泽", "ze"), ("浩", "hao"), ("铭", "ming"), ("朗", "lang"), ("万", "wan"),
)

# Industry words used in registered names, per GB/T 4754 division, with the initials that
# companies put in their web domain; and how often customers come from each division.
INDUSTRY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "01": (("农业科技", "nykj"), ("生态农业", "stny"), ("农业发展", "nyfz")),
    "03": (("牧业", "my"), ("畜牧", "xm")),
    "05": (("农业服务", "nyfw"), ("农机服务", "njfw")),
    "06": (("矿业", "ky"), ("煤业", "my")),
    "10": (("矿业", "ky"), ("石材", "sc")),
    "13": (("食品", "sp"), ("粮油", "ly"), ("农副产品", "nfcp")),
    "14": (("食品", "sp"), ("食品科技", "spkj")),
    "15": (("酒业", "jy"), ("饮料", "yl"), ("茶业", "cy")),
    "17": (("纺织", "fz"), ("纺织科技", "fzkj")),
    "18": (("服饰", "fs"), ("服装", "fz")),
    "19": (("鞋业", "xy"), ("皮具", "pj")),
    "20": (("木业", "my"), ("竹木制品", "zmzp")),
    "21": (("家具", "jj"), ("家居", "jj")),
    "22": (("纸业", "zy"), ("包装", "bz")),
    "23": (("印务", "yw"), ("包装印刷", "bzys")),
    "24": (("文体用品", "wtyp"), ("工艺品", "gyp")),
    "26": (("化工", "hg"), ("新材料", "xcl"), ("精细化工", "jxhg")),
    "27": (("医药", "yy"), ("生物科技", "swkj"), ("制药", "zy")),
    "29": (("塑胶", "sj"), ("橡塑制品", "xszp"), ("塑料制品", "slzp")),
    "30": (("建材", "jc"), ("陶瓷", "tc"), ("玻璃", "bl")),
    "31": (("钢铁", "gt"), ("特钢", "tg")),
    "32": (("铝业", "ly"), ("有色金属", "ysjs"), ("铜业", "ty")),
    "33": (("五金制品", "wjzp"), ("金属制品", "jszp"), ("五金", "wj")),
    "34": (("机械", "jx"), ("精密机械", "jmjx"), ("机电设备", "jdsb"), ("泵业", "by")),
    "35": (("装备制造", "zbzz"), ("自动化设备", "zdhsb"), ("智能装备", "znzb")),
    "36": (("汽车零部件", "qclbj"), ("汽车配件", "qcpj")),
    "37": (("船舶", "cb"), ("航空科技", "hkkj")),
    "38": (("电气", "dq"), ("电机", "dj"), ("电器", "dq"), ("新能源", "xny")),
    "39": (("电子科技", "dzkj"), ("电子", "dz"), ("通信设备", "txsb"), ("智能科技", "znkj"),
           ("光电", "gd")),
    "40": (("仪器仪表", "yqyb"), ("仪器", "yq"), ("测控技术", "ckjs")),
    "41": (("制品", "zp"),),
    "42": (("再生资源", "zszy"), ("环保材料", "hbcl")),
    "43": (("设备维修", "sbwx"), ("机电维修", "jdwx")),
    "44": (("能源", "ny"), ("电力工程", "dlgc"), ("新能源", "xny")),
    "45": (("燃气", "rq"),),
    "47": (("建设工程", "jsgc"), ("建筑", "jz")),
    "48": (("路桥工程", "lqgc"), ("市政工程", "szgc")),
    "49": (("机电安装", "jdaz"), ("安装工程", "azgc")),
    "50": (("装饰工程", "zsgc"), ("建筑装饰", "jzzs")),
    "51": (("贸易", "my"), ("商贸", "sm"), ("进出口", "jck"), ("供应链管理", "gylgl")),
    "52": (("商业", "sy"), ("百货", "bh"), ("超市", "cs"), ("电子商务", "dzsw")),
    "54": (("运输", "ys"), ("物流", "wl")),
    "58": (("国际货运代理", "gjhy"), ("供应链", "gyl")),
    "59": (("仓储", "cc"), ("物流", "wl")),
    "61": (("酒店管理", "jdgl"), ("酒店", "jd")),
    "62": (("餐饮管理", "cygl"), ("餐饮", "cy")),
    "63": (("通信技术", "txjs"), ("网络工程", "wlgc")),
    "64": (("网络科技", "wlkj"), ("互联网科技", "hlwkj"), ("信息科技", "xxkj")),
    "65": (("软件", "rj"), ("信息技术", "xxjs"), ("数据科技", "sjkj"), ("软件科技", "rjkj")),
    "67": (("投资管理", "tzgl"), ("资产管理", "zcgl")),
    "69": (("金融服务", "jrfw"), ("融资担保", "rzdb")),
    "70": (("置业", "zy"), ("房地产开发", "fdc"), ("物业管理", "wygl")),
    "71": (("租赁", "zl"), ("设备租赁", "sbzl")),
    "72": (("企业管理咨询", "qygl"), ("商务服务", "swfw"), ("人力资源", "rlzy"), ("广告", "gg")),
    "73": (("科技研发", "kjyf"), ("生物技术", "swjs")),
    "74": (("检测技术", "jcjs"), ("工程设计", "gcsj"), ("工程咨询", "gczx")),
    "75": (("科技", "kj"), ("技术服务", "jsfw")),
    "77": (("环保科技", "hbkj"), ("环境工程", "hjgc")),
    "80": (("家政服务", "jzfw"),),
    "81": (("汽车服务", "qcfw"), ("维修服务", "wxfw")),
    "83": (("教育科技", "jykj"), ("培训", "px")),
    "84": (("医疗管理", "ylgl"), ("健康管理", "jkgl")),
    "86": (("文化传播", "whcb"), ("出版", "cb")),
    "87": (("影视文化", "yswh"), ("传媒", "cm")),
    "88": (("文化发展", "whfz"), ("文化艺术", "whys")),
}
# Manufacturing, wholesale/retail and IT dominate a B2B supplier's customer base.
DIVISION_WEIGHTS: dict[str, float] = {
    "13": 1.2, "14": 1.0, "15": 0.6, "17": 1.2, "18": 1.2, "19": 0.5, "20": 0.4, "21": 1.0,
    "22": 0.6, "23": 0.6, "24": 0.6, "26": 2.5, "27": 1.8, "29": 2.0, "30": 1.5, "31": 0.6,
    "32": 0.8, "33": 3.0, "34": 4.0, "35": 3.5, "36": 2.5, "37": 0.8, "38": 3.5, "39": 5.0,
    "40": 1.5, "41": 0.4, "42": 0.3, "43": 0.4,
    "51": 11.0, "52": 6.0, "63": 1.0, "64": 4.0, "65": 7.0,
    "47": 1.5, "48": 1.5, "49": 1.0, "50": 1.5, "54": 2.0, "58": 1.5, "59": 1.5,
    "71": 1.0, "72": 5.0, "73": 1.0, "74": 2.0, "75": 1.5, "61": 0.5, "62": 1.0, "70": 1.5,
    "01": 0.6, "03": 0.3, "05": 0.3, "06": 0.2, "10": 0.3, "44": 0.7, "45": 0.3, "77": 0.8,
    "80": 0.3, "81": 0.3, "83": 0.8, "84": 0.8, "86": 0.2, "87": 0.3, "88": 0.3,
    "67": 0.2, "69": 0.3,
}

# (suffix, share); 科技有限公司 is only used where "科技" fits the industry.
SUFFIXES: tuple[tuple[str, float], ...] = (
    ("有限公司", 0.58), ("股份有限公司", 0.12), ("有限责任公司", 0.10), ("集团有限公司", 0.05),
    ("科技有限公司", 0.15),
)
# fmt: on
LIMITED, JOINT_STOCK, TECH = 0, 1, 4
TECH_SECTIONS = frozenset("CIM")

# (title, weight as a company's main contact, weight as a further contact)
TITLES: tuple[tuple[str, float, float], ...] = (
    ("采购经理", 6, 2),
    ("总经理", 4, 1),
    ("采购主管", 3, 2),
    ("采购专员", 2, 3),
    ("副总经理", 2, 1),
    ("技术总监", 1, 2),
    ("IT经理", 1, 2),
    ("项目经理", 1, 3),
    ("财务经理", 0.5, 3),
    ("行政经理", 0.5, 2),
    ("生产经理", 0.5, 2),
    ("运营总监", 0.5, 1),
    ("董事长", 0.5, 0.3),
    ("销售经理", 0.3, 1),
    ("工程师", 0.2, 3),
)

SURNAME = pool([s for s, _, _ in SURNAMES])
SURNAME_PINYIN = pool([p for _, p, _ in SURNAMES])
GIVEN = pool([g for g, _, _ in GIVEN_NAMES])
GIVEN_PINYIN = pool([p for _, p, _ in GIVEN_NAMES])
# A trailing "" lets index -1 stand for "no third brand character".
BRAND = pool([c for c, _ in BRAND_CHARS] + [""])
BRAND_PINYIN = pool([p for _, p in BRAND_CHARS] + [""])
TITLE = pool([t for t, _, _ in TITLES])
SUFFIX = pool([s for s, _ in SUFFIXES])

_DIVISION_CODES = tuple(DIVISION_WEIGHTS)
_WORD_ROWS = [(code, word, abbr) for code in _DIVISION_CODES for word, abbr in INDUSTRY_WORDS[code]]
WORD = pool([word for _, word, _ in _WORD_ROWS])
WORD_ABBR = pool([abbr for _, _, abbr in _WORD_ROWS])
DIVISION = pool(list(_DIVISION_CODES))
SECTION = pool([DIVISIONS[code].section for code in _DIVISION_CODES])
_WORD_DIVISION = np.array([_DIVISION_CODES.index(code) for code, _, _ in _WORD_ROWS])
_WORD_TAKES_TECH = np.array(
    [
        DIVISIONS[code].section in TECH_SECTIONS and not word.endswith("科技")
        for code, word, _ in _WORD_ROWS
    ]
)
_WORD_FIRST = np.searchsorted(_WORD_DIVISION, np.arange(len(_DIVISION_CODES)))
_WORD_COUNT = np.bincount(_WORD_DIVISION, minlength=len(_DIVISION_CODES))

THREE_CHAR_BRANDS = 0.2
CITY_PREFIXED = 0.7
MAX_REDRAWS = 20
# A third brand character must not be able to start an industry word, or "XY新" + "能源"
# and "XY" + "新能源" would spell the same name from two different keys.
_THIRD_CHARS = np.array(
    [i for i, (c, _) in enumerate(BRAND_CHARS) if not any(w.startswith(c) for w in WORD.tolist())]
)


def draw_people(rng: np.random.Generator, size: int) -> tuple[Array, Array]:
    """Surname and given-name indices of ``size`` people."""
    surname = choose(rng, [w for _, _, w in SURNAMES], size)
    given = choose(rng, [w for _, _, w in GIVEN_NAMES], size)
    return surname, given


def person_names(surname: Array, given: Array, sep: Array | str = "") -> Array:
    return concat(SURNAME[surname], sep, GIVEN[given])


def draw_divisions(rng: np.random.Generator, size: int) -> Array:
    """Indices into :data:`DIVISION` for ``size`` companies."""
    return choose(rng, list(DIVISION_WEIGHTS.values()), size)


def draw_titles(rng: np.random.Generator, size: int, *, main: bool) -> Array:
    return choose(rng, [t[1] if main else t[2] for t in TITLES], size)


@dataclass(frozen=True)
class CompanyNames:
    """The parts of registered company names, as indices (one element per company)."""

    prefixed: Array  # bool: the name starts with the city
    brand: Array  # (n, 3) indices into BRAND; -1 in the last column for two characters
    word: Array  # index into WORD
    suffix: Array  # index into SUFFIX


def draw_companies(rng: np.random.Generator, division: Array, city: Array) -> CompanyNames:
    """Registered names for companies of the given divisions and cities, all different."""
    size = len(division)
    word = _WORD_FIRST[division] + (rng.random(size) * _WORD_COUNT[division]).astype(np.int64)
    suffix = choose(rng, [w for _, w in SUFFIXES], size)
    suffix[(suffix == TECH) & ~_WORD_TAKES_TECH[word]] = LIMITED
    prefixed = rng.random(size) < CITY_PREFIXED
    brand = _draw_brands(rng, size)
    for _ in range(MAX_REDRAWS):
        key = _name_key(np.where(prefixed, city + 1, 0), brand, word, suffix)
        clash = np.ones(size, dtype=bool)
        clash[np.unique(key, return_index=True)[1]] = False
        if not clash.any():
            break
        brand[clash] = _draw_brands(rng, int(clash.sum()))
    return CompanyNames(prefixed, brand, word, suffix)


def brand_names(brand: Array) -> Array:
    return concat(BRAND[brand[:, 0]], BRAND[brand[:, 1]], BRAND[brand[:, 2]])


def brand_pinyin(brand: Array) -> Array:
    return concat(BRAND_PINYIN[brand[:, 0]], BRAND_PINYIN[brand[:, 1]], BRAND_PINYIN[brand[:, 2]])


def _draw_brands(rng: np.random.Generator, size: int) -> Array:
    chars = len(BRAND_CHARS)
    first = rng.integers(0, chars, size)
    second = (first + rng.integers(1, chars, size)) % chars  # never the same character twice
    third = np.where(
        rng.random(size) < THREE_CHAR_BRANDS,
        _THIRD_CHARS[rng.integers(0, len(_THIRD_CHARS), size)],
        -1,
    )
    return np.stack([first, second, third], axis=1)


def _name_key(city: Array, brand: Array, word: Array, suffix: Array) -> Array:
    """One integer per distinct name string (city 0 meaning no city prefix)."""
    chars = len(BRAND_CHARS) + 1
    key = city.astype(np.int64)
    for part, radix in (
        (brand[:, 0], chars),
        (brand[:, 1], chars),
        (brand[:, 2] + 1, chars),
        (word, len(WORD)),
        (suffix, len(SUFFIX)),
    ):
        key = key * radix + part
    return key
