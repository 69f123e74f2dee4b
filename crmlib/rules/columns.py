"""Rules applied to whole columns, for imports of a million rows.

A rule is still the one scalar function of :mod:`crmlib.rules.fields`; its whole-column
form here is registered as that rule (:meth:`crmlib.rules.base.RuleKind.column_form`),
and :func:`apply_rule` finds it there. For the columns where every value is distinct
(names, external ids, e-mails, phones) a column of text is first run through the rule's
own steps mapped over the whole column by built-in functions
(trimming, NFKC folding for identifiers and e-mails, the length limit, the e-mail
pattern; for phones the mobile
pattern of the same phonenumbers metadata the phone rule uses), with no Python frame per
value. That pass mostly says that a value passes and what it becomes; it only calls a
value broken where the rule's verdict is plain (a plain national number phonenumbers
finds invalid, an e-mail that does not match), with the rule's own error. Every value it
cannot vouch for (empty phone, foreign number, a workbook's number or date) goes through
the scalar rule, once per distinct value. A national number after +86 is judged as the
same number written without it: the phone rule reads the country code, then strips
nothing but what a plain national number may not start with.
``tests/rules/test_rules_columns.py`` and ``tests/rules/test_rules_forms.py`` check on generated
values that both ways agree.

For e-mails and phones, a column of ``_POLARS_FROM`` cells or more goes through polars
(vectorised, Rust regex) instead: it decides the printable ASCII cells as the Python pass
would, and leaves the others to the Python pass. On printable ASCII the two agree because
NFKC folding changes nothing there, ``str.strip`` strips only spaces, the only phone
separators are space, '-', '(' and ')', and a digit is [0-9] to both regex engines. What
is left is whether a pattern means the same to Rust's regex crate as to Python's ``re``:
only full matches are asked for, a property of the regular language rather than of how
an engine searches, and the patterns (phonenumbers' metadata and
:data:`crmlib.rules.fields.EMAIL`) use only syntax both read alike. A mobile's national
number is not read from a capture group (engines may split a match differently) but
taken as the last 11 digits, which every mainland mobile number has by the metadata.
``phonenumbers.is_valid_number`` of a plain national number is spelt as polars
expressions over the same metadata. If Rust refuses a pattern or the metadata no longer
says what this assumes, polars is not used. The tests compare both stages on generated
values, and validity on every 3- and 4-digit prefix against phonenumbers.

What a polars stage costs at an import's chunk (50,000 cells) is work per cell, not the
cost of a call (some 30-60 µs, a little more for the patterns of validity); so the
stages run each step once, eagerly, over as few cells as they can, and read back from
polars only the values that are not the cells themselves (making Python strings is what
reading a column back costs). A column of printable ASCII, the usual one, is told so at
once from its cells joined; a mobile number written without separators, the bulk of a
phone column, by one pattern on the cell as it is; only the other cells are taken apart.

For text and identifiers, a column of ``_TEXT_POLARS_FROM`` cells or more goes through
polars too. It decides the cells made only of printable ASCII and CJK ideographs
(U+3400–U+4DBF, U+4E00–U+9FFF), whose clean value is the cell without ASCII spaces at
either end under both rules: the space is the only one of these characters
``str.strip`` strips, and none of them has a decomposition or a combining class, or is
the second of a canonical composition, so NFKC (which identifiers are folded by) leaves
any string of them as it is. Polars counts characters (Unicode scalar values) as ``len``
does. Full-width forms, the ideographic space U+3000, compatibility ideographs and the
like go through the Python pass. The tests check every code point of those ranges
against Python's ``unicodedata`` and ``str.strip``, and that the patterns accept exactly
those code points.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections.abc import Callable
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import phonenumbers

from ..i18n import t
from .base import FieldRule, Passed, RuleViolation
from .fields import BLANK_PRINTABLE, EMAIL, IDENTIFIER, TEXT, Rule, email, phone
from .tags import TAGS_KIND

if TYPE_CHECKING:
    import polars as pl

#: What the phone rule reads as punctuation inside a number (other spaces and control
#: characters it refuses, so they go through it).
_SEPARATORS = re.compile(r"[ \u3000\-()（）]")
#: The same for polars, which only sees printable ASCII.
_ASCII_SEPARATORS = r"[ ()\-]"
#: The cells the column-wise passes take apart: a digit first, or + and a digit. Any other
#: start (a '-', a bracket, a space) goes through the phone rule, which says what is wrong.
_PLAIN_START = r"^\+?[0-9]"
_PLAIN_START_PATTERN = re.compile(_PLAIN_START)
#: The cells polars decides (Rust regex): there NFKC folding changes nothing and
#: ``str.strip`` strips only spaces.
_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
#: Its bytes, which :func:`_printable` deletes from a whole column to see if any is left.
_PRINTABLE_BYTES = bytes(range(0x20, 0x7F))
#: The characters of the cells the polars text stage decides (first and last code point):
#: printable ASCII, CJK Unified Ideographs and their Extension A. None of them has a
#: decomposition or a combining class, or is the second of a canonical composition, so
#: NFKC leaves any string of them as it is; the space is the only one ``str.strip`` strips.
_NFKC_STABLE = ((0x20, 0x7E), (0x3400, 0x4DBF), (0x4E00, 0x9FFF))
_STABLE_CLASS = "".join(rf"\x{{{first:X}}}-\x{{{last:X}}}" for first, last in _NFKC_STABLE)
#: The cells polars strips and measures (Rust regex).
_STABLE_TEXT = rf"^[{_STABLE_CLASS}]*$"
#: Those with something other than a space at each end, which stripping leaves alone.
_BARE_TEXT = rf"^[{_STABLE_CLASS}&&[^ ]](?:[{_STABLE_CLASS}]*[{_STABLE_CLASS}&&[^ ]])?$"
#: Below this many cells the Python passes are faster than polars' cost per call (about
#: 1 ms for phones, which compile a dozen patterns; measured on 1,000 and 3,000 cells).
_POLARS_FROM = 2000
#: The same for text, whose Python pass is cheap (NFKC and ``str.strip`` give back a cell
#: already clean, about 0.12 µs a cell): polars is slower below about 20,000 cells (four
#: columns of a customer file, 10,000 cells each: 5.5 ms against 4.6 ms; 20,000: about
#: even) and faster above (50,000, an import's chunk: 20-25 ms against 23-31 ms;
#: 1,000,000: 0.37 s against 0.52 s).
_TEXT_POLARS_FROM = 20_000

#: A polars stage's result, and which rows it speaks for (the others are undecided).
Staged = tuple[Passed, np.ndarray]


def _mainland_mobile_desc() -> phonenumbers.PhoneNumberDesc:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata and metadata.mobile and metadata.mobile.national_number_pattern
    return metadata.mobile


def _mainland_mobile_pattern() -> re.Pattern[str]:
    # ASCII: a full-width digit goes through the phone rule, which folds it first.
    national = _mainland_mobile_desc().national_number_pattern
    return re.compile(rf"(?:\+?86)?({national})", re.ASCII)


_MAINLAND_MOBILE = _mainland_mobile_pattern()

#: What the phone rule strips from the front of a mainland number before reading it.
_STRIPPED_PREFIXES = "0|86|1[12]|179"
#: The lengths of a plain national number.
_NATIONAL_DIGITS = "[0-9]{2,17}"


def _plain_national_pattern() -> re.Pattern[str] | None:
    """ASCII digits that the phone rule parses as a mainland national number just as they
    stand: nothing it would strip first (national prefix 0, international prefix 00,
    country code 86, carrier codes 11xx, 12xx, 179xx) and a length it accepts. None if
    the metadata no longer says so."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    expected = (86, "(1(?:[12]\\d|79)\\d\\d)|0", "00|1(?:[12]\\d|79)\\d\\d00")
    if (
        metadata is None
        or (
            metadata.country_code,
            metadata.national_prefix_for_parsing,
            metadata.international_prefix,
        )
        != expected
    ):
        return None
    return re.compile(f"(?!{_STRIPPED_PREFIXES}){_NATIONAL_DIGITS}")


