"""Matching keys: the parts of names, addresses, phones and e-mails that identify a customer.

People type the same company many ways: "上海星辰科技有限公司", "星辰科技股份有限公司",
"上海 星辰科技 Co., Ltd.", full-width letters and spaces. A name is therefore split into a
place prefix (上海), a core (星辰科技), the legal form (dropped) and a branch (上海分公司),
each folded (NFKC, case-folded, no spaces or punctuation). The prefix is kept apart rather
than dropped, so "上海星辰科技" and "北京星辰科技" stay different companies.

These keys are for matching only: names and addresses are stored as people wrote them
(:mod:`crmlib.rules`), and compared through their keys.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from ..reference.place_forms import CITY_FORMS, LONGEST, PROVINCE_FORMS, place_key
from ..reference.regions import find_province

_NOT_WORD = re.compile(r"[\W_]+")
_PARENTHESES = re.compile(r"\(([^()]*)\)")
#: English legal forms at the end of a name ("Co., Ltd.", "Inc.", "Corp", "Limited" …);
#: matched as whole words before folding, so "Costco" keeps its "co".
_ENGLISH_LEGAL = re.compile(
    r"(?:[\s,.&]*(?<![a-z0-9])"
    r"(?:co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|gmbh)(?![a-z0-9])\.?)+"
    r"[\s,.]*$"
)
#: Chinese legal forms, folded; stripped repeatedly from the end (集团有限公司 -> 集团 -> "").
_CHINESE_LEGAL = (
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "公司",
    "集团",
    "有限合伙",
    "合伙企业",
)
#: Endings that make a name a branch of another company.
_BRANCH_MARKERS = ("分公司", "分店", "分厂", "办事处")
#: What a branch's name places between its parent's legal form and the marker.
_PARENT_FORMS = ("有限责任公司", "股份有限公司", "有限公司", "公司")
#: Generic industry words that people drop while typing ("星辰软件科技" -> "星辰软件"); a
#: name without one of them still matches, a name with a different one does not.
WEAK_WORDS = ("科技", "技术", "实业", "发展", "控股", "国际", "股份", "中国", "企业")
_GENERIC_BRACKETS = frozenset({"中国", "china"})
#: Last characters after which an English legal form may end a name ("… Ltd.").
_LATIN_ENDS = frozenset("abcdefghijklmnopqrstuvwxyz.")
#: A core shorter than this is never stripped further (place, weak word).
MIN_CORE = 2
#: A street key shorter than this (a bare district) says too little.
MIN_STREET = 4
#: Public mail providers: two mailboxes there say nothing about sharing a company.
PUBLIC_MAIL = frozenset(
    {
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "139.com",
        "189.cn",
        "foxmail.com",
        "yeah.net",
        "aliyun.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "gmail.com",
        "yahoo.com",
        "icloud.com",
        "vip.qq.com",
        "vip.163.com",
        "wo.cn",
        "tom.com",
        "21cn.com",
    }
)


class NameParts(NamedTuple):
    """A name split for matching; every part is folded, "" when absent."""

    full: str  # the whole name folded, legal form and all
    prefix: str  # the place it opens with, as a short name (上海, 苏州)
    core: str  # without place, legal form and branch
    stem: str  # the core without trailing weak words
    tail: str  # the weak words cut from the core
    branch: str  # a branch's place ("*" for an unnamed branch)


_NO_NAME = NameParts("", "", "", "", "", "")


#: Printable ASCII to its full-width form (U+FF01-U+FF5E; the space to U+3000).
_FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}
#: Only ASCII punctuation and the space so: how a Chinese input method writes by default
#: ("重点（A类）": full-width brackets, half-width letters and digits).
_FULL_PUNCTUATION = {code: wide for code, wide in _FULL_WIDTH.items() if not chr(code).isalnum()}


def widths(text: str) -> list[str]:
    """``text`` (half-width, as :func:`unicodedata.normalize` NFKC leaves it) in the forms
    stored text may hold it, each once: as it is, with full-width punctuation, and all in
    full width. Text is stored as written, so an indexed or LIKE lookup of stored names
    and tags looks for each form; the match keys here compare folded text instead."""
    forms = (text, text.translate(_FULL_PUNCTUATION), text.translate(_FULL_WIDTH))
    return list(dict.fromkeys(forms))


def search_forms(query: str) -> list[str]:
    """The forms of a search that stored text may hold, lower-cased for a ``lower(column)
    LIKE`` lookup, each once: as typed, folded to half-width (NFKC), with full-width
    punctuation and all in full width (:func:`widths`). Text is stored as written, so
    "退货（七天）" finds "退货(七天)" and back; other mixtures of widths are not looked for."""
    folded = unicodedata.normalize("NFKC", query).strip().casefold()
    forms = (query.strip().casefold(), *widths(folded))
    return list(dict.fromkeys(form for form in forms if form))


def fold(value: object) -> str:
    """Full-width to half-width (NFKC), case-folded, without spaces or punctuation."""
    if not isinstance(value, str):
        return ""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return folded if folded.isalnum() else _NOT_WORD.sub("", folded)


def _place_heads() -> dict[str, tuple[int, ...]]:
    """First two characters of every place form -> the lengths of forms starting so,
    longest first: most names open with no place at all, and this rules them out at once."""
    heads: dict[str, set[int]] = {}
    for form in (*PROVINCE_FORMS, *CITY_FORMS):
        heads.setdefault(form[:2], set()).add(len(form))
    return {head: tuple(sorted(sizes, reverse=True)) for head, sizes in heads.items()}


_PLACE_HEADS = _place_heads()


def _leading_place(text: str, own: str) -> tuple[str, str]:
    """(place, rest) when ``text`` opens with a province, a city with 市, or the ``own`` city
    with or without 市 (a bare city name elsewhere may be a brand: 金华, 中山)."""
    if own and text.startswith(own):
        size = len(own) + 1 if text[len(own) : len(own) + 1] == "市" else len(own)
        if len(text) - size >= MIN_CORE:
            return own, text[size:]
    for size in _PLACE_HEADS.get(text[:2], ()):
        if len(text) - size >= MIN_CORE:
            place = PROVINCE_FORMS.get(text[:size]) or CITY_FORMS.get(text[:size])
            if place is not None:
                return place, text[size:]
    return "", text


def _trailing_place(text: str) -> tuple[str, str]:
    for size in range(min(LONGEST, len(text) - MIN_CORE), 1, -1):
        tail = text[-size:]
        place = PROVINCE_FORMS.get(tail) or CITY_FORMS.get(tail) or CITY_FORMS.get(f"{tail}市")
        if place is not None:
            return place, text[:-size]
    return "", text


def _split_branch(text: str) -> tuple[str, str]:
    """(parent, branch) of "星辰科技有限公司上海分公司"; branch "" for a head office."""
    if not text.endswith(_BRANCH_MARKERS):
        return text, ""
    marker = next(m for m in _BRANCH_MARKERS if text.endswith(m))
    if len(text) <= len(marker) + MIN_CORE:
        return text, ""
    rest = text[: -len(marker)]
    for form in _PARENT_FORMS:
        at = rest.rfind(form)
        if at >= MIN_CORE:
            cut = at + len(form)
            return rest[:cut], place_key(rest[cut:]) or "*"
    place, parent = _trailing_place(rest)
    return parent, place or "*"


def _strip_ending(text: str, endings: tuple[str, ...]) -> str:
    """``text`` without any run of ``endings`` at its end, keeping MIN_CORE characters."""
    while text.endswith(endings):
        for ending in endings:
            if text.endswith(ending):
                break
        if len(text) - len(ending) < MIN_CORE:
            break
        text = text[: -len(ending)]
    return text


def company_name(name: object, city: str = "") -> NameParts:
    """Split a company name; ``city`` (a :func:`place_key`) also counts as a bare prefix.

    Runs once per customer in a scan, so each step is skipped with one cheap test when it
    does not apply (most names have no brackets, no English form, no branch).
    """
    if not isinstance(name, str):
        return _NO_NAME
    text = unicodedata.normalize("NFKC", name).casefold()
    full = text if text.isalnum() else _NOT_WORD.sub("", text)
    if not full:
        return _NO_NAME
    bracket_place = ""
    trimmed = text
    if "(" in text:
        for content in _PARENTHESES.findall(text):
            key = fold(content)
            place = PROVINCE_FORMS.get(key) or CITY_FORMS.get(key) or CITY_FORMS.get(f"{key}市")
            if place or key in _GENERIC_BRACKETS:
                trimmed = trimmed.replace(f"({content})", " ")
                bracket_place = bracket_place or place or ""
    if trimmed[-1:] in _LATIN_ENDS:
        trimmed = _ENGLISH_LEGAL.sub("", trimmed)
    text = full if trimmed == text else (_NOT_WORD.sub("", trimmed) or full)
    parent, branch = _split_branch(text)
    core = _strip_ending(parent, _CHINESE_LEGAL) if parent.endswith(_CHINESE_LEGAL) else parent
    prefix = ""
    if core[:2] in _PLACE_HEADS or (city and core.startswith(city)):
        prefix, core = _leading_place(core, city)
        if prefix:
            second, core = _leading_place(core, city)
            prefix = second or prefix
    stem = _strip_ending(core, WEAK_WORDS) if core.endswith(WEAK_WORDS) else core
    return NameParts(full, prefix or bracket_place, core, stem, core[len(stem) :], branch)


def person_name(name: object) -> NameParts:
    """A person's name is compared whole (王伟 = 王 伟 = 王　伟)."""
    folded = fold(name)
    return NameParts(folded, "", folded, folded, "", "")


