"""Report runs: parameters and titles, the papermill runner with its outputs and history,
failures that keep the last good output, skip-if-empty, the data-quality gate, the
schedule, the ``crm report`` commands and the Voila launcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import crmlib
from crmlib import clock
from crmlib.cli import main
from crmlib.errors import ValidationError
from crmlib.reporting import REPORTS, voila
from crmlib.reporting import parameters as params
from crmlib.reporting.runner import Runner
from crmlib.serving import guard
from crmlib.workspace import Workspace
from tests.factories import Team, built_demo, company
from tests.templates import Templates

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks" / "reports"
TODAY = date(2026, 11, 22)


# -- parameters and titles ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("previous_month", "2026-10"),
        ("this_month", "2026-11"),
        ("previous_quarter", "2026-Q3"),
        ("this_quarter", "2026-Q4"),
        ("previous_year", "2025"),
        ("2024-Q1", "2024-Q1"),
        (None, None),
    ],
)
def test_relative_periods_resolve_on_the_run_day(period: str | None, expected: str | None) -> None:
    assert params.resolve_period(period, TODAY) == expected


def test_previous_quarter_in_january_is_last_year() -> None:
    assert params.resolve_period("previous_quarter", date(2027, 1, 5)) == "2026-Q4"
    assert params.resolve_period("previous_month", date(2027, 1, 5)) == "2026-12"


def test_titles_are_built_from_the_parameters() -> None:
    name = REPORTS["customer_profile"]
    values = params.normalise({"period": "2024-Q1", "region": "East China"})
    assert params.title(name.title_name, values, "zh") == "2024年Q1华东区域客户画像分析报告"
    assert params.title(name.title_name, values, "en") == (
        "Customer profile report — East China, 2024 Q1"
    )
    month = params.normalise({"period": "2024-05", "team": "east"})
    assert params.title(name.title_name, month, "zh") == "2024年5月east团队客户画像分析报告"
    days = params.normalise({"start": "2024-01-01", "end": "2024-03-31"})
    assert days["period"] is None
    assert params.title(name.title_name, days, "zh").startswith("2024-01-01至2024-03-31")


def test_bad_parameters_name_field_value_and_rule() -> None:
    with pytest.raises(ValidationError) as unknown:
        params.normalise({"regoin": "华东"})
    assert (unknown.value.errors[0].field, unknown.value.errors[0].rule) == (
        "regoin",
        "report_parameter",
    )
    with pytest.raises(ValidationError) as lang:
        params.normalise({"lang": "fr"})
    assert lang.value.errors[0].rule == "lang"
    with pytest.raises(ValidationError) as region:
        params.normalise({"region": "火星"})
    assert region.value.errors[0].field == "region"
    with pytest.raises(ValidationError) as period:
        params.normalise({"period": "last week"})
    assert period.value.errors[0].rule == "period"


def test_url_query_overrides_the_parameters_cell() -> None:
    cell = {"period": "previous_quarter", "region": None, "lang": "zh"}
    merged = params.from_query("region=%E5%8D%8E%E4%B8%9C&period=2024-Q1&voila-x=1", cell)
    assert merged == {"period": "2024-Q1", "region": "华东", "lang": "zh"}
    days = params.from_query("start=2024-01-01&end=2024-01-31", cell)
    assert days["period"] is None and days["start"] == "2024-01-01"
    assert params.from_query(None, cell) == cell


def test_parameter_files_must_be_mappings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- period\n- region\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        params.read_file(bad)
    assert caught.value.errors[0].rule == "yaml"
    with pytest.raises(ValidationError):
        params.read_file(tmp_path / "missing.yaml")


# -- runs ----------------------------------------------------------------------------------


@pytest.fixture
def demo(db_url: str, templates: Templates) -> Iterator[Workspace]:
    templates.fill(db_url, partial(built_demo, customers=150, seed=3, lang="zh"))
    ws = crmlib.open(db_url, user="admin", lang="zh")
    yield ws
    ws.close()


def _runner(ws: Workspace, tmp_path: Path) -> Runner:
    return ws.reports.runner(notebooks=NOTEBOOKS, output=tmp_path / "reports")


def _record(ws: Workspace, run_id: int) -> dict[str, object]:
    history = ws.reports.history()
    row = history[history["id"] == run_id].iloc[0]
    return dict(row)


@pytest.mark.notebooks
def test_run_writes_outputs_and_a_failed_run_keeps_the_last_good_ones(
    demo: Workspace, tmp_path: Path
) -> None:
    file = tmp_path / "east.yaml"
    file.write_text("period: previous_quarter\nregion: 华东\n", encoding="utf-8")
    runner = _runner(demo, tmp_path)
    gate = {"threshold": 1.0, "action": "warn"}  # no real data is perfect: always warns
    good = runner.run("customer_profile", file=file, formats=("html", "xlsx"), quality_gate=gate)

    assert good.status == "warning", good.error
    folder = tmp_path / "reports" / "customer_profile" / clock.today().isoformat()
    assert set(good.outputs) == {"notebook", "html", "xlsx"}
    assert all(Path(p).parent == folder and Path(p).stem == "east" for p in good.outputs.values())
    page = Path(good.outputs["html"]).read_text(encoding="utf-8")
    assert "华东区域客户画像分析报告" in page
    assert "数据质量评分" in page  # the gate's warning is on the report
    assert "dashboards.show(" not in page  # no code
    assert 'src="http' not in page and 'href="http' not in page
    sheets = openpyxl.load_workbook(good.outputs["xlsx"]).sheetnames
    assert {"区域分布", "行业分布", "跟进渠道", "报表参数"} <= set(sheets)
    record = _record(demo, good.id)
    assert record["status"] == "warning" and record["actor"] == "admin"
    assert json.loads(str(record["parameters"]))["values"] == {
        "period": "previous_quarter",
        "region": "华东",
    }
    assert json.loads(str(record["outputs"]))["html"] == good.outputs["html"]
    assert float(record["duration_s"]) > 0  # type: ignore[arg-type]
    before = {kind: Path(p).read_bytes() for kind, p in good.outputs.items()}

    bad = runner.run(
        "customer_profile", {"segment": "no such segment"}, file=file, formats=("html", "xlsx")
    )
    assert bad.status == "failed"
    assert bad.error and "no such segment" in bad.error
    assert Path(bad.outputs["failed_notebook"]).parent.name == "failed"
    assert {kind: Path(p).read_bytes() for kind, p in good.outputs.items()} == before
    assert sorted(p.name for p in folder.iterdir()) == ["east.html", "east.ipynb", "east.xlsx"]
    assert _record(demo, bad.id)["error"] == bad.error


def test_skip_if_empty_and_quality_gate_skip_record_why(demo: Workspace, tmp_path: Path) -> None:
    runner = _runner(demo, tmp_path)
    empty = runner.run("sales_funnel", {"team": "nobody"}, skip_if_empty=True)
    assert empty.status == "skipped" and empty.error and "leads" in empty.error
    low = runner.run("kpi_dashboard", quality_gate={"threshold": 1.0, "action": "skip"})
    assert low.status == "skipped" and low.error and "数据质量评分" in low.error
    bad = runner.run("kpi_dashboard", {"region": "火星"})
    assert bad.status == "failed" and bad.error and "region" in bad.error
    statuses = demo.reports.history()["status"].tolist()
    assert statuses == ["failed", "skipped", "skipped"]
    assert not (tmp_path / "reports").exists()  # nothing ran, nothing written


def test_bad_run_arguments_are_refused_before_anything_runs(demo: Workspace) -> None:
    with pytest.raises(ValidationError) as report:
        demo.reports.run("sales_dashboard")
    assert (report.value.errors[0].field, report.value.errors[0].rule) == ("report", "known_report")
    assert "kpi_dashboard" in report.value.errors[0].message  # the reports that exist
    with pytest.raises(ValidationError) as formats:
        demo.reports.run("kpi_dashboard", formats=("docx",))
    assert formats.value.errors[0].rule == "formats"
    with pytest.raises(ValidationError) as gate:
        demo.reports.run("kpi_dashboard", quality_gate={"threshold": 2})
    assert gate.value.errors[0].rule == "threshold"
    assert demo.reports.history().empty


def test_dashboards_show_what_the_user_may_see(team: Team) -> None:
    admin_ws, zhang = team.admin, team.zhang
    for n in range(3):
        admin_ws.customers.add(
            **company(name=f"华东客户{n}有限公司", owner="zhang" if n else "zhao")
        )
    mine = zhang.reports.build("kpi_dashboard", period=None, lang="en")
    everyone = admin_ws.reports.build("kpi_dashboard", period=None, lang="en")
    values = zhang.kpis().set_index("id")["value"]
    assert {h.id: h.value for h in mine.headline}["new_customers"] == values["new_customers"]
    assert {h.id: h.value for h in everyone.headline}["new_customers"] == 3
    assert values["new_customers"] == 2
    assert mine.title.startswith("KPI dashboard")


# -- schedule ------------------------------------------------------------------------------


def _schedule(tmp_path: Path) -> Path:
    (tmp_path / "kpi.yaml").write_text("period: previous_month\n", encoding="utf-8")
    (tmp_path / "funnel.yaml").write_text("period: previous_quarter\n", encoding="utf-8")
    gate = "{threshold: 1.0, action: skip}"  # skips at once: the schedule, not papermill
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "reports:\n"
        f"  kpi_monthly:\n    report: kpi_dashboard\n    cron: '0 7 1 * *'\n"
        f"    parameters: kpi.yaml\n    quality_gate: {gate}\n"
        f"  funnel_weekly:\n    report: sales_funnel\n    cron: '0 7 * * 1'\n"
        f"    parameters: funnel.yaml\n    formats: [html]\n    quality_gate: {gate}\n",
        encoding="utf-8",
    )
    return path


def test_due_runs_each_entry_once_per_cron_time(demo: Workspace, tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    tuesday = datetime(2026, 11, 3, 9, 0)  # after Monday 07:00 and the 1st 07:00
    assert [e.name for e in demo.reports.due(schedule, tuesday)] == ["kpi_monthly", "funnel_weekly"]
    results = demo.reports.run_due(schedule, tuesday, output=tmp_path / "out")
    assert [r.status for r in results] == ["skipped", "skipped"]
    history = demo.reports.history()
    assert {json.loads(p)["schedule"] for p in history["parameters"]} == {
        "kpi_monthly",
        "funnel_weekly",
    }
    # run_due records runs at business time now; judge later times against those runs
    now = history["started_at"].max().to_pydatetime()
    assert demo.reports.due(schedule, now) == []
    new_year = datetime(now.year + 1, 1, 1, 7, 0)  # both have fired again by then
    assert [e.name for e in demo.reports.due(schedule, new_year)] == [
        "kpi_monthly",
        "funnel_weekly",
    ]


@pytest.mark.parametrize(
    ("entry", "field", "rule"),
    [
        ("report: kpi_dashboard\n    cron: 'every day'", "x.cron", "cron"),
        ("report: nothing\n    cron: '0 7 * * *'", "report", "known_report"),
        (
            "report: kpi_dashboard\n    cron: '0 7 * * *'\n    parameters: gone.yaml",
            "x.parameters",
            "file",
        ),
        ("report: kpi_dashboard\n    cron: '0 7 * * *'\n    formats: [doc]", "formats", "formats"),
        ("report: kpi_dashboard\n    cron: '0 7 * * *'\n    mail: boss", "x.mail", "schedule_key"),
    ],
)
def test_bad_schedule_entries_are_named(tmp_path: Path, entry: str, field: str, rule: str) -> None:
    from crmlib.reporting.schedule import load

    path = tmp_path / "schedule.yaml"
    path.write_text(f"reports:\n  x:\n    {entry}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(path)
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == (field, rule)


def test_the_shipped_schedule_loads() -> None:
    from crmlib.reporting.schedule import load

    entries = load(ROOT / "parameters" / "schedule.yaml")
    assert {e.report for e in entries} == set(REPORTS)


# -- command line --------------------------------------------------------------------------


def test_crm_report_commands(demo: Workspace, db_url: str, tmp_path: Path) -> None:
    cli = CliRunner()
    base = ["--url", db_url, "--user", "admin", "--lang", "en"]
    schedule = _schedule(tmp_path)
    kpi = str(tmp_path / "kpi.yaml")
    skip = ["--min-quality", "1", "--on-low-quality", "skip", "--output", str(tmp_path / "o")]
    run = cli.invoke(
        main, [*base, "report", "run", "kpi_dashboard", "-f", kpi, "-p", "region=华东", *skip]
    )
    assert run.exit_code == 0, run.output
    assert "KPI dashboard: Skipped" in run.output
    due = cli.invoke(main, [*base, "report", "due", "-s", str(schedule), "--dry-run"])
    assert due.exit_code == 0 and "kpi_monthly: KPI dashboard (0 7 1 * *)" in due.output
    history = cli.invoke(main, [*base, "report", "history"])
    assert history.exit_code == 0
    assert "KPI dashboard Skipped" in history.output and "region=华东" in history.output
    bad = cli.invoke(main, [*base, "report", "run", "kpi_dashboard", "-p", "regoin=华东"])
    assert bad.exit_code == 1 and "regoin" in bad.output
    unknown = cli.invoke(main, [*base, "report", "run", "nothing"])
    assert unknown.exit_code == 2


# -- Voila launcher ------------------------------------------------------------------------


def test_voila_serves_locally_stripped_and_preheated(tmp_path: Path) -> None:
    with guard() as guarded:
        args = voila.command(NOTEBOOKS, guarded)
    assert "--Voila.ip=127.0.0.1" in args and "--port=8866" in args
    assert {"--strip_sources=True", "--show_tracebacks=False", "--preheat_kernel=True"} <= set(args)
    assert not any(a.startswith("--token") or guarded.token in a for a in args)
    runtime = voila.write_template(tmp_path)
    folder = runtime / "voila" / "templates" / voila.TEMPLATE
    landing = (folder / "tree.html").read_text(encoding="utf-8")
    for report in REPORTS.values():
        assert f"voila/render/{report.notebook}" in landing
        assert f"{report.title_name('zh')} · {report.title_name('en')}" in landing
    assert "cdn.jsdelivr.net" in (folder / "index.html.j2").read_text()  # removed by replace
    env = voila.environment(runtime, "sqlite:///x.db", "wang")
    assert env["JUPYTER_PATH"].split(":")[0] == str(runtime)
    assert (env["CRM_DATABASE_URL"], env["CRM_USER"]) == ("sqlite:///x.db", "wang")
