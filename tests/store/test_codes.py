"""Customer codes: ``C`` + business date + daily sequence, unique under concurrency."""

from __future__ import annotations

import multiprocessing
import queue
import re
import traceback
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import crmlib
from crmlib import clock
from crmlib.store import make_engine, upgrade
from crmlib.store.codes import (
    CodeRange,
    format_code,
    next_customer_codes,
    reserve,
    reserve_customer_codes,
)
from crmlib.store.models import CodeSequence, Customer
from crmlib.transfer.bulk import insert_columns

CODE = re.compile(r"^C(?P<day>\d{8})(?P<number>\d{3,})$")
DAY = date(2024, 5, 1)
WORKERS = 4
PER_WORKER = 50


def company(i: int) -> dict[str, Any]:
    return {
        "name": f"公司{i}",
        "industry": "C",
        "contact": "张三",
        "phone": "13812345678",
        "source": "website",
    }


def number_of(code: str) -> int:
    match = CODE.match(code)
    assert match, f"{code!r} is not a customer code"
    return int(match["number"])


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def bootstrap(url: str) -> None:
    """A new database with its first admin and one sales rep, ``zhang``."""
    with crmlib.open(url, user="admin") as ws:
        ws.users.add("zhang", role="sales", team="east")


# ---------------------------------------------------------------- the format


def test_format_code() -> None:
    assert format_code("C", DAY, 1) == "C20240501001"
    assert format_code("C", DAY, 999) == "C20240501999"
    assert format_code("C", DAY, 1000) == "C202405011000"
    assert format_code("C", date(2025, 12, 31), 42) == "C20251231042"


def test_codes_of_new_customers(db_url: str) -> None:
    bootstrap(db_url)
    today = clock.today()
    with crmlib.open(db_url, user="zhang") as ws:
        first = ws.customers.add(**company(1))
        second = ws.customers.add(**company(2))
        assert ws.customers.get(first.code).name == "公司1"
    for record, number in ((first, 1), (second, 2)):
        match = CODE.match(record.code)
        assert match, record.code
        assert match["day"] == f"{today:%Y%m%d}"
        assert len(record.code) == 12
        assert record.code == format_code("C", today, number)


def test_each_day_has_its_own_sequence(engine: Engine) -> None:
    other = date(2024, 5, 2)
    with engine.begin() as conn:
        assert next_customer_codes(conn, day=DAY) == ["C20240501001"]
        assert next_customer_codes(conn, day=other) == ["C20240502001"]
        assert next_customer_codes(conn, 2, day=DAY) == ["C20240501002", "C20240501003"]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(CodeSequence.prefix, CodeSequence.last_value)).all())
    assert rows == {"C20240501": 3, "C20240502": 1}


def test_a_code_range_reads_like_the_list_of_its_codes() -> None:
    codes = CodeRange("C20240501", 998, 4)
    expected = [format_code("C", DAY, n) for n in range(998, 1002)]
    assert list(codes) == expected
    assert len(codes) == 4
    assert [codes[i] for i in range(4)] == expected
    assert codes[-1] == "C202405011001"
    assert codes[1:3] == expected[1:3]
    assert codes.index("C20240501999") == 1
    with pytest.raises(IndexError):
        codes[4]
    with pytest.raises(IndexError):
        codes[-5]


def test_codes_written_by_the_database_equal_python_s(engine: Engine) -> None:
    """An import lets SQLite write reserved codes from the row ids: past 999 they widen as
    Python's do, and PostgreSQL (which is sent the strings) stores the same."""
    table = Customer.__table__
    with engine.begin() as conn:
        reserve(conn, "C20240501", 996)
        codes = reserve_customer_codes(conn, 6, day=DAY)
        assert (codes.first, codes.size) == (997, 6)
        size = len(codes)
        ids = insert_columns(
            conn,
            table,  # type: ignore[arg-type]
            {
                "code": codes,
                "name": [f"公司{n}" for n in range(size)],
                "kind": ["company"] * size,
                "status": ["potential"] * size,
                "created_at": [clock.now()] * size,
                "updated_at": [clock.now()] * size,
            },
        )
        stored = conn.execute(select(Customer.id, Customer.code).order_by(Customer.id)).all()
    assert [code for _, code in stored] == list(codes)
    assert [code for _, code in stored][-1] == "C202405011002"
    assert [i for i, _ in stored] == ids


# ---------------------------------------------------------------- past 999 a day


def test_sequence_widens_past_999(engine: Engine) -> None:
    with engine.begin() as conn:
        codes = [next_customer_codes(conn, day=DAY)[0] for _ in range(1000)]
    assert len(set(codes)) == 1000
    assert codes[0] == "C20240501001"
    assert codes[998] == "C20240501999"
    assert codes[999] == "C202405011000"
    assert [number_of(c) for c in codes] == list(range(1, 1001))
    with engine.begin() as conn:
        more = next_customer_codes(conn, 3, day=DAY)
    assert more == ["C202405011001", "C202405011002", "C202405011003"]
    assert not set(more) & set(codes)


def test_thousandth_customer_of_the_day(db_url: str) -> None:
    bootstrap(db_url)
    today = clock.today()
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            reserve(conn, f"C{today:%Y%m%d}", 999)
    finally:
        engine.dispose()
    with crmlib.open(db_url, user="zhang") as ws:
        record = ws.customers.add(**company(1000))
        assert record.code == f"C{today:%Y%m%d}1000"
        assert ws.customers.get(record.code).code == record.code


# ---------------------------------------------------------------- concurrency


def add_customers(url: str, worker: int, start: Any, results: Any) -> None:
    """One OS process: open the workspace, wait for the others, add customers at once."""
    try:
        with crmlib.open(url, user="zhang") as ws:
            start.wait(timeout=120)
            codes = [ws.customers.add(**company(worker * 1000 + i)).code for i in range(PER_WORKER)]
        results.put((worker, codes, None))
    except BaseException:
        results.put((worker, [], traceback.format_exc()))


@pytest.mark.slow
def test_concurrent_processes_get_distinct_consecutive_codes(db_url: str) -> None:
    bootstrap(db_url)
    today = clock.today()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [
        context.Process(target=add_customers, args=(db_url, n, start, results), daemon=True)
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = []
        for _ in processes:
            try:
                outcomes.append(results.get(timeout=300))
            except queue.Empty:
                pytest.fail("a worker process neither finished nor failed within 300 s")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [f"worker {n}:\n{error}" for n, _codes, error in outcomes if error]
    assert not errors, "\n".join(errors)
    assert all(len(codes) == PER_WORKER for _n, codes, _e in outcomes)

    codes = [code for _n, worker_codes, _e in outcomes for code in worker_codes]
    total = WORKERS * PER_WORKER
    assert len(set(codes)) == total
    assert sorted(codes, key=number_of) == [format_code("C", today, n) for n in range(1, total + 1)]
    # Each worker's own codes rise in the order it created them.
    for _n, worker_codes, _e in outcomes:
        numbers = [number_of(c) for c in worker_codes]
        assert numbers == sorted(numbers)

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(Customer.code)).scalars().all()
            last = conn.execute(
                select(CodeSequence.last_value).where(CodeSequence.prefix == f"C{today:%Y%m%d}")
            ).scalar_one()
        assert sorted(stored) == sorted(codes)
        assert last == total
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == total
    finally:
        engine.dispose()