_PLAIN_NATIONAL = _plain_national_pattern()


def apply_rule(rule: Rule, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean values (None where empty or broken) and violations (None where fine), per row."""
    cells = _cells(raw)
    textual = _all_str(cells)
    columnwise = rule.kind.column if isinstance(rule, FieldRule) else None
    if textual and columnwise is not None and isinstance(rule, FieldRule):
        values, errors = _column_then_distinct(columnwise, rule, cells)
    else:
        values, errors = by_distinct(rule, cells, textual=textual)
    return _object_series(values, raw.index), _object_series(errors, raw.index)


def _cells(raw: pd.Series) -> list[Any]:
    """``raw.tolist()``; a column of pandas' str dtype (a CSV's) is listed through its
    object array, which ``tolist`` would iterate (about 1.5 times as long)."""
    if isinstance(raw.dtype, pd.StringDtype):
        return raw.to_numpy(dtype=object).tolist()
    return raw.tolist()


def _all_str(cells: list[Any]) -> bool:
    """Whether every cell is exactly a str (a subclass goes through the rule as it is).
    Counting a list of types takes two thirds of the time of making a set of them."""
    return list(map(type, cells)).count(str) == len(cells)


def _column_then_distinct(
    columnwise: Callable[[FieldRule[Any], list[str]], Passed],
    rule: FieldRule[Any],
    cells: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Values and violations of a column of text: what the column-wise pass decides, the
    rest through the scalar rule (:func:`by_distinct`)."""
    passed, decided, found = columnwise(rule, cells)
    values = _object_array(passed)
    errors = np.full(len(cells), None, dtype=object)
    if found:
        broken = list(found)
        values[broken] = None
        errors[broken] = _object_array(list(found.values()))
    undecided = np.flatnonzero(~decided)
    if len(undecided):
        rest = [cells[i] for i in undecided.tolist()]
        values[undecided], errors[undecided] = by_distinct(rule, rest, textual=True)
    return values, errors


