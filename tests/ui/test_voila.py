"""The notebooks as applications in a real browser: Voila serves them on 127.0.0.1 and
Debian's headless Chromium (driven by Playwright) fills in forms and clicks buttons.

Every request to a host other than this machine is refused and recorded: the pages must
work with no internet access. Screenshots of each notebook are taken; with
``CRM_SCREENSHOT_DIR=docs`` they are the README's pictures (``make screenshots``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright
from sqlalchemy import create_engine, func, select

import crmlib
from crmlib.serving import Guard, guard, voila_command, voila_environment
from crmlib.store.models import Merge
from crmlib.ui.fields import industry_choices, province_choices
from tests.factories import demo_database, first_user
from tests.servers import REBINDING, check_guard, free_port, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = {"127.0.0.1", "localhost"}
#: A kernel start and the notebook's run, on a busy two-core machine.
LOAD_MS = 120_000
NOTEBOOKS = {
    "customer_entry": ("entry/customer_entry.ipynb", ".crm-customer-entry"),
    "follow_ups": ("entry/follow_ups.ipynb", ".crm-follow-ups"),
    "tickets": ("entry/tickets.ipynb", ".crm-ticket-desk"),
    "import": ("review/import.ipynb", ".crm-import-review"),
    "data_quality": ("review/data_quality.ipynb", ".crm-quality-review"),
    "duplicates": ("review/duplicates.ipynb", ".crm-duplicate-review"),
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_database(tmp_path_factory.mktemp("voila") / "crm.db", customers=300, seed=11)


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The token of every server of the module, in a file only this user can read."""
    path = tmp_path_factory.mktemp("token") / "token"
    path.touch(mode=0o600)
    path.write_text(secrets.token_urlsafe(24), encoding="ascii")
    return path


@pytest.fixture(scope="module")
def guarded(token_file: Path) -> Iterator[Guard]:
    with guard(token_file=token_file) as made:
        yield made


@pytest.fixture(scope="module")
def voila(demo_url: str, guarded: Guard, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Voila server for the module, on a free port of 127.0.0.1, as the demo's
    administrator speaking Chinese."""
    port = free_port()
    folder = tmp_path_factory.mktemp("voila_run")
    env = guarded.environment(voila_environment())
    for name in ("CRM_USER", "JUPYTERHUB_USER"):
        env.pop(name, None)
    env.update(
        CRM_DATABASE_URL=demo_url,
        CRM_USER="admin",
        CRM_LANG="zh",
        CRM_IMPORT_DIR=str(folder / "imports"),
    )
    with running(
        voila_command(ROOT / "notebooks", port, guarded),
        port=port,
        env=env,
        cwd=folder,
        log=folder / "voila.log",
        timeout=60,
        token=guarded.token,
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, REBINDING]
        )
        yield launched
        launched.close()


@pytest.fixture
def outside() -> list[str]:
    """Requests the page tried to make to other hosts (all refused)."""
    return []


@pytest.fixture
def page(browser: Browser, outside: list[str], guarded: Guard) -> Iterator[Page]:
    """Every request carries the servers' token (tests/test_server_guard.py opens the
    servers as a person does, with ``?token=`` once)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        extra_http_headers={"Authorization": f"token {guarded.token}"},
    )

    def only_local(route: Route) -> None:
        if urlparse(route.request.url).hostname in LOCAL:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    opened = context.new_page()
    yield opened
    context.close()


def open_notebook(page: Page, voila: str, name: str) -> None:
    path, selector = NOTEBOOKS[name]
    page.goto(f"{voila}/voila/render/{path}", timeout=LOAD_MS)
    page.wait_for_selector(selector, timeout=LOAD_MS)


