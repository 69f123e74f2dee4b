"""The customer entry form shows the custom fields, checks them as they are typed and saves
them with the customer (SQLite and PostgreSQL through ``team``)."""

from __future__ import annotations

from decimal import Decimal

from crmlib import ui
from tests.factories import Team, company


def test_the_form_enters_checks_and_changes_custom_fields(team: Team) -> None:
    fields = team.admin.custom_fields
    fields.define(
        "customers",
        "industry_detail",
        names={"zh": "行业细分", "en": "Industry detail"},
        type="choice",
        choices=["汽车零部件", "消费电子"],
    )
    fields.define(
        "customers", "credit", names={"zh": "授信额度", "en": "Credit line"}, type="money"
    )
    entry = ui.CustomerEntry(team.zhang)
    detail, credit = entry.form["custom:industry_detail"], entry.form["custom:credit"]
    assert detail.input.description == "Industry detail"
    assert [value for _, value in detail.input.options][1:] == ["汽车零部件", "消费电子"]

    for name, value in company(industry="65").items():
        entry.form[name].value = value
    credit.value = "-5"
    assert credit.problem  # the money rule speaks as it is typed
    entry.save_button.click()
    assert entry.code is None and credit.problem

    credit.value = "5万"
    detail.value = "消费电子"
    entry.save_button.click()
    assert entry.status.kind == "ok", entry.status.value
    assert entry.code is not None
    saved = team.zhang.customers.get(entry.code)
    assert saved.custom == {"industry_detail": "消费电子", "credit": Decimal("50000.00")}
    assert entry.form["custom:credit"].value == "50000.00"  # the saved file, loaded again

    entry.form["custom:industry_detail"].value = ""
    entry.save_button.click()
    assert entry.status.kind == "ok", entry.status.value
    assert team.zhang.customers.get(entry.code).custom == {"credit": Decimal("50000.00")}
    assert any("Industry detail" in line for line in entry.history.frame["text"])