def _object_array(items: list[Any]) -> np.ndarray:
    """``items`` as a 1-d object array, each one an element even if it is a sequence, as
    ``pd.Series(items, dtype=object)`` would make it but in half the time."""
    return np.fromiter(items, dtype=object, count=len(items))


def _object_series(array: np.ndarray, index: pd.Index) -> pd.Series:
    """An object array as a Series on ``index``, without copying it (it is no one else's)."""
    return pd.Series(array, index=index, dtype=object, copy=False)


def by_distinct(rule: Rule, cells: list[Any], *, textual: bool) -> tuple[np.ndarray, np.ndarray]:
    """The scalar rule, called once per distinct value: results and violations per cell
    (object arrays).

    A column of text is factorised by pandas (in C); other cells (a workbook's numbers,
    dates and booleans) are told apart by a dict keyed by type and value, since True, 1
    and 1.0 are equal keys but not the same value to a rule.
    """
    if textual:
        codes, uniques = pd.factorize(_object_array(cells))
        distinct: list[Any] = uniques.tolist()
    else:
        typed = list(zip(map(type, cells), cells, strict=True))
        positions = {key: i for i, key in enumerate(dict.fromkeys(typed))}
        distinct = [value for _, value in positions]
        codes = np.fromiter(map(positions.__getitem__, typed), dtype=np.intp, count=len(cells))
    results = np.empty(len(distinct), dtype=object)
    violations = np.empty(len(distinct), dtype=object)
    broken = False
    for i, value in enumerate(distinct):
        try:
            results[i] = rule(value)
        except RuleViolation as violation:
            # Without its traceback: that would keep the whole chunk alive (its frames).
            violations[i] = violation.with_traceback(None)
            broken = True
    errors = violations[codes] if broken else np.full(len(cells), None, dtype=object)
    return results[codes], errors


