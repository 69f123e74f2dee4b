"""E-mail addresses: pinyin mailboxes at a company's own domain or at a public provider."""

from __future__ import annotations

import numpy as np

from .names import GIVEN_PINYIN, SURNAME_PINYIN, WORD_ABBR, brand_pinyin
from .vectors import Array, choose, concat, pool, zfill

# Mailbox styles: zhang.wei, zhangwei, wei.zhang, zhangwei88
STYLES = 4
STYLE_WEIGHTS = (0.4, 0.3, 0.15, 0.15)
COMPANY_TLDS = pool([".com", ".com.cn", ".cn"])
COMPANY_TLD_WEIGHTS = (0.6, 0.3, 0.1)
# Personal mailboxes; QQ mail mostly uses the QQ number.
PUBLIC_DOMAINS = pool(
    ["qq.com", "163.com", "126.com", "sina.com", "139.com", "foxmail.com", "outlook.com"]
)
PUBLIC_WEIGHTS = (0.35, 0.25, 0.12, 0.06, 0.08, 0.06, 0.08)
QQ = 0
QQ_NUMBERS = (10_000, 3_000_000_000)


def draw_styles(rng: np.random.Generator, size: int) -> Array:
    return choose(rng, STYLE_WEIGHTS, size)


def mailbox(surname: Array, given: Array, style: Array, number: Array) -> Array:
    """The part before the @, in one of the :data:`STYLES`."""
    s, g = SURNAME_PINYIN[surname], GIVEN_PINYIN[given]
    options = [concat(s, ".", g), concat(s, g), concat(g, ".", s), concat(s, g, zfill(number, 2))]
    out: Array = np.choose(style, options)
    return out


def company_domain(brand: Array, word: Array, tld: Array) -> Array:
    return concat(brand_pinyin(brand), WORD_ABBR[word], COMPANY_TLDS[tld])


def personal_mailbox(
    surname: Array, given: Array, style: Array, number: Array, domain: Array
) -> Array:
    """Mailboxes at :data:`PUBLIC_DOMAINS`; at QQ mail the QQ number."""
    qq = (QQ_NUMBERS[0] + number % (QQ_NUMBERS[1] - QQ_NUMBERS[0])).astype(str).astype(object)
    return np.where(domain == QQ, qq, mailbox(surname, given, style, number))
