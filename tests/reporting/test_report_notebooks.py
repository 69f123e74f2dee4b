"""The report notebooks and parameter files as shipped: every parameter file fits its
notebook, every scheduled report runs against a small demo database and writes its
outputs (HTML without code that works offline, Excel, PDF in which Chinese is drawn)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import papermill
import pytest

import crmlib
from crmlib import admin
from crmlib.analytics.kpi import CATALOGUE
from crmlib.reporting import REPORTS, RunResult
from crmlib.reporting import parameters as params
from crmlib.reporting.exporting import PdfPrinter
from crmlib.reporting.schedule import load
from crmlib.workspace import Workspace
from tests.chinese_text import page_text, problems, typed_words

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks" / "reports"
PARAMETERS = ROOT / "parameters"
SCHEDULE = PARAMETERS / "schedule.yaml"
#: The PDF printers the scheduled batch opened.
PRINTERS: list[PdfPrinter] = []
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)
SQL = re.compile(
    r"\b(select|insert|update|delete)\b\s.*\b(from|into|set)\b|sqlalchemy|\.execute\(",
    re.IGNORECASE,
)


def test_every_parameter_file_fits_its_notebook() -> None:
    entries = load(SCHEDULE)
    notebook_of = {e.parameters.resolve(): e.report for e in entries if e.parameters}
    files = sorted(p for p in PARAMETERS.glob("*.yaml") if p.name != "schedule.yaml")
    assert files, "no parameter files"
    for file in files:
        report = notebook_of.get(file.resolve()) or file.stem
        assert report in REPORTS, f"{file.name} is neither scheduled nor named after a report"
        declared = papermill.inspect_notebook(str(NOTEBOOKS / f"{report}.ipynb"))
        assert set(params.read_file(file)) <= set(declared), file.name
        params.normalise(params.read_file(file))  # and the values are valid


@pytest.mark.parametrize("name", list(REPORTS))
def test_notebooks_are_thin_and_share_the_parameters(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and notebook.cells[0] is tagged[0]
    assert set(papermill.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb"))) == set(
        params.PARAMETERS
    )
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert not SQL.search(code), "report notebooks hold no SQL"
    assert f'dashboards.show(\n    "{name}"' in code
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


# -- the scheduled batch -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path_factory.mktemp('report_notebooks') / 'crm.db'}"
    ws = crmlib.open(url, user="admin", lang="zh")
    admin.build_demo(ws.engine, customers=300, seed=11, fresh=True)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def batch(
    demo: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, RunResult], Path]]:
    """Every due entry of the shipped schedule (all of them: none has run yet)."""
    output = tmp_path_factory.mktemp("reports")
    monkey = pytest.MonkeyPatch()
    monkey.setenv("CRM_NOTEBOOKS", str(NOTEBOOKS))
    build = PdfPrinter.__init__

    def tracked(printer: PdfPrinter) -> None:
        build(printer)
        PRINTERS.append(printer)

    monkey.setattr(PdfPrinter, "__init__", tracked)
    try:
        due = demo.reports.due(SCHEDULE)
        assert {e.name for e in due} == {e.name for e in load(SCHEDULE)}
        results = demo.reports.run_due(SCHEDULE, output=output)
    finally:
        monkey.undo()
    yield {e.name: r for e, r in zip(due, results, strict=True)}, output


@pytest.mark.notebooks
def test_every_scheduled_report_runs(batch: tuple[dict[str, RunResult], Path]) -> None:
    results, _ = batch
    entries = {e.name: e for e in load(SCHEDULE)}
    for name, result in results.items():
        assert result.ok, f"{name}: {result.status} {result.error}"
        kinds = {"notebook", *entries[name].formats}
        assert set(result.outputs) == kinds, name
        assert all(Path(p).is_file() and Path(p).stat().st_size for p in result.outputs.values())
        executed = nbformat.read(result.outputs["notebook"], as_version=4)
        errors = [
            o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"
        ]
        assert not errors, name


@pytest.mark.notebooks
def test_a_batch_prints_every_pdf_with_one_browser(
    batch: tuple[dict[str, RunResult], Path],
) -> None:
    printed = [r for r in batch[0].values() if "pdf" in r.outputs]
    assert len(printed) >= 2, "the schedule should print several PDFs"
    assert [p.launches for p in PRINTERS] == [1]  # one printer, one Chromium, for all
    assert all(Path(r.outputs["pdf"]).read_bytes().startswith(b"%PDF") for r in printed)


@pytest.mark.notebooks
def test_the_schedule_is_idle_after_its_batch(
    demo: Workspace, batch: tuple[dict[str, RunResult], Path]
) -> None:
    assert demo.reports.due(SCHEDULE) == []
    history = demo.reports.history()
    assert len(history) == len(batch[0])
    assert {json.loads(p)["schedule"] for p in history["parameters"]} == set(batch[0])


@pytest.mark.notebooks
def test_html_reports_have_no_code_and_need_no_network(
    batch: tuple[dict[str, RunResult], Path],
) -> None:
    for name, result in batch[0].items():
        if "html" not in result.outputs:
            continue
        page = Path(result.outputs["html"]).read_text(encoding="utf-8")
        assert not EXTERNAL.search(page), name
        assert "dashboards.show(" not in page and "from crmlib" not in page, name
        summary_charts = page.count('id="crm-chart-')
        assert summary_charts >= 3, name  # the charts are in the page, drawn by its scripts
        assert page.count("window.vegaEmbed=") == 1, name  # libraries inlined once
        assert 'class="crm-title"' in page and "<title>" in page


@pytest.mark.notebooks
def test_excel_holds_the_tables_behind_the_charts(
    demo: Workspace, batch: tuple[dict[str, RunResult], Path]
) -> None:
    result = batch[0]["kpi_quarterly_east"]
    book = openpyxl.load_workbook(result.outputs["xlsx"])
    assert {"指标", "月度销售额", "各区域销售额", "报表参数"} <= set(book.sheetnames)
    rows = list(book["指标"].iter_rows(values_only=True))
    header = rows[0]
    stage = header.index("阶段")
    values = {
        r[header.index("名称")]: r[header.index("数值")] for r in rows[1:] if r[stage] is None
    }
    cells = {
        r[header.index("名称")].value: r[header.index("数值")]
        for r in book["指标"].iter_rows(min_row=2)
        if r[stage].value is None
    }
    period = params.resolve_period("previous_quarter")
    expected = demo.kpis(period=period, region="华东").set_index("id")
    formats = {"new_customers": "#,##0", "revenue": "#,##0.00", "win_rate": "0.0%"}
    for kpi_id, number_format in formats.items():
        name = CATALOGUE[kpi_id].name("zh")
        assert values[name] == pytest.approx(expected.at[kpi_id, "value"]), kpi_id
        assert cells[name].number_format == number_format, kpi_id  # a number, formatted
    asked = dict(book["报表参数"].iter_rows(min_row=2, values_only=True))
    assert asked["区域"] == "华东" and asked["期间"] == period


@pytest.mark.notebooks
def test_pdf_draws_chinese_text(batch: tuple[dict[str, RunResult], Path], tmp_path: Path) -> None:
    result = batch[0]["customer_profile_east"]
    pdf = Path(result.outputs["pdf"])
    assert pdf.read_bytes().startswith(b"%PDF")
    # The title's Chinese is in the PDF as text ...
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "华东区域客户画像分析报告" in text
    # ... and drawn: page 1 rendered to a grey image has ink where the title is.
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "72", "-gray", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = _pgm(next(tmp_path.glob("page*.pgm")))
    height, width = image.shape
    assert (height, width) == pytest.approx((842, 595), abs=2)  # A4 at 72 dpi
    ink = image < 128
    assert 0.01 < ink.mean() < 0.5  # text and bars, not a blank or a black page
    title_rows = np.flatnonzero(ink[: height // 5].sum(axis=1) > 3)
    assert title_rows.size > 10  # the title band is drawn
    # Each Chinese character of the title is its own glyph: columns of ink vary along
    # the line (a row of missing-glyph boxes would repeat one pattern).
    band = ink[title_rows.min() : title_rows.max() + 1]
    columns = band.sum(axis=0)
    assert len(set(columns[columns > 0].tolist())) > 5


# -- what a Chinese reader reads (the rules are in tests/chinese_text.py) -------------------


@pytest.fixture(scope="module")
def chinese_reports(
    demo: Workspace, batch: tuple[dict[str, RunResult], Path]
) -> dict[str, RunResult]:
    """A Chinese run of every report: the batch's runs in Chinese, and a run of each report
    the schedule gives only in English."""
    runs: dict[str, RunResult] = {}
    for entry in load(SCHEDULE):  # the first Chinese run of a report: kpi_monthly, all teams
        if entry.parameters and params.read_file(entry.parameters).get("lang") == "zh":
            runs.setdefault(entry.report, batch[0][entry.name])
    missing = [name for name in REPORTS if name not in runs]
    if missing:
        with demo.reports.runner(notebooks=NOTEBOOKS, output=batch[1] / "zh") as runner:
            for name in missing:
                runs[name] = runner.run(
                    name, {"period": "this_year", "lang": "zh"}, formats=("html", "xlsx")
                )
    return runs


@pytest.mark.notebooks
def test_reports_read_as_chinese(demo: Workspace, chinese_reports: dict[str, RunResult]) -> None:
    assert set(chinese_reports) == set(REPORTS)
    typed = typed_words(demo)
    found: list[str] = []
    for name, result in chinese_reports.items():
        assert result.ok, f"{name}: {result.error}"
        found += problems(page_text(Path(result.outputs["notebook"])), typed, f"{name} page")
        book = openpyxl.load_workbook(result.outputs["xlsx"])
        for sheet in book.worksheets:
            found += problems(sheet.title, typed, f"{name} sheet name")
            for row in sheet.iter_rows(values_only=True):
                text = " ".join(v for v in row if isinstance(v, str))
                found += problems(text, typed, f"{name} sheet {sheet.title}")
    assert not found, "\n".join(found)


@pytest.mark.notebooks
def test_workbooks_keep_numbers_with_number_formats(
    chinese_reports: dict[str, RunResult],
) -> None:
    book = openpyxl.load_workbook(chinese_reports["kpi_dashboard"].outputs["xlsx"])
    revenue = book["月度销售额"]
    assert [c.value for c in revenue[1]] == ["月份", "销售额"]
    amounts = [row[1] for row in revenue.iter_rows(min_row=2)]
    assert amounts and all(isinstance(c.value, int | float) for c in amounts)
    assert {c.number_format for c in amounts} == {"#,##0.00"}
    teams = book["各团队赢单率"]
    assert {row[1].number_format for row in teams.iter_rows(min_row=2)} == {"0.0%"}
    assert "华东团队" in {row[0].value for row in teams.iter_rows(min_row=2)}
    frame = pd.read_excel(
        chinese_reports["customer_profile"].outputs["xlsx"],
        sheet_name="区域分布",
        engine="openpyxl",
    )
    assert list(frame.columns) == ["区域", "客户数", "占比"]


def _pgm(path: Path) -> np.ndarray:
    """A binary PGM (P5) file as a 2-D array of grey levels."""
    data = path.read_bytes()
    fields = data.split(maxsplit=4)
    assert fields[0] == b"P5"
    width, height, depth = int(fields[1]), int(fields[2]), int(fields[3])
    assert depth == 255
    pixels = np.frombuffer(fields[4][: width * height], dtype=np.uint8)
    return pixels.reshape(height, width)