def _folded(cells: list[str]) -> list[str]:
    """What :func:`crmlib.rules.fields.clean_text` makes of each cell, '' for empty."""
    form: Literal["NFKC"] = "NFKC"
    return list(map(str.strip, map(unicodedata.normalize, repeat(form), cells)))


def _trimmed(cells: list[str]) -> list[str]:
    """What :func:`crmlib.rules.fields.trimmed_text` makes of each cell, '' for empty."""
    return list(map(str.strip, cells))


@TEXT.column_form
def _text(rule: FieldRule[Any], cells: list[str]) -> Passed:
    return _limited(rule, cells, _trimmed)


@IDENTIFIER.column_form
def _identifier(rule: FieldRule[Any], cells: list[str]) -> Passed:
    return _limited(rule, cells, _folded)


@TAGS_KIND.column_form
def _tags(rule: FieldRule[Any], cells: list[str]) -> Passed:
    """The text pass; only a cell longer than the longest tag can hold a tag too long, and
    those (a few, in a column of tags) go through the rule."""
    passed, decided, found = _limited(rule, cells, _trimmed)
    tag_limit: int = rule.parameters["tag_limit"]
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    return passed, decided & (lengths <= tag_limit), found


def _limited(
    rule: FieldRule[Any], cells: list[str], clean: Callable[[list[str]], list[str]]
) -> Passed:
    """Text of at most the rule's limit, each cell made clean by ``clean``."""
    limit: int = rule.parameters["limit"]
    python_pass = functools.partial(_text_in_python, limit=limit, clean=clean)
    if len(cells) < _TEXT_POLARS_FROM:
        return python_pass(cells)
    return _polars_first(functools.partial(_text_in_polars, limit=limit), python_pass, cells)


def _text_in_python(
    cells: list[str], limit: int, clean: Callable[[list[str]], list[str]]
) -> Passed:
    """Decides the cells that are short enough and plainly pass
    :func:`~crmlib.rules.fields.check_characters`: printable (no control, format or
    separator character but the space and the ideographic space U+3000, kept in text as
    written, neither of which is first once stripped) and starting with none of the
    printable blanks; the others go through the rule."""
    folded = clean(cells)
    count = len(folded)
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=count)
    spaced = map(str.replace, folded, repeat("\u3000"), repeat(" "))
    printable = np.fromiter(map(str.isprintable, spaced), dtype=bool, count=count)
    blank = np.fromiter(map(bool, map(BLANK_PRINTABLE.match, folded)), dtype=bool, count=count)
    return [value or None for value in folded], (lengths <= limit) & printable & ~blank, {}


def _text_in_polars(cells: list[str], limit: int) -> Staged:
    """:func:`_text_in_python` on the cells of NFKC-stable characters
    (:data:`_STABLE_TEXT`): without spaces at either end, None if empty, decided if at most
    ``limit`` characters long (a longer one goes through the rule, for its error). Most
    cells have no space at either end (:data:`_BARE_TEXT`) and stay the string objects
    they are; only the others are stripped, and read back."""
    series = _series(cells)
    bare = series.str.contains(_BARE_TEXT)
    short = bare & (series.str.len_chars() <= limit)
    passed: Passed = (list(cells), short.to_numpy(writable=True), {})
    spoken = bare.to_numpy(writable=True)
    if spoken.all():
        return passed, spoken
    unbare = (~bare).arg_true()
    stable = unbare.filter(series.gather(unbare).str.contains(_STABLE_TEXT))
    stripped = series.gather(stable).str.strip_chars(" ")
    positions = stable.to_list()
    values = [value or None for value in stripped.to_list()]
    _merge(passed, positions, (values, (stripped.str.len_chars() <= limit).to_numpy(), {}))
    spoken[positions] = True
    return passed, spoken


