"""A record's history read as sentences: every action and table has its words in every
language of the catalogue."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlib.history import ACTIONS, ENTITIES, describe
from crmlib.i18n import LANGUAGES, catalogue


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_action_and_table_has_words(lang: str) -> None:
    texts = catalogue(lang)
    missing = [f"history:{a}" for a in ACTIONS if f"history:{a}" not in texts]
    missing += [f"history_entity:{e}" for e in ENTITIES if f"history_entity:{e}" not in texts]
    assert missing == []


def _event(**values: object) -> pd.Series:
    base = {
        "occurred_at": "2024-05-01 10:00",
        "actor": "zhang",
        "entity": "customers",
        "action": "update",
        "ref": "C20240501001",
        "field": "remarks",
        "old_value": None,
        "new_value": "老客户",
    }
    return pd.Series({**base, **values})


def test_an_update_reads_in_each_language() -> None:
    zh = describe(_event(), "zh", {"zhang": "张伟"})
    en = describe(_event(), "en", {"zhang": "张伟"})
    assert zh.startswith("2024-05-01 10:00 张伟 将 C20240501001 的 ")
    assert zh.endswith("从 （空） 改为 老客户")
    assert en.startswith("2024-05-01 10:00 张伟 changed ")
    assert en.endswith("of C20240501001 from (empty) to 老客户")


def test_a_created_record_names_its_table() -> None:
    line = describe(_event(entity="tickets", action="create", field=None), "zh")
    assert line.endswith("创建了工单 C20240501001")


def test_an_unknown_action_still_reads() -> None:
    line = describe(_event(action="recount", field=None, new_value="3"), "en")
    assert line.endswith("recount customer C20240501001: 3")
