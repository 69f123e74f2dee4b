"""The customer entry notebook's application: a form with every customer field, checked as
it is typed, a duplicate warning, saving through the audited API, and a search that opens
an existing file for editing with its change history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..domain.customers.custom_fields import AUDIT_PREFIX, FieldDef
from ..errors import CRMError, ValidationError
from ..rules.customers import RULES
from ..rules.tags import split_tags
from ..settings import get_setting
from ..transfer.kinds import CUSTOMERS
from ..workspace import Workspace
from .base import Status, attempt, banner, button, heading, lang_of
from .duplicates import DuplicateWarning
from .fields import FieldSpec, column_spec
from .forms import RecordForm
from .grid import Grid
from .texts import say

#: Fields typed as several lines.
MULTILINE = frozenset({"remarks"})
#: Fields whose typing triggers the duplicate check.
WATCHED = ("name", "phone", "email")


#: What the form calls a custom field (``custom:<key>``, as files and the history do).
CUSTOM = AUDIT_PREFIX


def customer_specs(lang: str, custom: Sequence[FieldDef] = ()) -> list[FieldSpec]:
    """Every field of a customer file (the import columns less the generated code), with
    the customer rules and the reference lists as dropdowns; then the ``custom`` fields,
    each checked by its type's rule, a choice field as a dropdown of its choices."""
    return [
        *(
            replace(
                column_spec(column, lang, RULES.get(column.name)),
                multiline=column.name in MULTILINE,
            )
            for column in CUSTOMERS.columns
            if column.name != "code"
        ),
        *(
            FieldSpec(
                f"{CUSTOM}{field.key}",
                field.label(lang),
                field.rule,
                [(c, c) for c in field.choices] if field.type == "choice" else None,
            )
            for field in custom
        ),
    ]


def split_custom(values: dict[str, Any]) -> dict[str, Any]:
    """Take the custom fields' values out of a form's ``values``, by key."""
    names = [name for name in values if name.startswith(CUSTOM)]
    return {name.removeprefix(CUSTOM): values.pop(name) for name in names}


def _custom_errors(error: ValidationError, keys: Sequence[str]) -> ValidationError:
    """``error`` with the problems of custom fields named as the form names them."""
    return ValidationError(
        [replace(e, field=f"{CUSTOM}{e.field}") if e.field in keys else e for e in error.errors]
    )


def record_values(record: dict[str, Any]) -> dict[str, Any]:
    """A customer record as the form's fields hold it."""
    values = dict(record)
    values["industry"] = record.get("industry_division") or record.get("industry_section")
    values["tags"] = ", ".join(record.get("tags") or ())
    birthday = record.get("birthday")
    values["birthday"] = f"{birthday:%Y-%m-%d}" if birthday is not None else None
    values["consent_at"] = _moment_text(record.get("consent_at"))
    for key, value in (record.get("custom") or {}).items():
        values[f"{CUSTOM}{key}"] = None if value is None else str(value)
    return values


def _moment_text(moment: datetime | None) -> str | None:
    """A consent time as the form shows it, to the second, so that saving the form again
    keeps it; a bare date at midnight."""
    if moment is None:
        return None
    return f"{moment:%Y-%m-%d}" if moment.time() == time() else f"{moment:%Y-%m-%d %H:%M:%S}"


