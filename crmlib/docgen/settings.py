"""docs/reference/settings.md: every setting with its type, rule, default and meaning, from
crmlib/settings/."""

from __future__ import annotations

import json

from ..settings import DEFAULTS, DESCRIPTIONS, rule_text
from .markdown import banner, code, table


def _default(key: str) -> str:
    return json.dumps(DEFAULTS[key], ensure_ascii=False, indent=2)


def render() -> str:
    overview = [
        (
            f"[{code(key)}](#{key})",
            DESCRIPTIONS[key].title("en"),
            DESCRIPTIONS[key].title("zh"),
            DESCRIPTIONS[key].type,
        )
        for key in sorted(DEFAULTS)
    ]
    parts = [
        banner(
            "DEFAULTS, DESCRIPTIONS and RULES in crmlib/settings/ (names, descriptions and "
            "rules in words in crmlib/locale/)"
        ),
        "",
        "# Settings / 设置",
        "",
        "Configurable business rules. Each is stored in the database's `settings` table; "
        "until it is set there, the default below applies. Everyone may read them; an "
        "administrator (a role with `manage_settings`) changes them, and every change is "
        "audited with the old and the new value. A value that breaks the setting's rule is "
        "refused with the key, the value and the rule; a stored value that breaks it (written "
        "before the rules existed) reads as the default, with a warning, until it is set again.",
        "",
        "```text",
        "crm settings list",
        "crm settings get stale_opportunity_days",
        "crm --user admin settings set stale_opportunity_days 21",
        "crm --user admin settings reset stale_opportunity_days",
        "",
        'ws.settings.get("stale_opportunity_days")',
        'ws.settings.set("stale_opportunity_days", 21)',
        'ws.settings.reset("stale_opportunity_days")',
        "ws.settings.list()       # key, value, default, changed, name, description, rule, …",
        "ws.settings.history()    # who changed which setting when, from what to what",
        "```",
        "",
        "业务规则可配置，保存在数据库的 `settings` 表中；未设置时使用下列默认值。所有人都可以查看；"
        "管理员（拥有 `manage_settings` 权限的角色）可以修改，"
        "每次修改都记入审计日志（含旧值和新值）。"
        "不符合规则的值会被拒绝，错误信息指明设置项、值和规则；数据库中已保存但不符合规则的值"
        "（规则出现之前写入的）按默认值处理并给出警告，直到重新设置。",
        "",
        table(("Setting", "Name", "名称", "Type"), overview),
    ]
    for key in sorted(DEFAULTS):
        info = DESCRIPTIONS[key]
        parts += [
            "",
            f"## {key}",
            "",
            f"{info.title('en')} / {info.title('zh')}",
            "",
            f"Type: {info.type}",
            "",
            f"Rule: {rule_text(key, 'en')}",
            "",
            f"规则：{rule_text(key, 'zh')}",
            "",
            info.description("en"),
            "",
            info.description("zh"),
            "",
            "Default:",
            "",
            "```json",
            _default(key),
            "```",
        ]
    return "\n".join(parts).rstrip() + "\n"
