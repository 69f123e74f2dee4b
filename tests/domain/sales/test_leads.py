"""Leads: status flow, assignment rules, conversion in one transaction, import rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import crmlib
import crmlib.domain.sales.conversion as conversion
from crmlib.errors import AccessDenied, ValidationError
from crmlib.settings import set_setting
from crmlib.store.models import Contact, Customer, Lead, Opportunity
from crmlib.workspace import Workspace
from tests.factories import Team, company

LEAD = {
    "name": "王磊",
    "company": "苏州启航机械有限公司",
    "phone": "13912345678",
    "source": "exhibition",
    "province": "江苏",
    "industry": "34",
}


def rule_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.rule for e in exc.value.errors]


def qualified(ws: Workspace, **values: Any) -> int:
    lead = ws.leads.add(**{**LEAD, **values})
    ws.leads.update(lead["id"], status="contacted")
    ws.leads.update(lead["id"], status="qualified")
    return int(lead["id"])


def counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.ctx.reading() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Customer, Contact, Opportunity)
        )


def test_a_reps_lead_is_theirs_and_derives_region(team: Team) -> None:
    lead = team.zhang.leads.add(**LEAD)
    assert (lead["owner"], lead["team"], lead["region"], lead["status"]) == (
        "zhang",
        "east",
        "华东",
        "new",
    )
    assert lead["assigned_at"] is not None
    with pytest.raises(AccessDenied):
        team.li.leads.get(lead["id"])
    assert list(team.wang.leads.frame()["id"]) == [lead["id"]]


def test_leads_need_name_and_source_and_valid_fields(team: Team) -> None:
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.add(name="", phone="123", source="fax")
    assert {(e.field, e.rule) for e in exc.value.errors} >= {
        ("phone", "phone_format"),
        ("source", "enum:source"),
        ("name", "required"),
    }


def test_roles_without_pii_see_masked_phones_and_only_editors_edit(team: Team) -> None:
    lead = team.admin.leads.add(**LEAD)
    assert team.ana.leads.get(lead["id"])["phone"] == "139****5678"
    assert team.ana.leads.frame()["phone"].tolist() == ["139****5678"]
    with pytest.raises(AccessDenied):
        team.ana.leads.add(**LEAD)
    with pytest.raises(AccessDenied):
        team.sun.leads.update(lead["id"], status="contacted")


def test_status_flow_allows_the_next_steps_only(team: Team) -> None:
    lead = team.zhang.leads.add(**LEAD)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.update(lead["id"], status="qualified")
    assert rule_of(exc) == ["lead_status_flow"]
    assert "contacted" in str(exc.value).lower()
    assert team.zhang.leads.update(lead["id"], status="contacted")["status"] == "contacted"
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.update(lead["id"], status="new")
    assert rule_of(exc) == ["lead_status_flow"]


def test_converted_comes_only_through_conversion(team: Team) -> None:
    lead_id = qualified(team.zhang)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.update(lead_id, status="converted")
    assert rule_of(exc) == ["converted_by_conversion"]
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.add(**LEAD, status="converted")
    assert rule_of(exc) == ["converted_by_conversion"]


def test_invalid_needs_a_reason_and_is_final(team: Team) -> None:
    lead = team.zhang.leads.add(**LEAD)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.update(lead["id"], status="invalid")
    assert rule_of(exc) == ["invalid_needs_reason"]
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.add(**LEAD, status="invalid")
    assert rule_of(exc) == ["invalid_needs_reason"]
    done = team.zhang.leads.update(lead["id"], status="invalid", invalid_reason="空号")
    assert (done["status"], done["invalid_reason"]) == ("invalid", "空号")
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.update(lead["id"], status="contacted")
    assert rule_of(exc) == ["lead_status_flow"]


def test_a_status_change_is_one_history_entry(team: Team) -> None:
    lead = team.zhang.leads.add(**LEAD)
    team.zhang.leads.update(lead["id"], status="contacted")
    history = team.zhang.leads.history(lead["id"])
    changes = history[history["field"] == "status"]
    assert changes[["actor", "old_value", "new_value"]].values.tolist() == [
        ["zhang", "new", "contacted"]
    ]


def test_campaign_attribution_is_checked(team: Team) -> None:
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.add(**LEAD, campaign_id=999)
    assert rule_of(exc) == ["unknown_campaign"]


# -- assignment -------------------------------------------------------------------------


def _policy(ws: Workspace, method: str) -> None:
    with ws.ctx.session() as session:
        set_setting(
            session,
            "lead_assignment",
            {
                "method": method,
                "rules": [
                    {"region": "华东", "industry": "C", "team": "east"},
                    {"region": "华南", "industry": None, "team": "west"},
                ],
            },
        )


def _unassigned(ws: Workspace, n: int, **values: Any) -> list[int]:
    return [int(ws.leads.add(**{**LEAD, "phone": None, **values})["id"]) for _ in range(n)]


def test_round_robin_goes_to_who_was_assigned_least_recently(team: Team) -> None:
    _policy(team.admin, "round_robin")
    east = _unassigned(team.admin, 3)
    south = _unassigned(team.admin, 1, province="广东")
    nowhere = _unassigned(team.admin, 1, province="北京")
    result = team.admin.leads.assign()
    assert [result.leads[i] for i in east] == ["li", "zhang", "li"]
    assert result.leads[south[0]] == "zhao"
    assert result.unmatched == nowhere
    assert result.assigned == {"li": 2, "zhang": 1, "zhao": 1}
    assert "li" in result.describe("en")
    more = _unassigned(team.admin, 2)
    again = team.admin.leads.assign()
    assert [again.leads[i] for i in more] == ["zhang", "li"]  # the rotation goes on
    assert team.zhang.leads.get(east[1])["team"] == "east"


def test_fewest_open_goes_to_the_least_loaded_rep(team: Team) -> None:
    _policy(team.admin, "fewest_open")
    for _ in range(2):
        team.li.leads.add(**LEAD)
    waiting = _unassigned(team.admin, 3)
    result = team.admin.leads.assign()
    assert [result.leads[i] for i in waiting] == ["zhang", "zhang", "li"]


def test_a_manager_assigns_within_their_team_and_reps_may_not(team: Team) -> None:
    _policy(team.admin, "round_robin")
    east = _unassigned(team.admin, 1)
    south = _unassigned(team.admin, 1, province="广东")
    with pytest.raises(AccessDenied):
        team.zhang.leads.assign()
    result = team.wang.leads.assign()
    assert result.leads == {east[0]: "li"}
    assert result.other_team == south
    assert team.admin.leads.get(south[0])["owner"] is None
    dry = team.admin.leads.assign(dry_run=True)
    assert dry.leads == {south[0]: "zhao"}
    assert team.admin.leads.get(south[0])["owner"] is None


def test_a_bad_method_is_named(team: Team) -> None:
    """Refused when it is set (crmlib.settings checks every setting's rule), not at the
    first assignment."""
    with pytest.raises(ValidationError) as exc:
        _policy(team.admin, "lottery")
    assert rule_of(exc) == ["setting_choice"]
    assert exc.value.errors[0].field == "lead_assignment.method"


# -- conversion -------------------------------------------------------------------------


def test_conversion_makes_customer_contact_and_deal_with_the_campaign(team: Team) -> None:
    campaign = team.admin.campaigns.add(name="工业展", channel="exhibition")
    lead_id = qualified(team.zhang, campaign_id=campaign["id"])
    done = team.zhang.leads.convert(lead_id, opportunity={"name": "产线", "amount": "50万"})
    customer = team.zhang.customers.get(done.customer_code)
    assert (customer.name, customer.contact, customer.owner, customer.source) == (
        "苏州启航机械有限公司",
        "王磊",
        "zhang",
        "exhibition",
    )
    deal = team.zhang.opportunities.get(done.opportunity_id)
    assert deal["campaign_id"] == campaign["id"]
    lead = team.zhang.leads.get(lead_id)
    assert (lead["status"], lead["customer_code"], lead["opportunity_id"]) == (
        "converted",
        done.customer_code,
        done.opportunity_id,
    )
    assert lead["converted_at"] is not None
    members = team.admin.campaigns.members(campaign["id"])
    assert members["status"].tolist() == ["converted"]
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.convert(lead_id)
    assert rule_of(exc) == ["lead_status_flow"]


def test_only_a_qualified_lead_converts(team: Team) -> None:
    lead = team.zhang.leads.add(**LEAD)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.convert(lead["id"])
    assert rule_of(exc) == ["lead_status_flow"]


def test_likely_duplicates_stop_it_until_attached(team: Team) -> None:
    existing = team.zhang.customers.add(**company(name="苏州启航机械有限公司", phone="13912345678"))
    lead_id = qualified(team.zhang)
    with pytest.raises(conversion.PossibleDuplicates) as exc:
        team.zhang.leads.convert(lead_id)
    assert exc.value.rule == "possible_duplicate"
    assert [m.code for m in exc.value.matches] == [existing.code]
    assert existing.code in str(exc.value)
    before = counts(team.admin)
    done = team.zhang.leads.convert(lead_id, attach_to=existing.code, opportunity={"name": "扩产"})
    assert (done.customer_code, done.new_customer) == (existing.code, False)
    after = counts(team.admin)
    assert (after[0], after[1] - before[1], after[2] - before[2]) == (before[0], 1, 1)


def test_a_failure_half_way_leaves_nothing_behind(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = qualified(team.zhang)
    before = counts(team.admin)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.convert(lead_id, opportunity={"name": "产线", "amount": "很多"})
    assert rule_of(exc) == ["amount"]
    assert counts(team.admin) == before

    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(conversion, "_member_converted", broken)
    with pytest.raises(RuntimeError):
        team.zhang.leads.convert(lead_id, opportunity={"name": "产线"})
    assert counts(team.admin) == before
    assert team.zhang.leads.get(lead_id)["status"] == "qualified"


def test_a_missing_required_customer_field_is_named(team: Team) -> None:
    lead_id = qualified(team.zhang, industry=None)
    with pytest.raises(ValidationError) as exc:
        team.zhang.leads.convert(lead_id)
    assert [(e.field, e.rule) for e in exc.value.errors] == [("industry", "required")]


def test_marketing_may_not_convert(team: Team) -> None:
    team.admin.users.add("mei", role="marketing")
    with crmlib.open(team.url, user="mei", lang="en") as mei:
        lead_id = qualified(mei)
        with pytest.raises(AccessDenied):
            mei.leads.convert(lead_id)


# -- import -----------------------------------------------------------------------------


def test_import_enforces_invalid_reason_and_conversion(team: Team, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,source,status,invalid_reason,external_id\n"
        "甲,website,invalid,,L1\n"
        "乙,website,converted,,L2\n"
        "丙,website,invalid,空号,L3\n"
        "丁,website,new,,L4\n",
        encoding="utf-8",
    )
    result = team.zhang.import_file("leads", path)
    assert (result.created, result.rejected) == (2, 2)
    with team.admin.ctx.reading() as conn:
        stored = dict(conn.execute(select(Lead.external_id, Lead.team)).all())
    assert stored == {"L3": "east", "L4": "east"}
    reasons = Path(str(result.rejects_path)).read_text(encoding="utf-8-sig")
    assert "invalid_needs_reason" in reasons and "converted_needs_customer" in reasons

    # A later file moves existing leads only as the status flow allows.
    path.write_text(
        "name,source,status,external_id\n丁,website,qualified,L4\n丙,website,new,L3\n",
        encoding="utf-8",
    )
    moved = team.zhang.import_file("leads", path)
    assert (moved.created, moved.updated, moved.rejected) == (0, 0, 2)
    reasons = Path(str(moved.rejects_path)).read_text(encoding="utf-8-sig")
    assert reasons.count("lead_status_flow") == 2
    path.write_text("name,source,status,external_id\n丁,website,contacted,L4\n", encoding="utf-8")
    assert team.zhang.import_file("leads", path).updated == 1


def test_the_demo_routes_its_unassigned_leads(sqlite_url: str) -> None:
    from crmlib.demo.generate import generate

    ws = crmlib.open(sqlite_url, user="admin", lang="en")
    generate(ws.engine, customers=300, seed=7)
    leads = ws.leads.frame()
    waiting = leads[leads.owner.isna() & (leads.status == "new")]
    assert len(waiting) > 0
    assert leads[leads.owner.notna()].team.notna().all()
    result = ws.leads.assign()
    assert len(result.leads) == len(waiting) and not result.unmatched
    ws.close()


def test_crm_leads_and_campaigns_commands(team: Team) -> None:
    from click.testing import CliRunner

    from crmlib.cli import main

    _policy(team.admin, "round_robin")
    lead_id = int(team.admin.leads.add(**LEAD)["id"])
    run = CliRunner().invoke
    base = ["--url", team.url, "--lang", "en"]
    assigned = run(main, [*base, "--user", "wang", "leads", "assign"])
    assert assigned.exit_code == 0 and "li: 1" in assigned.output
    refused = run(main, [*base, "--user", "li", "leads", "status", str(lead_id), "qualified"])
    assert refused.exit_code == 1 and "lead_status_flow" in refused.output
    for status in ("contacted", "qualified"):
        assert (
            run(main, [*base, "--user", "li", "leads", "status", str(lead_id), status]).exit_code
            == 0
        )
    done = run(
        main, [*base, "--user", "li", "leads", "convert", str(lead_id), "--opportunity", "扩产"]
    )
    assert done.exit_code == 0 and "new customer C" in done.output, done.output
    roi = run(main, [*base, "--user", "admin", "campaigns", "roi"])
    assert roi.exit_code == 0


def test_converted_leads_import_with_the_customer_they_became(team: Team, tmp_path: Path) -> None:
    mine = team.zhang.customers.add(**company())
    theirs = team.zhao.customers.add(**company(name="成都天府贸易有限公司"))
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,source,status,customer_code,external_id,converted_at\n"
        f"甲,website,converted,{mine.code},L1,2024-05-01 10:00\n"
        "乙,website,converted,,L2,\n"
        f"丙,website,qualified,{mine.code},L3,\n"
        "丁,website,converted,C20990101001,L4,\n"
        f"戊,website,converted,{theirs.code},L5,\n",
        encoding="utf-8",
    )
    result = team.zhang.import_file("leads", path)
    assert (result.created, result.rejected) == (1, 4)
    reasons = Path(str(result.rejects_path)).read_text(encoding="utf-8-sig")
    for rule in ("converted_needs_customer", "customer_needs_conversion", "unknown_customer"):
        assert rule in reasons
    assert theirs.code in reasons  # outside zhang's scope
    stored = team.zhang.leads.frame().set_index("external_id").loc["L1"]
    assert (stored["status"], stored["customer_code"]) == ("converted", mine.code)
    assert str(stored["converted_at"]).startswith("2024-05-01 10:00")


def test_exported_leads_move_to_a_new_database_with_their_customers(
    team: Team, tmp_path: Path
) -> None:
    lead_id = qualified(team.zhang, external_id="L-1")
    became = team.zhang.leads.convert(lead_id).customer_code
    team.zhang.leads.add(**{**LEAD, "name": "新线索", "phone": "13900001111"})
    customers = team.admin.export("customers", tmp_path / "customers.csv").path
    leads = team.admin.export("leads", tmp_path / "leads.csv").path

    fresh = crmlib.open(f"sqlite:///{tmp_path / 'fresh.db'}", user="admin", lang="en")
    try:
        fresh.users.add("zhang", role="sales", team="east")
        assert fresh.import_file("customers", customers).rejected == 0
        moved = fresh.import_file("leads", leads)
        assert (moved.created, moved.rejected) == (2, 0)
        frame = fresh.leads.frame().set_index("name")
        assert frame.loc[LEAD["name"], "status"] == "converted"
        assert frame.loc[LEAD["name"], "customer_code"] == became
        assert frame.loc["新线索", "status"] == "new"
    finally:
        fresh.close()