class CustomerEntry(widgets.VBox):
    """Enter a new customer, or find one and change it."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lang = lang = lang_of(ws)
        self.code: str | None = None
        with ws.ctx.reading() as conn:
            self.required: dict[str, list[str]] = get_setting(conn, "required_fields")
        self.custom = ws.custom_fields.fields("customers")
        self.form = RecordForm(customer_specs(lang, self.custom), lang)
        self.form["tags"].input.description = say("tags", lang)
        self.status = Status(lang)
        self.title = widgets.HTML()
        self.warning = DuplicateWarning(ws, on_open=self.open_customer)
        # An exact duplicate is refused on saving unless this is ticked (and audited).
        self.allow_duplicate = widgets.Checkbox(
            value=False, description=say("allow_duplicate", lang), indent=False
        )
        self.allow_duplicate.add_class("crm-allow-duplicate")
        allowed = ws.user.role.edit_customers
        self.save_button = button(say("save", lang), "crm-save", "primary", not allowed)
        self.new_button = button(say("new", lang), "crm-new")
        self.save_button.on_click(lambda _: self.save())
        self.new_button.on_click(lambda _: self.new())
        self.query = widgets.Text(
            placeholder=say("search_hint", lang), layout=widgets.Layout(width="24em")
        )
        self.query.add_class("crm-search-query")
        self.search_button = button(say("search", lang), "crm-search")
        self.search_button.on_click(lambda _: self.search())
        self.results = Grid(
            pd.DataFrame(),
            lang,
            key="code",
            page_size=8,
            label=lambda row: f"{row['code']} {row['name']}",
        )
        self.open_button = button(say("open", lang), "crm-open")
        self.open_button.on_click(lambda _: self.open_selected())
        self.history = Grid(pd.DataFrame(), lang, page_size=10)
        for name in WATCHED:
            self.form[name].input.observe(lambda _: self.check_duplicates(), "value")
        self.form["kind"].input.observe(lambda _: self.mark_required(), "value")
        note = [] if allowed else [widgets.HTML(f"<i>{say('read_only', lang)}</i>")]
        super().__init__(
            [
                banner(ws),
                *note,
                widgets.HBox([self.query, self.search_button]),
                self.results,
                self.open_button,
                self.title,
                self.form,
                self.warning,
                self.allow_duplicate,
                widgets.HBox([self.save_button, self.new_button]),
                self.status,
                heading(say("history", lang)),
                self.history,
            ]
        )
        self.add_class("crm-customer-entry")
        self.results.layout.display = "none"
        self.open_button.layout.display = "none"
        self.new()

    # -- actions ---------------------------------------------------------------------------

    def new(self) -> None:
        """An empty form for a new customer, owned by the user."""
        self.code = None
        self.form.clear()
        self.allow_duplicate.value = False
        self.form["kind"].value = "company"
        self.form["owner"].value = self.ws.user.username
        self.form.loaded = {}
        self.title.value = f"<h3>{say('new_customer', self.lang)}</h3>"
        self.history.set_frame(pd.DataFrame())
        self.warning.check({})
        self.status.clear()
        self.mark_required()

    def open_customer(self, code: str) -> None:
        """Load customer ``code`` into the form, with its change history."""
        record = attempt(self.status, lambda: self.ws.customers.get(code))
        if record is None:
            return
        self.code = record.code
        self.allow_duplicate.value = False
        self.form.load(record_values(record.as_dict()))
        self.title.value = f"<h3>{say('editing', self.lang, code=record.code)}</h3>"
        self.warning.check({})
        self.show_history()
        self.status.clear()
        self.mark_required()

    def save(self) -> str | None:
        """Add or change the customer; problems appear under their fields and nothing is
        written. Returns the code saved."""
        self.form.clear_errors()
        tags: list[str] | None
        try:
            if self.code is None:
                values = self.form.filled()
                tags = split_tags(values.pop("tags", None))
                custom = split_custom(values)
                record = self.ws.customers.add(
                    tags=tags, allow_duplicate=self.allow_duplicate.value, custom=custom, **values
                )
            else:
                changes = self.form.changes()
                tags = split_tags(changes.pop("tags")) if "tags" in changes else None
                custom = split_custom(changes)
                record = self.ws.customers.update(self.code, tags=tags, custom=custom, **changes)
        except ValidationError as error:
            error = _custom_errors(error, [f.key for f in self.custom])
            self.form.show_errors(error)
            self.status.show(say("not_saved", self.lang, count=len(error.errors)), "error")
            return None
        except CRMError as error:
            self.status.error(error)
            return None
        self.open_customer(record.code)
        self.status.show(say("saved", self.lang, what=f"{record.code} {record.name}"), "ok")
        return record.code

    def search(self) -> pd.DataFrame:
        found = attempt(self.status, lambda: self.ws.find_customers(self.query.value))
        frame = found if found is not None else pd.DataFrame()
        self.results.set_frame(frame)
        shown = "" if len(frame) else "none"
        self.results.layout.display = ""
        self.open_button.layout.display = shown
        return frame

    def open_selected(self) -> None:
        if self.results.selected:
            self.open_customer(str(self.results.selected))

    def check_duplicates(self) -> None:
        values = self.form.values()
        candidate = {
            k: values.get(k)
            for k in (
                "name",
                "kind",
                "phone",
                "email",
                "city",
                "province",
                "address",
                "external_id",
            )
        }
        if self.code:
            candidate["code"] = self.code
        if values.get("phone") and self.form["phone"].check() is not None:
            candidate.pop("phone")
        if values.get("email") and self.form["email"].check() is not None:
            candidate.pop("email")
        attempt(self.status, lambda: self.warning.check(candidate))

    def mark_required(self) -> None:
        required = set(self.required.get(self.form["kind"].value or "company", []))
        for name, field in self.form.fields.items():
            field.set_required(name in required)

    def show_history(self) -> None:
        if self.code is None:
            return
        events = attempt(self.status, lambda: self.ws.history(str(self.code)))
        if events is not None:
            self.history.set_frame(events[["text"]])
