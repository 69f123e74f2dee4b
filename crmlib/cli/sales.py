"""Leads and campaigns: ``crm leads list|add|status|assign|convert``, ``crm campaigns
list|add|members|respond|roi``."""

from __future__ import annotations

from typing import Any

import click

from ..i18n import t
from .base import Settings, friendly_errors, main, pass_settings, show_table, value_text


@main.group()
def leads() -> None:
    """Leads: enter, move through their statuses, assign and convert."""


@leads.command("list")
@click.option("--status")
@click.option("--owner")
@pass_settings
@friendly_errors
def list_leads(settings: Settings, status: str | None, owner: str | None) -> None:
    """The leads you may see."""
    filters = {k: v for k, v in {"status": status, "owner": owner}.items() if v}
    columns = ["id", "name", "company", "phone", "source", "region", "status", "owner", "team"]
    show_table(settings.workspace().leads.frame(**filters)[columns])


@leads.command("add")
@click.option("--name", required=True)
@click.option("--source", required=True)
@click.option("--company")
@click.option("--phone")
@click.option("--email")
@click.option("--province")
@click.option("--industry")
@click.option("--owner")
@pass_settings
@friendly_errors
def add_lead(settings: Settings, **values: Any) -> None:
    """Enter a lead."""
    lead = settings.workspace().leads.add(**{k: v for k, v in values.items() if v is not None})
    click.echo(
        t(
            "leads_cli:lead_added",
            id=lead["id"],
            status=value_text("lead_status", lead["status"]),
            owner=value_text("owner", lead["owner"]) or "-",
        )
    )


@leads.command("status")
@click.argument("lead_id", type=int)
@click.argument("status")
@click.option("--reason", help="Why the lead is invalid.")
@pass_settings
@friendly_errors
def lead_status(settings: Settings, lead_id: int, status: str, reason: str | None) -> None:
    """Move a lead to STATUS (contacted, qualified, invalid --reason …)."""
    changes = {"status": status, **({"invalid_reason": reason} if reason else {})}
    lead = settings.workspace().leads.update(lead_id, **changes)
    click.echo(
        t("leads_cli:lead_status", id=lead_id, status=value_text("lead_status", lead["status"]))
    )


@leads.command("assign")
@click.option("--dry-run", is_flag=True, help="Show who would get which lead; save nothing.")
@pass_settings
@friendly_errors
def assign(settings: Settings, dry_run: bool) -> None:
    """Hand unassigned leads to sales reps by the lead_assignment setting."""
    ws = settings.workspace()
    click.echo(ws.leads.assign(dry_run=dry_run).describe(ws.ctx.lang, settings.names))


@leads.command("convert")
@click.argument("lead_id", type=int)
@click.option("--opportunity", "deal", help="Name of a deal to open for the new customer.")
@click.option("--amount", help="The deal's amount.")
@click.option("--attach-to", help="Customer code to add the lead to instead of a new customer.")
@click.option("--new-customer", is_flag=True, help="Create the customer despite likely duplicates.")
@pass_settings
@friendly_errors
def convert(
    settings: Settings,
    lead_id: int,
    deal: str | None,
    amount: str | None,
    attach_to: str | None,
    new_customer: bool,
) -> None:
    """Convert a qualified lead into a customer (and a deal)."""
    opportunity = {"name": deal, **({"amount": amount} if amount else {})} if deal else None
    done = settings.workspace().leads.convert(
        lead_id, opportunity=opportunity, attach_to=attach_to, ignore_duplicates=new_customer
    )
    what = "leads_cli:lead_to_new_customer" if done.new_customer else "leads_cli:lead_to_customer"
    deal_text = t("leads_cli:deal_opened", id=done.opportunity_id) if done.opportunity_id else ""
    click.echo(t(what, id=lead_id, code=done.customer_code) + deal_text)


@main.group()
def campaigns() -> None:
    """Marketing campaigns: plan, add members, record responses, ROI."""


@campaigns.command("list")
@pass_settings
@friendly_errors
def list_campaigns(settings: Settings) -> None:
    """Every campaign."""
    columns = ["id", "name", "channel", "start_date", "end_date", "budget", "actual_cost"]
    show_table(settings.workspace().campaigns.frame()[columns])


@campaigns.command("add")
@click.option("--name", required=True)
@click.option("--channel", required=True)
@click.option("--start-date")
@click.option("--end-date")
@click.option("--budget")
@click.option("--actual-cost")
@click.option("--goal")
@click.option("--target-segment")
@pass_settings
@friendly_errors
def add_campaign(settings: Settings, **values: Any) -> None:
    """Plan a campaign."""
    made = settings.workspace().campaigns.add(**{k: v for k, v in values.items() if v})
    click.echo(t("leads_cli:campaign_added", id=made["id"], name=made["name"]))


@campaigns.command("members")
@click.argument("campaign")
@click.argument("codes", nargs=-1)
@click.option("--segment", help="Add a saved segment's members (default: the target segment).")
@pass_settings
@friendly_errors
def members(settings: Settings, campaign: str, codes: tuple[str, ...], segment: str | None) -> None:
    """Add customers (by code), or a segment's members when no code is given, to CAMPAIGN
    (id or name)."""
    ws = settings.workspace()
    if codes and segment:
        raise click.UsageError(t("leads_cli:codes_or_segment"))
    if codes:
        added = ws.campaigns.add_members(campaign, codes)
    else:
        added = ws.campaigns.add_segment_members(campaign, segment)
    click.echo(t("leads_cli:members_added", count=added))


@campaigns.command("respond")
@click.argument("campaign")
@click.argument("code")
@click.argument("response")
@pass_settings
@friendly_errors
def respond(settings: Settings, campaign: str, code: str, response: str) -> None:
    """Record that customer CODE answered CAMPAIGN."""
    settings.workspace().campaigns.record_response(campaign, code, response)
    click.echo(t("leads_cli:responded", code=code))


@campaigns.command("roi")
@pass_settings
@friendly_errors
def roi(settings: Settings) -> None:
    """Cost, attributed revenue and ROI per campaign (revenue: orders of the campaign)."""
    show_table(settings.workspace().campaigns.roi().drop(columns=["id"]))