def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("CRM_SCREENSHOT_DIR")
    folder = (ROOT / chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_customer_entry_form_is_filled_in_and_saved(
    page: Page, voila: str, demo_url: str, outside: list[str]
) -> None:
    open_notebook(page, voila, "customer_entry")
    page.fill(".crm-field-name input", "杭州浏览器测试软件有限公司")
    # A dropdown's options carry their labels as values in the page.
    industry = {code: label for label, code in industry_choices("zh")}["65"]
    province = {code: label for label, code in province_choices("zh")}["浙江省"]
    page.select_option(".crm-field-industry select", value=industry)
    page.select_option(".crm-field-province select", value=province)
    page.select_option(".crm-field-source select", value="展会")
    page.fill(".crm-field-contact input", "周敏")
    page.fill(".crm-field-phone input", "12345")
    page.wait_for_selector(".crm-message-phone:has-text('不是有效的电话号码')")
    page.fill(".crm-field-phone input", "13987654321")
    page.wait_for_selector(".crm-message-phone:has-text('不是有效的电话号码')", state="detached")
    page.click("button.crm-save")
    page.wait_for_selector(".crm-status:has-text('已保存')", timeout=30_000)

    ws = crmlib.open(demo_url, user="admin", lang="en")
    try:
        customers = ws.customers.frame()
        (code,) = customers.loc[customers["name"] == "杭州浏览器测试软件有限公司", "code"]
        record = ws.customers.get(code)
        assert (record.phone, record.industry_division, record.province, record.source) == (
            "+8613987654321",
            "65",
            "浙江省",
            "exhibition",
        )
        assert set(ws.history(record.code)["actor"]) == {"admin"}
    finally:
        ws.close()
    assert outside == []


def test_the_duplicates_notebook_merges_a_pair(
    page: Page, voila: str, demo_url: str, outside: list[str]
) -> None:
    open_notebook(page, voila, "duplicates")
    page.wait_for_selector(".crm-comparison tr.crm-differs")
    pair = page.eval_on_selector(".crm-grid-picker select", "s => s.value")
    page.click("button.crm-merge")
    page.wait_for_selector(".crm-status:has-text('已合并')", timeout=30_000)

    engine = create_engine(demo_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Merge)).scalar_one() == 1
    finally:
        engine.dispose()
    assert pair and outside == []


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_a_screenshot_of_each_notebook(
    name: str, page: Page, voila: str, tmp_path: Path, outside: list[str]
) -> None:
    open_notebook(page, voila, name)
    page.wait_for_timeout(500)  # let the last widgets lay out
    target = screenshot_dir(tmp_path) / f"notebook-{name.replace('_', '-')}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 20_000
    assert outside == []


def test_the_notebooks_are_the_users_alone(browser: Browser, voila: str, guarded: Guard) -> None:
    """No token, another host name (DNS rebinding) or another site's websocket: refused;
    with the token the form works, and closing it shuts its kernel down."""
    path, ready = NOTEBOOKS["customer_entry"]
    check_guard(browser, voila, guarded.token, f"/voila/render/{path}", ready)


# -- `crm notebooks serve` in a fresh clone, from its root and from another folder ---------

#: What Voila shows for a cell that failed, and Python's own error text.
ERROR_TEXTS = ("There was an error when executing cell", "Traceback (most recent call last)")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (package, notebooks, pyproject.toml) with a small demo in its
    ``data/crm.db``: its own workspace home, as a fresh clone is after ``make demo``."""
    folder = tmp_path_factory.mktemp("clone")
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "crmlib", folder / "crmlib", ignore=skip)
    shutil.copytree(ROOT / "notebooks", folder / "notebooks", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "data").mkdir()
    demo_database(folder / "data" / "crm.db", customers=150, seed=3)
    return folder


@pytest.fixture(scope="module")
def clone_rep(clone: Path) -> str:
    return first_user(f"sqlite:///{clone / 'data' / 'crm.db'}", "sales")


@pytest.fixture(scope="module", params=["root", "elsewhere"])
def served(
    request: pytest.FixtureRequest,
    clone: Path,
    clone_rep: str,
    token_file: Path,
    guarded: Guard,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """``crm --user <rep> notebooks serve`` as the README has it, with no database, home
    or notebooks folder given, started in the clone's root or in an unrelated folder."""
    port = free_port()
    logs = tmp_path_factory.mktemp(f"serve_{request.param}")
    cwd = clone if request.param == "root" else logs
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.pop("JUPYTERHUB_USER", None)
    env.update(PYTHONPATH=str(clone), CRM_LANG="zh", CRM_IMPORT_DIR=str(logs / "imports"))
    command = [
        sys.executable,
        "-m",
        "crmlib",
        "--user",
        clone_rep,
        "notebooks",
        "serve",
        "--port",
        str(port),
        "--token-file",
        str(token_file),
    ]
    with running(
        command,
        port=port,
        env=env,
        cwd=cwd,
        log=logs / "voila.log",
        timeout=90,
        token=guarded.token,
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_served_notebooks_open_the_workspace_database_from_any_folder(
    name: str, served: str, clone: Path, clone_rep: str, page: Page, outside: list[str]
) -> None:
    path, selector = NOTEBOOKS[name]
    page.goto(f"{served}/voila/render/{path}", timeout=LOAD_MS)
    shown = page.locator(selector).or_(page.get_by_text(ERROR_TEXTS[0])).first
    shown.wait_for(timeout=LOAD_MS)
    text = page.inner_text("body")
    assert not [e for e in ERROR_TEXTS if e in text], text[-2000:]
    assert f"当前用户：{clone_rep}" in text  # the demo's rep, so the demo's database
    made = [p for p in (clone / "notebooks").rglob("*") if not p.name.endswith(".ipynb")]
    assert [p for p in made if p.is_file()] == []  # no database beside the notebooks
    assert outside == []
