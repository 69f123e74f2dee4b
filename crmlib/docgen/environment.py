"""docs/reference/environment.md: every environment variable, from crmlib/environment.py."""

from __future__ import annotations

from ..environment import AUDIENCES, VARIABLES
from ..i18n import t
from .markdown import banner, code, table


def render() -> str:
    parts = [
        banner("VARIABLES in crmlib/environment.py"),
        "",
        "# Environment variables / 环境变量",
        "",
        "Every environment variable crmlib reads or sets. Unset variables take the default "
        "shown; a command-line option, where there is one, wins over the variable.",
        "",
        "crmlib 读取或设置的全部环境变量。未设置时取所示默认值；有对应命令行选项时以选项为准。",
    ]
    for audience in AUDIENCES:
        rows = [
            (code(v.name), v.default or "unset / 未设置", v.description("en"), v.description("zh"))
            for v in VARIABLES
            if v.audience == audience
        ]
        parts += [
            "",
            f"## {t(f'environment_audience:{audience}', 'en')} / "
            f"{t(f'environment_audience:{audience}', 'zh')}",
            "",
            table(("Variable", "Default", "Meaning", "说明"), rows),
        ]
    return "\n".join(parts).rstrip() + "\n"
