"""Importing: upserts, strictness, dry runs, atomicity, scoping and every kind, on both
databases."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

import crmlib
from crmlib import AccessDenied
from crmlib.store.engine import make_engine
from crmlib.store.models import AuditEvent, Contact, Customer, ImportBatch, StageHistory
from crmlib.transfer import checking
from crmlib.transfer.writers.base import Outcome
from crmlib.transfer.writers.customers import CustomerWriter
from tests.factories import Team, company

HEADER = [
    "外部编号",
    "客户名称",
    "客户类型",
    "行业",
    "省份",
    "联系人",
    "电话",
    "邮箱",
    "客户来源",
    "生日",
]
GOOD = [
    [
        "ERP-1",
        "深圳鹏城电子有限公司",
        "企业",
        "39",
        "广东",
        "陈静",
        "138 1234 5678",
        "cj@pc.cn",
        "展会",
        "",
    ],
    [
        "ERP-2",
        "杭州西湖贸易有限公司",
        "企业",
        "批发业",
        "浙江省",
        "王磊",
        "13912345678",
        "",
        "官网",
        "",
    ],
    ["ERP-3", "王芳", "个人", "", "上海", "", "", "wf@example.com", "转介绍", ""],
]
BAD = [
    ["ERP-4", "坏电话公司", "企业", "C", "北京", "张三", "12345", "", "电话", ""],
    ["", "缺少行业公司", "企业", "", "广东", "李四", "13812340000", "", "展会", ""],
]
#: A broken optional value: it rejects its row, as the API refuses it.
BAD_BIRTHDAY = [
    "ERP-7",
    "赵丽",
    "个人",
    "",
    "上海",
    "",
    "",
    "zl@example.com",
    "转介绍",
    "1990-13-01",
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(total)


def test_every_row_is_imported_or_rejected_with_its_reasons(team: Team, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "customers.csv", [*GOOD, *BAD, BAD_BIRTHDAY])
    result = team.zhang.import_file("customers", path, output_dir=tmp_path / "out")
    assert (result.rows, result.created, result.rejected) == (6, 3, 3)
    assert result.ok + result.rejected == result.rows and result.committed
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "rejects.csv",
        "summary.json",
    ]
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)
    assert list(rejects["row_number"]) == ["5", "6", "7"]
    assert (
        "phone='12345'" in rejects.loc[0, "reasons"]
        and "[phone_format]" in rejects.loc[0, "reasons"]
    )
    assert "industry" in rejects.loc[1, "reasons"] and "[required]" in rejects.loc[1, "reasons"]
    assert rejects.loc[0, "电话"] == "12345"  # the original value, as the user wrote it
    assert rejects.loc[2, "reasons"] == "birthday='1990-13-01': is not a date [date_format]"
    assert rejects.loc[2, "生日"] == "1990-13-01"
    frame = team.zhang.customers.frame().set_index("external_id")
    assert frame.loc["ERP-1", "phone"] == "+8613812345678"
    assert frame.loc["ERP-1", "region"] == "华南"
    assert "ERP-7" not in frame.index  # never stored without its birthday
    assert frame.loc["ERP-2", "owner"] == "zhang"
    assert (result.output_dir / "summary.json").exists()


def test_reimporting_the_same_file_changes_nothing(team: Team, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "customers.csv", GOOD)
    team.zhang.import_file("customers", path)
    before = team.zhang.customers.frame()
    again = team.zhang.import_file("customers", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    pd.testing.assert_frame_equal(team.zhang.customers.frame(), before)


def test_changed_rows_update_in_place_and_are_audited(team: Team, tmp_path: Path) -> None:
    team.zhang.import_file("customers", write_csv(tmp_path / "a.csv", GOOD))
    changed = [row.copy() for row in GOOD]
    changed[0][6] = "13900001111"
    changed[1][4] = "江苏"
    changed[1][7] = ""  # a blank cell does not erase anything
    result = team.zhang.import_file("customers", write_csv(tmp_path / "b.csv", changed))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    frame = team.zhang.customers.frame().set_index("external_id")
    assert frame.loc["ERP-1", "phone"] == "+8613900001111"
    assert (frame.loc["ERP-2", "province"], frame.loc["ERP-2", "region"]) == ("江苏省", "华东")
    history = team.zhang.history(frame.loc["ERP-1", "code"])
    change = history.query("action == 'import' and field == 'phone'").iloc[0]
    assert (change["old_value"], change["new_value"]) == ("+8613812345678", "+8613900001111")


def test_strict_mode_commits_nothing_when_a_row_fails(
    db_url: str, team: Team, tmp_path: Path
) -> None:
    result = team.zhang.import_file(
        "customers", write_csv(tmp_path / "c.csv", GOOD + BAD), strict=True
    )
    assert not result.committed and result.rejected == 2
    assert count(db_url, Customer) == 0
    assert result.rejects_path is not None and result.rejects_path.exists()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        status = conn.execute(select(ImportBatch.status)).scalars().all()
    engine.dispose()
    assert status == ["failed_strict"]
    assert "nothing was saved" in result.describe("en")


def test_dry_run_reports_but_saves_nothing(db_url: str, team: Team, tmp_path: Path) -> None:
    result = team.zhang.import_file(
        "customers", write_csv(tmp_path / "c.csv", GOOD + BAD), dry_run=True
    )
    assert (result.created, result.rejected, result.committed) == (3, 2, False)
    assert count(db_url, Customer) == 0 and count(db_url, Contact) == 0


def test_a_failure_half_way_leaves_the_database_as_it_was(
    db_url: str, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team.zhang.customers.add(**company(external_id="KEEP"))
    rows = [
        [
            f"ERP-{i}",
            f"公司{i}有限公司",
            "企业",
            "C",
            "广东",
            "陈静",
            f"1381234{i:04d}",
            "",
            "官网",
            "",
        ]
        for i in range(30)
    ]
    path = write_csv(tmp_path / "many.csv", rows)
    calls = {"n": 0}
    real = CustomerWriter.write

    def failing(self: CustomerWriter, clean: pd.DataFrame, outcome: Outcome) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        real(self, clean, outcome)

    monkeypatch.setattr(CustomerWriter, "write", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        crmlib.transfer.importing.import_file(team.zhang.ctx, "customers", path, chunk_rows=10)
    assert list(team.admin.customers.frame()["external_id"]) == ["KEEP"]
    engine = make_engine(db_url)
    with engine.connect() as conn:
        batches = conn.execute(select(ImportBatch.status, ImportBatch.error)).all()
    engine.dispose()
    assert [b.status for b in batches] == ["failed"] and "disk full" in batches[0].error


KILLED_IMPORT = """
import sys
import crmlib
from crmlib.transfer.importing import import_file