@email.kind.column_form
def _email(rule: FieldRule[Any], cells: list[str]) -> Passed:
    pattern = _email_pattern() if len(cells) >= _POLARS_FROM else None
    if pattern is None:
        return _email_in_python(cells)
    return _polars_first(
        functools.partial(_email_in_polars, pattern=pattern), _email_in_python, cells
    )


def _email_in_python(cells: list[str]) -> Passed:
    folded = _folded(cells)
    matched = np.fromiter(map(bool, map(EMAIL.match, folded)), dtype=bool, count=len(folded))
    empty = np.fromiter(map(operator.not_, folded), dtype=bool, count=len(folded))
    return [value or None for value in map(str.lower, folded)], matched | empty, {}


@functools.cache
def _email_pattern() -> str | None:
    """:data:`EMAIL` for Rust's regex crate, which reads it as Python does (its ``$`` does
    not match before a final newline, but printable ASCII has none); None if it refuses it."""
    import polars as pl

    accepted = _rust_accepts(pl.col("plain").str.contains(EMAIL.pattern))
    return EMAIL.pattern if accepted else None


def _email_in_polars(cells: list[str], pattern: str) -> Staged:
    """:func:`email` on the printable ASCII cells, all of which it decides: the rule finds
    a value broken when it is neither empty nor a match, and says no more. Most cells are
    their own clean value (a match without spaces or capitals), and are not read back."""
    series = _series(cells)
    column = _printable_column(cells)
    printable = _printable(series, column)
    stripped = series.str.strip_chars(" ")
    matched = printable & stripped.str.contains(pattern)
    # No capital in the whole column (on ASCII, bytes.lower and polars fold only A-Z):
    # the stripped cells are their own lower case.
    lower = column is not None and column == column.lower()
    lowered = stripped if lower else stripped.str.to_lowercase()
    values = _where(cells, series, matched, lowered)
    broken = printable & ~matched & (stripped != "")
    violation = RuleViolation("email_format", t("email_format"))
    errors = dict.fromkeys(broken.arg_true().to_list(), violation)
    spoken = printable.to_numpy()
    return (values, spoken.copy(), errors), spoken


def _where(cells: list[str], series: pl.Series, kept: pl.Series, value: pl.Series) -> list[Any]:
    """``value`` where ``kept``, None elsewhere: where it is the cell (``series``) already,
    the cell itself, so that only the other values are read back from polars (making a
    Python string of each is what reading a column back costs)."""
    values: list[Any] = list(cells)
    for position in (~kept).arg_true().to_list():
        values[position] = None
    changed = kept & (value != series)
    positions = changed.arg_true().to_list()
    for position, new in zip(positions, value.filter(changed).to_list(), strict=True):
        values[position] = new
    return values


@phone.kind.column_form
def _phone(rule: FieldRule[Any], cells: list[str]) -> Passed:
    found = _phone_expressions() if len(cells) >= _POLARS_FROM else None
    if found is None:
        return _phone_in_python(cells)
    return _polars_first(functools.partial(_phone_in_polars, found=found), _phone_in_python, cells)


def _phone_in_python(cells: list[str]) -> Passed:
    """Mainland mobile numbers, the bulk of any customer file, stored as +86…; other plain
    national numbers, with or without +86, are checked against the metadata without
    parsing them."""
    plain = [
        _SEPARATORS.sub("", cell) if _PLAIN_START_PATTERN.match(cell) else "" for cell in cells
    ]
    found = list(map(_MAINLAND_MOBILE.fullmatch, plain))
    decided = np.fromiter(map(bool, found), dtype=bool, count=len(found))
    values = [None if match is None else "+86" + match[1] for match in found]
    errors: dict[int, RuleViolation] = {}
    if _PLAIN_NATIONAL is None:
        return values, decided, errors
    for position in np.flatnonzero(~decided).tolist():
        digits = plain[position].removeprefix("+86")
        if _PLAIN_NATIONAL.fullmatch(digits):
            number = phonenumbers.PhoneNumber(country_code=86, national_number=int(digits))
            if phonenumbers.is_valid_number(number):
                values[position] = "+86" + digits
            else:
                errors[position] = RuleViolation("phone_format", t("phone_format"))
            decided[position] = True
    return values, decided, errors


