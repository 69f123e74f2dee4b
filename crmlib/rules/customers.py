"""The field rules of a customer record as the API, the entry form and the settings take
it: the customer's own fields, its primary contact's (:data:`.records.CONTACT_FIELDS`) and
its owner. Below :mod:`crmlib.settings`, whose ``required_fields`` names these fields."""

from __future__ import annotations

from ..reference.enums import CUSTOMER_KIND, CUSTOMER_STATUS, GRADE, SIZE, SOURCE
from .fields import (
    Rule,
    date_value,
    datetime_value,
    email,
    enum_of,
    identifier,
    industry,
    phone,
    postcode,
    province,
    text,
)
from .tags import tags_text

RULES: dict[str, Rule] = {
    "name": text(200),
    "kind": enum_of(CUSTOMER_KIND),
    "industry": industry,
    "size": enum_of(SIZE),
    "province": province,
    "city": text(64),
    "postcode": postcode,
    "address": text(300),
    "remarks": text(2000),
    "grade": enum_of(GRADE),
    "status": enum_of(CUSTOMER_STATUS),
    "source": enum_of(SOURCE),
    "birthday": date_value,
    "consent_purpose": text(200),
    "consent_at": datetime_value,
    "external_id": identifier(128),
    "contact": text(100),
    "title": text(100),
    "phone": phone,
    "email": email,
    "owner": identifier(64),
}
#: A customer's tags as one text: the entry form's field and an import's cell as typed,
#: the API's list of tags joined by commas, each tag as long as the tag column allows.
#: One rule on every path.
TAGS = tags_text(500)