def address_key(address: object, city: str = "") -> str:
    """An address without the province and city it opens with, folded: "上海市浦东新区…" and
    "浦东新区…" are the same address."""
    text = fold(address)
    if text[:2] in _PLACE_HEADS or (city and text.startswith(city)):
        place, text = _leading_place(text, city)
        if place:
            _, text = _leading_place(text, city)
    return text


def street_key(address: str) -> str:
    """The street an address key names, before its first number: "长宁区振兴路192号" ->
    "长宁区振兴路". Two addresses on one street with different numbers are near."""
    digit = next((at for at, ch in enumerate(address) if ch.isdigit()), len(address))
    street = address[:digit]
    return street if len(street) >= MIN_STREET else ""


def city_key(city: object) -> str:
    """苏州市, 苏州 and 苏 州 compare equal."""
    return place_key(fold(city))


def province_key(province: object) -> str:
    """广东省, 广东 and Guangdong compare equal."""
    folded = fold(province)
    found = find_province(folded) if folded else None
    return found.short if found is not None else place_key(folded)


def phone_key(phone: object) -> str:
    """A phone as E.164 digits: +86 138 1234 5678, 13812345678 and 010-8888 1234 fold alike."""
    if not isinstance(phone, str):
        return ""
    if phone.startswith("+") and phone[1:].isdigit():
        return phone[1:]  # stored phones are E.164 already
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        return f"86{digits}"
    if digits.startswith("0") and 10 <= len(digits) <= 12 and not digits.startswith("00"):
        return f"86{digits[1:]}"
    return digits.removeprefix("00")


def email_key(email: object) -> str:
    return email.strip().casefold() if isinstance(email, str) else ""


def mail_domain(email: str) -> str:
    """The domain of a company mailbox; "" for public providers (qq.com …) and non-addresses."""
    _, at, domain = email.rpartition("@")
    return domain if at and domain not in PUBLIC_MAIL else ""
