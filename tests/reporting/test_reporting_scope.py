"""Report runs keep to the user: the run history is scoped like the data, and a file given
as a parameter file never has its text quoted in an error or stored in a run record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmlib.cli import main
from crmlib.errors import ValidationError
from crmlib.workspace import Workspace
from tests.factories import Team, build_team

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "reports"
SECRET = "s3cretHash"
EVERYONE = {"admin", "zhang", "li", "wang", "zhao", "ana"}


@pytest.fixture(scope="module")
def team(module_db_url: str) -> Iterator[Team]:
    """The users of :func:`build_team`, once per module and backend."""
    built = build_team(module_db_url)
    yield built
    built.close()


@pytest.fixture(scope="module")
def runs(team: Team, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """One recorded run for each of six users (a bad region fails before papermill starts);
    admin's is a scheduled run. The id of each user's run."""
    output = tmp_path_factory.mktemp("reports")
    made = {}
    for name in sorted(EVERYONE):
        ws: Workspace = getattr(team, name)
        with ws.reports.runner(notebooks=NOTEBOOKS, output=output) as runner:
            schedule = "kpi_monthly" if name == "admin" else None
            result = runner.run("kpi_dashboard", {"region": "火星"}, schedule=schedule)
        assert result.status == "failed"
        made[name] = result.id
    return made


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("zhang", {"zhang"}),
        ("zhao", {"zhao"}),
        ("wang", {"zhang", "li", "wang"}),  # the manager of team east
        ("ana", EVERYONE),  # an analyst sees all customers, so every run, scheduled ones too
        ("admin", EVERYONE),
    ],
)
def test_history_is_scoped_like_the_data(
    team: Team, runs: dict[str, int], user: str, visible: set[str]
) -> None:
    history = getattr(team, user).reports.history()
    mine = history[history["id"].isin(runs.values())]
    assert set(mine["actor"]) == visible
    assert set(mine["id"]) == {runs[name] for name in visible}


def test_crm_report_history_shows_only_the_users_runs(team: Team, runs: dict[str, int]) -> None:
    cli = CliRunner()
    base = ["--url", team.url, "--lang", "en", "report", "history", "-n", "100"]
    rep = cli.invoke(main, ["--user", "zhang", *base])
    assert rep.exit_code == 0, rep.output
    assert f"#{runs['zhang']} " in rep.output
    assert all(f"#{runs[name]} " not in rep.output for name in EVERYONE - {"zhang"})
    manager = cli.invoke(main, ["--user", "wang", *base])
    assert manager.exit_code == 0, manager.output
    assert f"#{runs['li']} " in manager.output and f"#{runs['zhao']} " not in manager.output
    assert "kpi_monthly" not in manager.output  # admin's scheduled run


@pytest.mark.parametrize(
    ("content", "rule", "says"),
    [
        (
            f"root:$6${SECRET}:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n",
            "report_parameter",
            "(line 1, 2;",
        ),
        (f"period: 2024-Q1\nDB_PASSWORD: {SECRET}\n", "report_parameter", "(line 2;"),
        (f"period: [2024-Q1, {SECRET}\n", "yaml", "not valid YAML (near line 2)"),
        (f"{SECRET}\x00\n", "yaml", "not valid YAML"),
        (f"period: {SECRET}\n".encode("utf-16"), "readable", "cannot be read as UTF-8"),
        (f"- {SECRET}\n" * 6000, "size", "larger than 64 KB"),  # 84 KB
    ],
    ids=["passwd-like", "env-like", "broken", "control", "utf16", "too-big"],
)
def test_a_file_that_is_no_parameter_file_is_refused_without_quoting_it(
    team: Team, tmp_path: Path, content: str | bytes, rule: str, says: str
) -> None:
    file = tmp_path / "secrets"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content, encoding="utf-8")
    before = len(team.admin.reports.history(limit=1000))
    with pytest.raises(ValidationError) as caught:
        team.zhang.reports.run("kpi_dashboard", file=file, output=tmp_path / "out")
    message = str(caught.value)
    assert SECRET not in message
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == ("file", rule)
    assert str(file) in message and says in message
    history = team.admin.reports.history(limit=1000)
    assert len(history) == before  # refused before anything ran: nothing recorded
    assert not history.astype(str).apply(lambda column: column.str.contains(SECRET)).any().any()


def test_the_command_line_names_the_file_and_lines_in_chinese(team: Team, tmp_path: Path) -> None:
    file = tmp_path / ".env"
    file.write_text(f"period: 2024-Q1\nAPI_TOKEN: {SECRET}\n", encoding="utf-8")
    args = [
        "--url",
        team.url,
        "--user",
        "zhang",
        "--lang",
        "zh",
        "report",
        "run",
        "kpi_dashboard",
        "-f",
        str(file),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert SECRET not in result.output and "API_TOKEN" not in result.output
    assert f"参数文件 {file} 第 2 行不是报表参数" in result.output


def test_a_schedule_that_is_not_yaml_is_refused_without_quoting_it(
    team: Team, tmp_path: Path
) -> None:
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(f"reports:\n  x: {{report: kpi_dashboard, cron: {SECRET}\n")
    with pytest.raises(ValidationError) as caught:
        team.admin.reports.due(schedule)
    assert caught.value.errors[0].rule == "yaml" and SECRET not in str(caught.value)


def test_a_schedule_checks_its_parameter_files_before_running_any(
    team: Team, tmp_path: Path
) -> None:
    (tmp_path / "kpi.yaml").write_text("period: previous_month\n", encoding="utf-8")
    (tmp_path / "id_rsa").write_text(f"key: {SECRET}\n", encoding="utf-8")
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(
        "reports:\n  kpi: {report: kpi_dashboard, cron: '0 7 * * *', parameters: kpi.yaml}\n"
        "  key: {report: sales_funnel, cron: '0 7 * * *', parameters: id_rsa}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        team.admin.reports.due(schedule)
    assert caught.value.errors[0].rule == "report_parameter" and SECRET not in str(caught.value)
    assert "id_rsa" in str(caught.value)