class _PhoneExpressions(NamedTuple):
    """What :func:`_phone_in_python` asks of a number without its separators (column
    ``plain``), as polars expressions."""

    #: A mainland mobile, maybe after 86 or +86; its national number is the last 11 digits.
    mobile: pl.Expr
    #: What :data:`_PLAIN_NATIONAL` matches (Rust has no look-ahead).
    national: pl.Expr
    #: ``phonenumbers.is_valid_number`` of +86 and a number ``national`` matches.
    valid: pl.Expr


@functools.cache
def _phone_expressions() -> _PhoneExpressions | None:
    """None where the expressions would not be exact: a mainland mobile of another length
    than 11, no plain national numbers (:data:`_PLAIN_NATIONAL`), 86 not only mainland
    China's code, or a pattern Rust's regex crate refuses."""
    import polars as pl

    mobile = _mainland_mobile_desc()
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    if (
        set(mobile.possible_length) != {11}
        or _PLAIN_NATIONAL is None
        or metadata is None
        or phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(86) != ("CN",)
    ):
        return None
    plain = pl.col("plain")
    found = _PhoneExpressions(
        mobile=plain.str.contains(rf"^(?:\+?86)?(?:{mobile.national_number_pattern})$"),
        national=plain.str.contains(f"^{_NATIONAL_DIGITS}$")
        & ~plain.str.contains(f"^(?:{_STRIPPED_PREFIXES})"),
        valid=_valid_national(plain, metadata),
    )
    return found if _rust_accepts(*found) else None


def _valid_national(digits: pl.Expr, metadata: phonenumbers.PhoneMetadata) -> pl.Expr:
    """``is_valid_number`` of a mainland national number without a leading 0 (as
    ``_number_type_helper`` reads it): it matches the general description and that of one
    type; mobile only counts if its pattern is not the fixed line's."""
    import polars as pl

    types = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    matching = [_matches_desc(digits, desc) for desc in types]
    return _matches_desc(digits, metadata.general_desc) & pl.any_horizontal(matching)


def _matches_desc(digits: pl.Expr, desc: phonenumbers.PhoneNumberDesc | None) -> pl.Expr:
    """phonenumbers' ``_is_number_matching_desc``: one of the possible lengths, if the
    description lists any (else the general description's, checked with it), and a full
    match of the pattern; never for a missing description or pattern."""
    import polars as pl

    if desc is None or not desc.national_number_pattern:
        return pl.lit(False)
    matched = digits.str.contains(f"^(?:{desc.national_number_pattern})$")
    if desc.possible_length:
        matched &= digits.str.len_chars().is_in(list(desc.possible_length))
    return matched


def _phone_in_polars(cells: list[str], found: _PhoneExpressions) -> Staged:
    """:func:`_phone_in_python` on the printable ASCII cells. A mobile written without
    separators, the bulk of a customer file, is told by one pattern on the cell as it is
    (printable, it matches only ASCII digits and '+', so it is its own plain number); the
    few other cells go through :func:`_numbers_in_polars`."""
    series = _series(cells)
    printable = _printable(series, _printable_column(cells))
    mobile = printable & _read(series, found.mobile)
    passed: Passed = (_as_mobiles(cells, series, mobile), mobile.to_numpy(writable=True), {})
    others = (printable & ~mobile & series.str.contains(_PLAIN_START)).arg_true()
    if len(others):
        _merge(passed, others.to_list(), _numbers_in_polars(series.gather(others), found))
    return passed, printable.to_numpy()


