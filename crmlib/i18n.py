"""User-facing text in Chinese and English. Code asks for a message by key; the
language comes from the caller, else ``CRM_LANG``, else Chinese."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_language: ContextVar[str | None] = ContextVar("crm_language", default=None)

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "is required", "zh": "为必填项"},
    "required_any": {
        "en": "needs at least one of {fields}",
        "zh": "至少需要填写其中一项：{fields}",
    },
    "too_long": {"en": "is longer than {limit} characters", "zh": "超过 {limit} 个字符"},
    "phone_format": {
        "en": "is not a valid phone number (mobile, landline with area code, or +country)",
        "zh": "不是有效的电话号码（手机、带区号的座机或 +国家码）",
    },
    "phone_letters": {
        "en": "contains letters or words ({letters}): type the number in digits; letters are "
        "not converted to digits",
        "zh": "含有字母或文字（{letters}）：请只用数字填写号码，字母不会换算成数字",
    },
    "phone_extension": {
        "en": "has an extension ({extension}): the phone holds the number alone, so enter it "
        "without the extension and note the extension elsewhere",
        "zh": "带有分机号（{extension}）：电话只能填写号码本身，请去掉分机号，另行记录分机号",
    },
    "phone_characters": {
        "en": "has “{character}” where a phone number cannot: only digits, with spaces, "
        "hyphens, dots or brackets between them, and a leading +",
        "zh": "含有不能出现在此处的“{character}”：电话号码只能由数字组成，数字之间可用空格、"
        "-、. 或括号分隔，开头可加 +",
    },
    "email_format": {"en": "is not a valid e-mail address", "zh": "不是有效的电子邮箱"},
    "enum": {"en": "is not one of: {choices}", "zh": "不在可选值中：{choices}"},
    "province": {"en": "is not a province of China", "zh": "不是中国的省级行政区"},
    "industry": {
        "en": "is not a GB/T 4754-2017 section or division (code or name)",
        "zh": "不是 GB/T 4754-2017 行业门类或大类（代码或名称）",
    },
    "postcode": {"en": "is not a six-digit postcode", "zh": "不是六位邮政编码"},
    "date_format": {"en": "is not a date", "zh": "不是有效日期"},
    "amount": {"en": "is not a non-negative amount", "zh": "不是有效的非负金额"},
    "amount_grouping": {
        "en": "has thousands separators out of place: they split the digits in groups of "
        "three (1,200.50); write the amount without them or as 1,234,567",
        "zh": "千位分隔符位置不对：应每三位一组（1,200.50），请去掉分隔符或写成 1,234,567",
    },
    "text_control": {
        "en": "contains the control character {character} (position {position}), which "
        "cannot be stored: remove it",
        "zh": "含有无法保存的控制字符 {character}（第 {position} 个字符），请删除",
    },
    "text_invisible": {
        "en": "has no visible character (only blanks, zero-width or format characters)",
        "zh": "没有可见字符（只有空白、零宽或格式字符）",
    },
    "date_range": {
        "en": "is not a plausible date: dates run from {first} to {last}",
        "zh": "不是合理的日期：日期应在 {first} 至 {last} 之间",
    },
    "probability": {
        "en": "is not a probability from 0 to 1 (or 0% to 100%)",
        "zh": "不是 0 到 1（或 0% 到 100%）之间的概率",
    },
    "flag": {"en": "is not yes/no", "zh": "不是“是/否”"},
    "file_missing": {"en": "file {path} does not exist", "zh": "文件 {path} 不存在"},
    "file_is_folder": {"en": "{path} is a folder, not a file", "zh": "{path} 是文件夹，不是文件"},
    "file_empty": {"en": "file {path} is empty", "zh": "文件 {path} 是空的"},
    "file_xls": {
        "en": "file {path} is in the old .xls format: save it as .xlsx or CSV",
        "zh": "文件 {path} 是旧版 .xls 格式，请另存为 .xlsx 或 CSV",
    },
    "file_sheet_csv": {
        "en": "file {path} is a CSV file and has no sheets",
        "zh": "文件 {path} 是 CSV 文件，没有工作表",
    },
    "file_mixed_encoding": {
        "en": "file {path} mixes encodings: line {line} is {other} text, not {encoding} like "
        "the lines before it; save the whole file again as CSV UTF-8",
        "zh": "文件 {path} 混用了多种编码：第 {line} 行是 {other} 文本，不是前面各行所用的 "
        "{encoding}，请将整个文件重新另存为 CSV UTF-8",
    },
    "file_binary": {
        "en": "file {path} is neither a CSV nor an Excel (.xlsx) file",
        "zh": "文件 {path} 既不是 CSV 也不是 Excel（.xlsx）文件",
    },
    "file_no_header": {"en": "file {path} has no header row", "zh": "文件 {path} 没有表头行"},
    "file_malformed": {
        "en": "file {path} is not a well-formed table: {detail}",
        "zh": "文件 {path} 不是格式正确的表格：{detail}",
    },
    "file_bad_encoding": {
        "en": "file {path} is not valid {encoding} text: save it again as CSV UTF-8",
        "zh": "文件 {path} 不是有效的 {encoding} 文本，请重新另存为 CSV UTF-8",
    },
    "file_ragged": {
        "en": "file {path}: row {row} has {found} cells but the header has {expected}; "
        "quote values that contain the separator, or remove the extra cells",
        "zh": "文件 {path}：第 {row} 行有 {found} 个单元格，但表头只有 {expected} 个；"
        "请给含分隔符的值加引号，或删除多余的单元格",
    },
    "file_open_quote": {
        "en": "file {path}: the quote opened in row {row} is never closed",
        "zh": "文件 {path}：第 {row} 行开始的引号没有闭合",
    },
    "file_bad_xlsx": {
        "en": "file {path} is not a readable Excel workbook ({detail})",
        "zh": "文件 {path} 不是可读取的 Excel 工作簿（{detail}）",
    },
    "file_no_sheet": {
        "en": "file {path} has no sheet {sheet!r}; its sheets are: {sheets}",
        "zh": "文件 {path} 中没有工作表 {sheet!r}，现有工作表：{sheets}",
    },
    "file_empty_sheet": {
        "en": "sheet {sheet!r} of {path} is empty",
        "zh": "文件 {path} 的工作表 {sheet!r} 是空的",
    },
    "import_counts": {
        "en": "{rows} rows: {created} created, {updated} updated, {unchanged} unchanged, "
        "{rejected} rejected; {warned} with warnings",
        "zh": "共 {rows} 行：新建 {created}，更新 {updated}，未变 {unchanged}，拒绝 {rejected}；"
        "{warned} 行有警告",
    },
    "import_unknown_columns": {
        "en": "columns not recognised (ignored): {columns}",
        "zh": "未识别的列（已忽略）：{columns}",
    },
    "import_dry_run": {"en": "dry run: nothing was saved", "zh": "试运行：未保存任何数据"},
    "import_committed": {"en": "saved", "zh": "已保存"},
    "import_strict_failed": {
        "en": "strict mode: some rows were rejected, so nothing was saved",
        "zh": "严格模式：有被拒绝的行，因此未保存任何数据",
    },
    "import_rejects_at": {"en": "rejected rows: {path}", "zh": "被拒绝的行：{path}"},
    "import_warnings_at": {"en": "warnings: {path}", "zh": "警告：{path}"},
    "import_no_known_header": {
        "en": "file {path}: no header is a column of {kind} (expected e.g. {expected})",
        "zh": "文件 {path}：没有任何表头是{kind}的列（例如应为 {expected}）",
    },
    "repeated_row": {
        "en": "repeats row {row} of the file [repeated_row]",
        "zh": "与文件第 {row} 行重复 [repeated_row]",
    },
    "unknown_campaign": {"en": "is not a known campaign", "zh": "不是已有的营销活动"},
    "bad_code": {
        "en": "is not a customer code (C + date + sequence, e.g. C20240501001)",
        "zh": "不是客户编号（C + 日期 + 序号，如 C20240501001）",
    },
    "code_taken": {
        "en": "belongs to another customer (external ID {other}) [code_taken]",
        "zh": "属于另一个客户（外部编号 {other}）[code_taken]",
    },
    "unknown_customer": {"en": "is not a known customer", "zh": "不是已有的客户"},
    "customer_ref_required": {
        "en": "customer_code or customer_external_id is required",
        "zh": "必须填写客户编号或客户外部编号",
    },
    "outside_scope": {
        "en": "customer {code} is outside your scope [outside_scope]",
        "zh": "客户 {code} 不在您的权限范围内 [outside_scope]",
    },
    "record_outside_scope": {
        "en": "matches a record outside your scope, which was left unchanged",
        "zh": "对应的记录不在您的权限范围内，未做任何修改",
    },
    "may_not_assign": {
        "en": "you may not assign records to this user [may_not_assign]",
        "zh": "您不能把记录分配给该用户 [may_not_assign]",
    },
    "unknown_user": {"en": "is not an active user", "zh": "不是有效的用户"},
    "unique": {"en": "is already used by {other}", "zh": "已被 {other} 使用"},
    "unknown_field": {"en": "is not a field of {entity}", "zh": "不是{entity}的字段"},
}


def register(messages: Mapping[str, Mapping[str, str]], namespace: str = "") -> None:
    """Add a module's messages to the catalogue, so all text is found through :func:`t`.

    Keys are filed as ``namespace:key`` when a namespace is given. A key may be registered
    twice only with the same texts: two modules must not give one key two meanings.
    """
    for key, texts in messages.items():
        name = f"{namespace}:{key}" if namespace else key
        if name in MESSAGES and MESSAGES[name] != dict(texts):
            raise ValueError(f"message {name!r} is already registered with other texts")
        MESSAGES[name] = dict(texts)


def current_lang(lang: str | None = None) -> str:
    """The language to speak: the argument, the workspace's (see :func:`speaking`),
    ``CRM_LANG``, else Chinese."""
    chosen = lang or _language.get() or os.environ.get("CRM_LANG", "zh")
    return "en" if chosen.lower().startswith("en") else "zh"


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Messages raised inside the block are in ``lang``."""
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``values`` filled in."""
    return MESSAGES[key][current_lang(lang)].format(**values)
