"""Contacts: every customer's main contact (for a person, the person), and for companies
up to two more people, some reachable only on the company switchboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import emails, names, noise, phones
from .customers import Chunk
from .plan import CustomerPlan
from .timeline import Timeline
from .vectors import Array, Rows, choose, concat, expand, nullable

FURTHER_CONTACTS = (0.45, 0.35, 0.2)  # companies with 0, 1 or 2 contacts besides the main one
LANDLINE_SHARE = 0.25
FURTHER_EMAIL_SHARE = 0.7
MAIN_CONTACT_SHARE = 0.6  # of the follow-ups and tickets that name a contact


@dataclass(frozen=True)
class Contacts:
    rows: Rows
    first: Array  # per customer of the chunk: id of its main contact
    count: Array  # per customer: number of contacts
    keys_used: int  # phone keys consumed from ``key_base``

    def main(self, column: str) -> Array:
        """``column`` of each customer's main contact."""
        out: Array = self.rows[column][self.first - self.rows["id"][0]]
        return out

    def pick(self, rng: np.random.Generator, customer: Array) -> Array:
        """A contact of each given customer (chunk positions): mostly the main one."""
        further = (rng.random(len(customer)) * self.count[customer]).astype(np.int64)
        main = rng.random(len(customer)) < MAIN_CONTACT_SHARE
        return self.first[customer] + np.where(main, 0, further)


def contact_rows(
    rng: np.random.Generator,
    plan: CustomerPlan,
    chunk: Chunk,
    first_id: int,
    key_base: int,
    timeline: Timeline,
) -> Contacts:
    """Each customer's contacts, the main one first; phones of further contacts take
    unused keys from ``key_base`` on (see :mod:`.phones`)."""
    rows = chunk.rows
    company, n = chunk.company, len(chunk)
    extra = np.where(company, choose(rng, FURTHER_CONTACTS, n), 0)
    customer, nth = expand(1 + extra)
    main = nth == 0
    total = len(customer)

    # The main contact as planned; a person's is the person, under the customer's name.
    bad = plan.bad[rows][customer]
    surname, given = names.draw_people(rng, total)
    surname[main], given[main] = plan.surname[rows], plan.given[rows]
    name = names.person_names(surname, given)
    person_main = main & ~company[customer]
    name[person_main] = chunk.name[~company]
    title = names.draw_titles(rng, total, main=False)
    title[main] = plan.title[rows]

    keys = key_base + np.cumsum(~main) - 1
    mobile = phones.mobiles(rng, keys)
    mobile[main] = plan.phone[rows]
    landline = ~main & (rng.random(total) < LANDLINE_SHARE)
    phone = np.where(
        landline, phones.landline_e164(chunk.city[customer], keys), phones.mobile_e164(mobile)
    )
    phone[bad == noise.BAD_PHONE] = phones.malformed(mobile[bad == noise.BAD_PHONE])

    has_email = rng.random(total) < FURTHER_EMAIL_SHARE
    has_email[main] = plan.has_email[rows]
    style = emails.draw_styles(rng, total)
    style[main] = plan.email_style[rows]
    number = rng.integers(0, 10**10, total)
    number[main] = plan.email_number[rows]
    brand, word = plan.names.brand[rows][customer], plan.names.word[rows][customer]
    domain_index = plan.email_domain[rows][customer]
    personal = person_main
    box = np.where(
        personal,
        emails.personal_mailbox(surname, given, style, number, domain_index),
        emails.mailbox(surname, given, style, number),
    )
    domain = np.where(
        personal,
        emails.PUBLIC_DOMAINS[np.where(personal, domain_index, 0)],
        emails.company_domain(brand, word, np.where(personal, 0, domain_index)),
    )
    at = np.where(bad == noise.BAD_EMAIL, "", "@").astype(object)

    created = chunk.created[customer]
    created = np.where(main, created, timeline.moments(rng, created))
    ids = np.arange(first_id, first_id + total)
    stamp = timeline.stamp(created)
    return Contacts(
        rows={
            "id": ids,
            "customer_id": chunk.ids[customer],
            "name": name,
            "title": nullable(names.TITLE[title], company[customer]),
            "phone": phone,
            "email": nullable(concat(box, at, domain), has_email),
            "is_primary": main,
            "created_at": stamp,
            "updated_at": stamp,
        },
        first=ids[main],
        count=1 + extra,
        keys_used=int((~main).sum()),
    )