def _numbers_in_polars(numbers: pl.Series, found: _PhoneExpressions) -> Passed:
    """:func:`_phone_in_python` on printable ASCII cells that are not mobiles as they
    stand: taken apart first, and only the plain national numbers (after +86 or not)
    meet the many patterns of validity."""
    plain = numbers.str.replace_all(_ASCII_SEPARATORS, "")
    digits = plain.str.strip_prefix("+86")
    mobile = _read(plain, found.mobile)
    national = ~mobile & _read(digits, found.national)
    values = _as_mobiles(plain.to_list(), plain, mobile)
    errors: dict[int, RuleViolation] = {}
    violation = RuleViolation("phone_format", t("phone_format"))
    positions = national.arg_true()
    nationals = digits.gather(positions)
    valid = _read(nationals, found.valid).to_list()
    for position, number, ok in zip(positions.to_list(), nationals.to_list(), valid, strict=True):
        if ok:
            values[position] = "+86" + number
        else:
            errors[position] = violation
    return values, (mobile | national).to_numpy(writable=True), errors


def _as_mobiles(plain: list[str], series: pl.Series, mobile: pl.Series) -> list[str | None]:
    """+86 and the last 11 digits of each ``plain`` number (also ``series``) that is a
    ``mobile``, else None. Prefixing the numbers of 11 digits in Python, all but a few, is
    a little faster than polars making the strings and reading them back."""
    values: list[str | None] = ["+86" + number for number in plain]
    eleven = series.str.len_bytes() == 11
    for position in (mobile & ~eleven).arg_true().to_list():
        values[position] = "+86" + plain[position][-11:]
    for position in (~mobile).arg_true().to_list():
        values[position] = None
    return values


def _read(plain: pl.Series, expression: pl.Expr) -> pl.Series:
    """``expression``, over a column ``plain``, on these values."""
    return plain.to_frame("plain").select(expression).to_series()


def _series(cells: list[str]) -> pl.Series:
    """The cells as a polars Series, read from the list (pandas would need pyarrow)."""
    import polars as pl

    return pl.Series(cells, dtype=pl.String)


def _printable_column(cells: list[str]) -> bytes | None:
    """The cells joined, as ASCII bytes, if all of them are printable ASCII (the usual
    column), else None: told at once, without a regex run per cell."""
    joined = "".join(cells)
    if not joined.isascii():
        return None
    column = joined.encode("ascii")
    return None if column.translate(None, _PRINTABLE_BYTES) else column


def _printable(series: pl.Series, column: bytes | None) -> pl.Series:
    """Whether each cell is printable ASCII, which polars decides (:data:`_PRINTABLE_ASCII`):
    all of them if :func:`_printable_column` found the column all of it."""
    import polars as pl

    if column is not None:
        return pl.repeat(True, len(series), eager=True)
    return series.str.contains(_PRINTABLE_ASCII)


def _rust_accepts(*expressions: pl.Expr) -> bool:
    """Whether Rust's regex crate compiles the patterns of ``expressions`` (over a column
    ``plain``), tried on one empty value."""
    import polars as pl

    frame = pl.DataFrame({"plain": [""]})
    try:
        frame.select(expression.alias(str(i)) for i, expression in enumerate(expressions))
    except pl.exceptions.ComputeError:
        return False
    return True


def _polars_first(
    stage: Callable[[list[str]], Staged],
    python_pass: Callable[[list[str]], Passed],
    cells: list[str],
) -> Passed:
    """A polars stage's result, with the cells it does not speak for run through the
    Python pass; all of them if one holds a lone surrogate (text decoded with
    ``surrogateescape``), which polars, all UTF-8, cannot take."""
    try:
        passed, spoken = stage(cells)
    except UnicodeEncodeError:
        return python_pass(cells)
    rest = np.flatnonzero(~spoken).tolist()
    if rest:
        _merge(passed, rest, python_pass([cells[i] for i in rest]))
    return passed


def _merge(passed: Passed, positions: list[int], part: Passed) -> None:
    """Put ``part``, what a pass made of the cells at ``positions``, into ``passed``."""
    values, decided, errors = passed
    part_values, part_decided, part_errors = part
    for position, value in zip(positions, part_values, strict=True):
        values[position] = value
    decided[positions] = part_decided
    errors.update((positions[i], violation) for i, violation in part_errors.items())
