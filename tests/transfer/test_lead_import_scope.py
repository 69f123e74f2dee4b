"""Which stored leads an import may change is the API's rule (``Scope.lead_filter``): a
team manager re-imports the team's unassigned leads as they edit them in the API, and no
one re-imports a lead the API hides from them, on both databases."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from crmlib.errors import AccessDenied
from crmlib.workspace import Workspace
from tests.factories import Team

HEADER = ["external_id", "name", "phone", "company", "source", "status"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def row_of(lead: dict[str, object], **changes: str) -> list[str]:
    values = {key: str(lead[key] or "") for key in HEADER} | changes
    return [values[key] for key in HEADER]


@pytest.fixture
def leads(team: Team) -> dict[str, dict[str, object]]:
    """An unassigned lead of no team, one waiting in team west, one of rep zhang (east)
    and one of rep zhao (west), entered through the API."""
    admin = team.admin

    def add(external_id: str, name: str, phone: str, **values: str) -> dict[str, object]:
        return admin.leads.add(
            external_id=external_id,
            name=name,
            phone=phone,
            company="杭州湖畔机械有限公司",
            source="website",
            **values,
        )

    made = {
        "waiting": add("L-WAIT", "王磊", "13912340001"),
        "west_waiting": add("L-WEST", "周杰", "13912340002", owner="zhao"),
        "zhangs": add("L-ZHANG", "刘洋", "13912340003", owner="zhang"),
        "zhaos": add("L-ZHAO", "陈静", "13912340004", owner="zhao"),
    }
    made["west_waiting"] = admin.leads.update(made["west_waiting"]["id"], owner=None)
    assert made["west_waiting"]["team"] == "west" and made["west_waiting"]["owner"] is None
    return made


def api_may_change(ws: Workspace, lead: dict[str, object]) -> bool:
    """Whether the API lets ``ws`` change the lead (a change of nothing but its name)."""
    try:
        ws.leads.update(lead["id"], name=str(lead["name"]))
    except AccessDenied:
        return False
    return True


@pytest.mark.parametrize("user", ["wang", "zhang", "zhao", "admin"])
def test_an_import_changes_exactly_the_leads_the_api_lets_the_user_change(
    team: Team, leads: dict[str, dict[str, object]], user: str, tmp_path: Path
) -> None:
    ws: Workspace = getattr(team, user)
    allowed = {name for name, lead in leads.items() if api_may_change(ws, lead)}
    file = write_csv(tmp_path / "leads.csv", [row_of(lead) for lead in leads.values()])
    result = ws.import_file("leads", file)
    refused: set[str] = set()
    if result.rejects_path is not None:
        rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
        assert all("[outside_scope]" in reason for reason in rejects["reasons"])
        by_key = {str(lead["external_id"]): name for name, lead in leads.items()}
        refused = {by_key[key] for key in rejects["external_id"]}
    assert (result.unchanged, result.created) == (len(allowed), 0)
    assert refused == set(leads) - allowed
    expected = {
        "wang": {"waiting", "zhangs"},
        "zhang": {"zhangs"},
        "zhao": {"zhaos"},
        "admin": set(leads),
    }
    assert allowed == expected[user]


def test_a_manager_re_imports_the_teams_unassigned_lead(
    team: Team, leads: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    """By its key it is updated; by its name, phone and company it is matched, not entered
    again; the other team's waiting lead is refused and stays as it was."""
    waiting, west = leads["waiting"], leads["west_waiting"]
    by_key = write_csv(
        tmp_path / "key.csv",
        [row_of(waiting, status="contacted"), row_of(west, status="contacted")],
    )
    result = team.wang.import_file("leads", by_key)
    assert (result.updated, result.rejected) == (1, 1)
    assert team.admin.leads.get(waiting["id"])["status"] == "contacted"
    assert team.admin.leads.get(west["id"])["status"] == "new"
    natural = write_csv(
        tmp_path / "natural.csv", [row_of(waiting, external_id="", status="contacted")]
    )
    again = team.wang.import_file("leads", natural)
    assert (again.unchanged, again.created, again.rejected) == (1, 0, 0)
