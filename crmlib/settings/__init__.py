"""Configurable business rules, stored in the ``settings`` table with defaults here.

Every key has a rule (:data:`RULES`; in words :func:`rule_text`): a value that breaks it
is refused with the key, the value and the rule, so one typo cannot stop everyone's work; a
stored value that breaks it (written before the rules existed) reads as the default, with
a :class:`SettingWarning`. Everyone reads the settings; changing one (``ws.settings``,
``crm settings``) needs the role's ``manage_settings`` and is audited.
"""

from .defaults import DEFAULTS, DESCRIPTIONS, SettingInfo
from .rules import RULES, Rule, parse_value, problems, rule_text, validated
from .service import Change, Settings
from .store import SettingWarning, Stored, get_setting, read_setting, reset_setting, set_setting

__all__ = [
    "DEFAULTS",
    "DESCRIPTIONS",
    "RULES",
    "Change",
    "Rule",
    "SettingInfo",
    "SettingWarning",
    "Settings",
    "Stored",
    "get_setting",
    "parse_value",
    "problems",
    "read_setting",
    "reset_setting",
    "rule_text",
    "set_setting",
    "validated",
]
