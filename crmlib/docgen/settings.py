"""docs/reference/settings.md: every setting with its type, default and meaning, from
crmlib/settings.py."""

from __future__ import annotations

import json

from ..settings import DEFAULTS, DESCRIPTIONS
from .markdown import banner, code, table


def _default(key: str) -> str:
    return json.dumps(DEFAULTS[key], ensure_ascii=False, indent=2)


def render() -> str:
    overview = [
        (f"[{code(key)}](#{key})", DESCRIPTIONS[key].type, DESCRIPTIONS[key].en)
        for key in sorted(DEFAULTS)
    ]
    parts = [
        banner("DEFAULTS and DESCRIPTIONS in crmlib/settings.py"),
        "",
        "# Settings / 设置",
        "",
        "Configurable business rules. Each is stored in the database's `settings` table; "
        "until it is set there, the default below applies. An administrator changes one "
        "from Python, inside a session of an open workspace:",
        "",
        "```text",
        "from crmlib.settings import set_setting",
        "with ws.ctx.session() as session:",
        '    set_setting(session, "stale_opportunity_days", 21)',
        "```",
        "",
        "业务规则可配置，保存在数据库的 `settings` 表中；未设置时使用下列默认值。",
        "",
        table(("Setting", "Type", "What it does"), overview),
    ]
    for key in sorted(DEFAULTS):
        info = DESCRIPTIONS[key]
        parts += [
            "",
            f"## {key}",
            "",
            f"Type: {info.type}",
            "",
            info.en,
            "",
            info.zh,
            "",
            "Default:",
            "",
            "```json",
            _default(key),
            "```",
        ]
    return "\n".join(parts).rstrip() + "\n"