def report(done, total):
    print(done, flush=True)

with crmlib.open(sys.argv[1], user="zhang") as ws:
    import_file(ws.ctx, "customers", sys.argv[2], chunk_rows=10_000, progress=report)
"""


@pytest.mark.slow
def test_a_killed_import_leaves_no_partial_batch(db_url: str, team: Team, tmp_path: Path) -> None:
    rows = [
        [f"ERP-{i}", f"公司{i}有限公司", "企业", "C", "广东", "陈静", f"138{i:08d}", "", "官网", ""]
        for i in range(150_000)
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    indexes = _index_names(db_url)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, db_url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    written = [child.stdout.readline() for _ in range(3)]  # three chunks written, 13 to go
    child.send_signal(signal.SIGKILL)
    child.wait()
    ahead = checking.FIRST_PART_ROWS  # the first chunk's first part goes ahead
    assert [int(line) for line in written] == [ahead, 10_000, 20_000]
    assert child.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    assert count(db_url, Customer) == 0
    assert count(db_url, Contact) == 0
    assert count(db_url, ImportBatch) == 0
    assert _index_names(db_url) == indexes  # those a large import drops are back
    with crmlib.open(db_url, user="zhang") as ws:  # the database is usable again at once
        assert ws.customers.add(**company()).code


def _index_names(url: str) -> set[tuple[str, str]]:
    engine = make_engine(url)
    names = {
        (table, index["name"])
        for table in ("customers", "contacts")
        for index in inspect(engine).get_indexes(table)
    }
    engine.dispose()
    return names


def test_rows_outside_the_users_scope_are_rejected(team: Team, tmp_path: Path) -> None:
    theirs = team.zhao.customers.add(**company(external_id="ERP-9", name="成都蜀道贸易有限公司"))
    rows = [["ERP-9", "改名公司", "企业", "C", "四川", "刘洋", "13900001111", "", "官网", ""]]
    result = team.zhang.import_file("customers", write_csv(tmp_path / "s.csv", rows))
    assert result.rejected == 1
    assert team.admin.customers.get(theirs.code).name == "成都蜀道贸易有限公司"
    with_owner = write_csv(tmp_path / "o.csv", [GOOD[0] + ["li"]], header=[*HEADER, "负责人"])
    assert team.zhang.import_file("customers", with_owner).rejected == 1


def test_every_reason_of_the_customer_writer_keeps_the_original_cells(
    team: Team, tmp_path: Path
) -> None:
    """Only the rows the writer may still reject carry their original cells past the
    checks (see ``CustomerWriter.may_reject``): each of its reasons must find them."""
    zhang_s = team.zhang.customers.add(**company(external_id="C-1")).code
    team.zhao.customers.add(**company(external_id="W-1", name="西部客户有限公司"))
    header = [*HEADER, "负责人", "客户编号"]
    company_row = ["", "", "企业", "C", "广东", "陈静", "13812345678", "", "展会", ""]

    def row(external: str, name: str, owner: str = "", code: str = "") -> list[str]:
        return [external, name, *company_row[2:], owner, code]

    rows = [
        row("N-1", "无名负责人有限公司", owner="nobody"),
        row("N-2", "西部负责人有限公司", owner="zhao"),
        row("N-3", "坏编号有限公司", code="X123"),
        row("N-4", "占用编号有限公司", code=zhang_s),
        row("W-1", "越权修改有限公司"),
        ["", "无联系方式", "个人", "", "上海", "", "", "", "转介绍", "", "", ""],
        row("N-6", "正常导入有限公司", owner="li"),
    ]
    result = team.wang.import_file("customers", write_csv(tmp_path / "r.csv", rows, header))
    assert (result.rows, result.created, result.rejected) == (7, 1, 6)
    rejects = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str).fillna("")
    assert rejects["row_number"].tolist() == ["2", "3", "4", "5", "6", "7"]
    assert rejects[header].to_numpy().tolist() == rows[:6]
    rules = ["unknown_user", "may_not_assign", "code_format", "code_taken", "outside_scope"]
    for reasons, rule in zip(rejects["reasons"], [*rules, "required_any"], strict=True):
        assert f"[{rule}]" in reasons


def test_roles_that_may_not_edit_cannot_import(team: Team, tmp_path: Path) -> None:
    with pytest.raises(AccessDenied, match="may not import customers"):
        team.ana.import_file("customers", write_csv(tmp_path / "c.csv", GOOD))


def test_child_kinds_name_their_customer(db_url: str, team: Team, tmp_path: Path) -> None:
    mine = team.zhang.customers.add(**company(external_id="C-1")).code
    theirs = team.zhao.customers.add(**company(external_id="C-2")).code
    orders = write_csv(
        tmp_path / "orders.csv",
        [
            ["O-1", mine, "", "2024/5/1", "1.2万", "控制器", "自动化"],
            ["O-2", "", "C-1", "45413", "1,200.50", "传感器", "自动化"],
            ["O-3", theirs, "", "2024-05-01", "100", "x", "y"],
            ["O-4", "C19990101001", "", "2024-05-01", "100", "x", "y"],
            ["O-5", "", "", "2024-05-01", "100", "x", "y"],
        ],
        header=[
            "external_id",
            "customer_code",
            "customer_external_id",
            "下单日期",
            "订单金额",
            "产品",
            "产品类别",
        ],
    )
    result = team.zhang.import_file("orders", orders)
    assert (result.created, result.rejected) == (2, 3)
    reasons = pd.read_csv(result.rejects_path, encoding="utf-8-sig", dtype=str)["reasons"].tolist()
    assert "outside your scope" in reasons[0]
    assert "is not a known customer" in reasons[1]
    assert "customer_code or customer_external_id is required" in reasons[2]
    frame = team.zhang.orders.frame(customer_code=mine).set_index("external_id")
    assert float(frame.loc["O-1", "amount"]) == 12000
    assert str(frame.loc["O-2", "ordered_at"])[:10] == "2024-05-01"
    assert team.zhang.import_file("orders", orders).unchanged == 2


def test_opportunities_contacts_tickets_and_leads(db_url: str, team: Team, tmp_path: Path) -> None:
    code = team.zhang.customers.add(**company()).code
    opps = write_csv(
        tmp_path / "o.csv",
        [["OP-1", code, "产线升级", "方案报价", "120万", "2024-06-30", "扩产", "V1"]],
        header=[
            "external_id",
            "customer_code",
            "商机名称",
            "销售阶段",
            "预计金额",
            "预计成交日期",
            "需求描述",
            "方案版本",
        ],
    )
    assert team.zhang.import_file("opportunities", opps).created == 1
    opp = team.zhang.opportunities.frame(customer_code=code).iloc[0]
    assert (opp["stage"], opp["probability"], opp["owner"]) == ("proposal", 0.5, "zhang")
    assert count(db_url, StageHistory) == 1
    contacts = write_csv(
        tmp_path / "c.csv",
        [[code, "林涛", "采购经理", "0755-86001234"]],
        header=["客户编号", "姓名", "职务", "电话"],
    )
    assert team.zhang.import_file("contacts", contacts).created == 1
    assert team.zhang.import_file("contacts", contacts).unchanged == 1
    tickets = write_csv(
        tmp_path / "t.csv",
        [[code, "售后", "高", "设备无法启动"]],
        header=["客户编号", "工单类型", "优先级", "主题"],
    )
    assert team.sun.import_file("tickets", tickets).created == 1
    leads = write_csv(
        tmp_path / "l.csv",
        [["L-1", "王磊", "苏州启航机械有限公司", "13912345678", "展会", "江苏"]],
        header=["外部编号", "姓名", "公司名称", "电话", "线索来源", "省份"],
    )
    assert team.zhang.import_file("leads", leads).created == 1
    assert team.zhang.import_file("leads", leads).unchanged == 1


def test_batches_are_recorded_and_audited(db_url: str, team: Team, tmp_path: Path) -> None:
    result = team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", GOOD + BAD))
    engine = make_engine(db_url)
    with engine.connect() as conn:
        batch = conn.execute(select(ImportBatch)).mappings().one()
        event = (
            conn.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "import", AuditEvent.batch_id == batch["id"]
                )
            )
            .mappings()
            .one()
        )
    engine.dispose()
    assert (batch["status"], batch["actor"], batch["rows_total"], batch["rows_rejected"]) == (
        "committed",
        "zhang",
        5,
        2,
    )
    assert len(batch["file_hash"]) == 64 and batch["id"] == result.batch_id
    assert '"rows_created": 3' in event["new_value"]


@pytest.mark.slow
def test_import_command(db_url: str, team: Team, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", GOOD + BAD)
    env = {
        **os.environ,
        "CRM_DATABASE_URL": db_url,
        "CRM_USER": "zhang",
        "CRM_LANG": "en",
        "CRM_IMPORT_DIR": str(tmp_path / "imports"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "crmlib", "import", "customers", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "5 rows: 3 created, 0 updated, 0 unchanged, 2 rejected" in run.stdout
    assert "rejected rows: " in run.stdout
    strict = subprocess.run(
        [sys.executable, "-m", "crmlib", "import", "customers", str(path), "--strict"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert strict.returncode == 1 and "nothing was saved" in strict.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "crmlib", "import", "customers", "/nope.csv"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and missing.stderr.startswith(
        "error: file /nope.csv does not exist"
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_reimports_cleanly(db_url: str, team: Team, tmp_path: Path, fmt: str) -> None:
    team.zhang.import_file("customers", write_csv(tmp_path / "c.csv", GOOD))
    code = team.zhang.customers.frame()["code"].iloc[0]
    team.zhang.customers.update(code, tags=["重点跟进", "华南"], grade="A", postcode="518000")
    team.zhang.orders.add(code, ordered_at="2024-05-01", amount="1200.50", product="控制器")
    customers = team.zhang.export("customers", tmp_path / f"customers.{fmt}")
    orders = team.zhang.export("orders", tmp_path / f"orders.{fmt}")
    assert (customers.rows, orders.rows) == (3, 1)
    again = team.zhang.import_file("customers", customers.path)
    assert (again.rows, again.unchanged, again.rejected) == (3, 3, 0)
    assert team.zhang.import_file("orders", orders.path).unchanged == 1

    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with crmlib.open(fresh_url, user="admin") as fresh:
        fresh.users.add("zhang", role="sales", team="east")
        moved = fresh.import_file("customers", customers.path)
        assert (moved.created, moved.rejected) == (3, 0)
        columns = [
            "external_id",
            "name",
            "kind",
            "industry_section",
            "industry_division",
            "province",
            "region",
            "grade",
            "status",
            "source",
            "owner",
            "contact",
            "phone",
            "email",
            "postcode",
        ]
        copied = fresh.customers.frame()[columns].sort_values("external_id", ignore_index=True)
        assert set(fresh.customers.frame()["code"]) == set(team.zhang.customers.frame()["code"])
        kept = set(fresh.customers.frame()["code"])
        assert fresh.customers.add(**company()).code not in kept  # the sequence moved past them
    original = team.zhang.customers.frame()[columns].sort_values("external_id", ignore_index=True)
    pd.testing.assert_frame_equal(copied, original)
