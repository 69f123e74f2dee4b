"""Every entry and review notebook runs headless (papermill) against a demo database, as
the user ``CRM_USER`` names, in the language ``lang`` asks for."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest
from sqlalchemy import create_engine, select

from crmlib.demo import generate
from crmlib.store.models import User

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("entry/*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("review/*.ipynb")
)
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small demo database (300 customers) shared by the module's runs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'crm.db'}"
    engine = create_engine(url)
    try:
        generate(engine, customers=300, seed=7)
    finally:
        engine.dispose()
    return url


def run(notebook: Path, output: Path, lang: str) -> dict[str, object]:
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters={"lang": lang},
        kernel_name="python3",
        cwd=str(output.parent),
        progress_bar=False,
        execution_timeout=300,
    )
    return dict(json.loads(output.read_text(encoding="utf-8")))


def test_the_six_notebooks_are_there() -> None:
    names = [f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS]
    assert names == [
        "entry/customer_entry",
        "entry/follow_ups",
        "entry/tickets",
        "review/data_quality",
        "review/duplicates",
        "review/import",
    ]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_and_shows_its_application(
    notebook: Path, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", demo_url)
    monkeypatch.setenv("CRM_USER", "admin")
    result = run(notebook, tmp_path / notebook.name, "en")

    cells = result["cells"]
    assert isinstance(cells, list)
    first = cells[0]
    assert first["cell_type"] == "markdown" and len("".join(first["source"]).splitlines()) == 1
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(len("".join(c["source"]).splitlines()) <= 3 for c in code)  # thin cells
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert [o for o in outputs if WIDGET in o.get("data", {})], "the application is shown"
    text = json.dumps(result, ensure_ascii=False)
    assert "Signed in as admin (Administrator)" in text


@pytest.mark.notebooks
def test_a_notebook_acts_as_the_jupyterhub_user_in_their_language(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under JupyterHub the notebook acts as the signed-in user: an analyst sees a
    read-only form, in Chinese."""
    engine = create_engine(demo_url)
    with engine.connect() as conn:
        analyst = conn.execute(select(User.username).where(User.role == "analyst")).scalar()
    engine.dispose()
    monkeypatch.setenv("CRM_DATABASE_URL", demo_url)
    monkeypatch.setenv("JUPYTERHUB_USER", str(analyst))
    result = run(ROOT / "notebooks/entry/customer_entry.ipynb", tmp_path / "entry.ipynb", "zh")
    text = json.dumps(result, ensure_ascii=False)
    assert f"当前用户：{analyst}（分析师" in text
    assert "您的角色只能查看，不能修改" in text
