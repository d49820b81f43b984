from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine.paths
from sessions.store import db_path
from engine.redact import REDACTED
from sessions.store.store import Store
from sessions.store.db import SessionExists, StoreError
from sessions.store.rows import Acceptance, session_label
from sessions.store.schema import LATEST, migrate
from tests.helpers.paths import ROOT

SECRET = "sk-ant-api03-abcdefghijklmnop0123456789"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cockpit.db"


@pytest.fixture
async def store(db: Path):
    s = await Store.open(db)
    yield s
    await s.close()


def raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def file_state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# -- opening and migrations -----------------------------------------------------------------------


async def test_open_empty_file_creates_latest_schema(db: Path) -> None:
    db.touch()
    async with await Store.open(db) as store:
        assert store.path == db
    conn = raw(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"repos", "sessions", "runs", "tasks", "attempts", "log_lines", "interventions", "summaries",
            "assessments", "survival"} <= tables
    columns = {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}
    assert {"timeout", "retries", "decision", "files_json", "cache_read"} <= columns


async def test_open_creates_missing_private_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "cockpit.db"
    async with await Store.open(path):
        pass
    assert path.exists()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_migration_from_v1_keeps_data(db: Path) -> None:
    conn = raw(db)
    assert migrate(conn, target=1) == 1
    conn.execute("INSERT INTO repos (id, path) VALUES (1, '/repo')")
    conn.execute(
        "INSERT INTO sessions (id, repo_id, date, day_number, objective, status, start_commit, started_at)"
        " VALUES (1, 1, '2026-03-04', 1, 'old objective', 'complete', 'abc1234', 1000.0)"
    )
    conn.execute("INSERT INTO runs (id, session_id) VALUES ('run-1', 1)")
    conn.execute(
        "INSERT INTO tasks (id, session_id, run_id, task_key, title, state, tokens_in)"
        " VALUES (1, 1, 'run-1', 'build', 'Build it', 'succeeded', 42)"
    )
    conn.execute("INSERT INTO log_lines (task_id, attempt, stream, at, text) VALUES (1, 1, 'stdout', 1.0, 'hello')")
    conn.execute("INSERT INTO summaries (session_id, data, is_draft, updated_at) VALUES (1, '{\"rating\": 4}', 0, 2.0)")
    conn.execute("INSERT INTO assessments (session_id, outcome, note, at) VALUES (1, 'partially', '', 3.0)")
    conn.close()

    async with await Store.open(db) as store:
        session = await store.get_session("20260304.1", "/repo")
        assert session is not None
        assert (session.objective, session.status, session.rating, session.outcome) == (
            "old objective", "complete", 4, "partially")
        (task,) = await store.tasks(session.id)
        assert (task.key, task.state, task.tokens_in, task.timeout, task.retries) == ("build", "succeeded", 42, None, 0)
        assert [line.text for line in await store.log_lines(task.id)] == ["hello"]
    assert raw(db).execute("PRAGMA user_version").fetchone()[0] == LATEST


def run_at_version(db: Path, version: int) -> sqlite3.Connection:
    """The database at schema ``version`` with one session (id 1) and its run ``run-1``."""
    conn = raw(db)
    assert migrate(conn, target=version) == version
    conn.execute("INSERT INTO repos (id, path) VALUES (1, '/repo')")
    conn.execute("INSERT INTO sessions (id, repo_id, date, day_number, started_at) VALUES (1, 1, '2026-03-04', 1, 1.0)")
    conn.execute("INSERT INTO runs (id, session_id) VALUES ('run-1', 1)")
    return conn


async def test_migration_to_v7_keeps_decisions_and_records_how_work_came_in(db: Path) -> None:
    conn = run_at_version(db, 6)
    for i, (key, decision) in enumerate((("a", "accepted"), ("b", None), ("c", None)), start=1):
        conn.execute("INSERT INTO tasks (id, session_id, run_id, task_key, state, decision) VALUES (?, 1, 'run-1', ?,"
                     " 'succeeded', ?)", (i, key, decision))
    conn.close()

    async with await Store.open(db) as store:
        a, b, c = await store.tasks(1)
        assert (a.decision, a.accepted_as, a.accepted_via, a.picked) == ("accepted", None, None, ())  # before v7
        await store.set_accepted(1, [
            ("b", Acceptance("picked", "main", "c2", picked=(("o1", "c1"), ("o2", None), ("o3", "c2")))),
            ("c", Acceptance("picked", "main", "c0", via="b", picked=(("o0", "c0"),))),
        ])
        _, b, c = await store.tasks(1)
        assert (b.decision, b.accepted_as, b.accepted_via, b.accepted_into, b.accept_commit) == (
            "accepted", "picked", None, "main", "c2")
        assert b.picked == (("o1", "c1"), ("o2", None), ("o3", "c2"))
        assert (c.accepted_via, c.picked) == ("b", (("o0", "c0"),))
        with pytest.raises(ValueError, match="unknown kind of acceptance 'squash'"):
            await store.set_accepted(1, [("a", Acceptance("squash", "main", None))])
        await store.set_decision(1, "c", "discarded", "after all")  # a new decision clears how it came in
        c = (await store.tasks(1))[2]
        assert (c.decision, c.accepted_as, c.accepted_via, c.picked) == ("discarded", None, None, ())
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses another kind
        with raw(db) as conn:
            conn.execute("UPDATE tasks SET accepted_as = 'squash' WHERE id = 1")


async def test_migration_to_v8_adds_the_agent_session_of_tasks_and_attempts(db: Path) -> None:
    conn = run_at_version(db, 7)
    conn.execute("INSERT INTO tasks (id, session_id, run_id, task_key, state, attempts) VALUES (1, 1, 'run-1', 't',"
                 " 'succeeded', 1)")
    conn.execute("INSERT INTO attempts (task_id, number, state) VALUES (1, 1, 'succeeded')")
    conn.close()
    async with await Store.open(db) as store:
        (task,) = await store.tasks(1)
        assert (task.key, task.agent_session, task.resume_command) == ("t", None, None)
        (attempt,) = await store.attempts(task.id)
        assert (attempt.number, attempt.state, attempt.agent_session) == (1, "succeeded", None)
    assert raw(db).execute("PRAGMA user_version").fetchone()[0] == LATEST == 8


async def test_newer_schema_is_refused_and_not_touched(db: Path) -> None:
    conn = raw(db)
    migrate(conn)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("INSERT INTO repos (path) VALUES ('/repo')")
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    before = file_state(db)
    with pytest.raises(StoreError) as err:
        await Store.open(db)
    assert str(err.value) == (
        f"{db} was written by a newer Session Cockpit (schema {LATEST + 1}, this one knows {LATEST}); upgrade it"
    )
    assert file_state(db) == before
    assert raw(db).execute("PRAGMA user_version").fetchone()[0] == LATEST + 1


async def test_newer_schema_still_in_the_write_ahead_log_is_refused(db: Path) -> None:
    other = raw(db)  # a newer cockpit, still running: its last commit is not checkpointed yet
    migrate(other)
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("PRAGMA wal_autocheckpoint = 0")
    other.execute(f"PRAGMA user_version = {LATEST + 2}")
    try:
        with pytest.raises(StoreError, match=rf"newer Session Cockpit \(schema {LATEST + 2}, this one knows"):
            await Store.open(db)
        assert other.execute("PRAGMA user_version").fetchone()[0] == LATEST + 2
    finally:
        other.close()


@pytest.mark.parametrize("content", [b"short", b"x" * 4096])
async def test_not_sqlite_at_all_is_refused(db: Path, content: bytes) -> None:
    db.write_bytes(content)
    with pytest.raises(StoreError, match="is not a Session Cockpit database"):
        await Store.open(db)
    assert db.read_bytes() == content


async def test_not_a_database_is_refused(db: Path) -> None:
    db.write_text("these are my notes, not a database\n" * 200)
    before = file_state(db)
    with pytest.raises(StoreError) as err:
        await Store.open(db)
    assert str(err.value) == f"{db} is not a Session Cockpit database (it is not an SQLite file)"
    assert file_state(db) == before


async def test_other_programs_database_is_refused(db: Path) -> None:
    conn = raw(db)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    with pytest.raises(StoreError, match="database of another program"):
        await Store.open(db)
    assert raw(db).execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


async def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        await Store.open(tmp_path)


async def test_unwritable_location_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        await Store.open(blocker / "cockpit.db")
    assert "is not a directory" in str(err.value)
    assert "\n" not in str(err.value)


async def test_lock_held_past_timeout_is_a_clear_error(db: Path) -> None:
    holder = sqlite3.connect(db, isolation_level=None)  # rollback-journal database, exclusively locked
    holder.execute("CREATE TABLE IF NOT EXISTS placeholder (x)")
    holder.execute("DROP TABLE placeholder")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as err:
            await Store.open(db, busy_timeout_ms=100)
        assert str(err.value) == f"{db} is locked by another program (waited 100 ms); try again when it is done"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_write_lock_past_timeout_and_readers_do_not_wait(db: Path) -> None:
    async with await Store.open(db, busy_timeout_ms=100) as store:
        first = await store.create_session("/repo", "first", "abc")
        holder = raw(db)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE sessions SET objective = 'uncommitted' WHERE id = ?", (first.id,))
        try:
            with pytest.raises(StoreError, match="is locked by another program"):
                await store.create_session("/repo", "second", "abc")
            # a write transaction is open: readers still read (the last committed state)
            assert [s.objective for s in await store.list_sessions()] == ["first"]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (await store.create_session("/repo", "second", "abc")).day_number == 2


# -- sessions -------------------------------------------------------------------------------------


async def test_create_list_and_get_sessions(store: Store, tmp_path: Path) -> None:
    repo_a, repo_b = tmp_path / "a", tmp_path / "b"
    day1, day2 = dt.date(2026, 3, 4), dt.date(2026, 3, 5)
    a1 = await store.create_session(repo_a, "first of the day", "c1", date=day1)
    a2 = await store.create_session(repo_a, "second of the day", "c2", date=day1)
    b1 = await store.create_session(repo_b, "other repo", "c3", date=day1)
    a3 = await store.create_session(repo_a, "next day", "c4", date="2026-03-05")
    assert [(s.date, s.day_number, s.label) for s in (a1, a2, b1, a3)] == [
        ("2026-03-04", 1, "20260304.1"), ("2026-03-04", 2, "20260304.2"),
        ("2026-03-04", 1, "20260304.1"), ("2026-03-05", 1, "20260305.1"),
    ]
    assert a1.repo == str(repo_a.resolve()) and a1.status == "active" and a1.start_commit == "c1"
    assert a1.rating is None and a1.outcome is None and a1.ended_at is None

    assert [s.id for s in await store.list_sessions(repo_a)] == [a3.id, a2.id, a1.id]
    assert [s.label for s in await store.list_sessions()] == ["20260305.1", "20260304.2", "20260304.1", "20260304.1"]
    assert await store.list_sessions(tmp_path / "unknown") == []

    assert await store.get_session(a2.id) == a2
    assert await store.get_session(str(a2.id)) == a2
    assert await store.get_session("20260304.2") == a2
    assert await store.get_session("2026-03-04.2") == a2
    assert await store.get_session("20260304.1", repo_b) == b1
    assert await store.get_session("20260304.9") is None
    assert await store.get_session(9999) is None
    with pytest.raises(StoreError, match="2 repositories"):
        await store.get_session("20260304.1")
    with pytest.raises(StoreError, match="not a session id or label"):
        await store.get_session("yesterday")
    assert session_label(day2.isoformat(), 3) == "20260305.3"


async def test_today_is_the_default_date(store: Store) -> None:
    session = await store.create_session("/repo", "today", None)
    assert session.date == dt.date.today().isoformat()


async def test_end_session(store: Store) -> None:
    session = await store.create_session("/repo", "obj", "abc")
    await store.end_session(session.id, "complete", "def")
    ended = await store.get_session(session.id)
    assert ended is not None
    assert (ended.status, ended.end_commit) == ("complete", "def")
    assert ended.ended_at is not None and ended.ended_at >= ended.started_at
    with pytest.raises(ValueError, match="unknown session status"):
        await store.end_session(session.id, "done", "def")
    with pytest.raises(StoreError, match="no session 9999"):
        await store.end_session(9999, "blocked", None)


async def test_two_stores_on_one_file_get_distinct_day_numbers(db: Path) -> None:
    first, second = await Store.open(db), await Store.open(db)
    try:
        sessions = await asyncio.gather(*(
            store.create_session("/repo", f"objective {i}", None, date="2026-03-04")
            for i in range(10) for store in (first, second)
        ))
    finally:
        await first.close()
        await second.close()
    assert sorted(s.day_number for s in sessions) == list(range(1, 21))


_CHILD = textwrap.dedent("""
    import asyncio, sys
    from sessions.store.store import Store

    async def main():
        async with await Store.open(sys.argv[1]) as store:
            for i in range(5):
                session = await store.create_session("/repo", f"from {sys.argv[2]}", None, date="2026-03-04")
                print(session.day_number, flush=True)

    asyncio.run(main())
""")


async def test_processes_on_one_file_get_distinct_day_numbers(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(db), str(i)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    numbers: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        assert err == ""
        numbers += [int(n) for n in out.split()]
    assert sorted(numbers) == list(range(1, 21))


# -- tasks, logs, interventions, decisions --------------------------------------------------------


def add_tasks(db: Path, session_id: int, run_id: str, states: dict[str, str]) -> dict[str, int]:
    conn = raw(db)
    ids = {}
    for key, state in states.items():
        ids[key] = conn.execute(
            "INSERT INTO tasks (session_id, run_id, task_key, title, state) VALUES (?, ?, ?, ?, ?)",
            (session_id, run_id, key, key.title(), state),
        ).lastrowid
    conn.close()
    return ids


async def test_runs_and_tasks(store: Store, db: Path) -> None:
    session = await store.create_session("/repo", "obj", "abc")
    await store.record_run("run-1", session.id, "plan.toml", "abc")
    await store.record_run("run-1", session.id, None, None)  # filling in later keeps what is known
    (run,) = await store.runs(session.id)
    assert (run.id, run.plan_path, run.base_commit, run.finished_at) == ("run-1", "plan.toml", "abc", None)
    add_tasks(db, session.id, "run-1", {"a": "pending", "b": "running"})
    assert [(t.key, t.state, t.depends_on, t.files) for t in await store.tasks(session.id)] == [
        ("a", "pending", (), ()), ("b", "running", (), ())]


async def test_log_paging_and_search(store: Store, db: Path) -> None:
    session = await store.create_session("/repo", "obj", "abc")
    await store.record_run("r", session.id, None, None)
    ids = add_tasks(db, session.id, "r", {"a": "running", "b": "running"})
    conn = raw(db)
    conn.executemany(
        "INSERT INTO log_lines (task_id, attempt, stream, at, text) VALUES (?, 1, 'stdout', 0, ?)",
        [(ids["a"], f"line {i} {'ERROR 100%_done' if i % 10 == 0 else 'ok'}") for i in range(25)]
        + [(ids["b"], "ERROR in b")],
    )
    conn.close()
    page1 = await store.log_lines(ids["a"], limit=10)
    page2 = await store.log_lines(ids["a"], after_id=page1[-1].id, limit=10)
    page3 = await store.log_lines(ids["a"], after_id=page2[-1].id, limit=10)
    assert [len(p) for p in (page1, page2, page3)] == [10, 10, 5]
    assert [line.text.split()[1] for line in page1 + page2 + page3] == [str(i) for i in range(25)]
    found = await store.search_log(ids["a"], "error 100%_", limit=10)
    assert [line.text for line in found] == [f"line {i} ERROR 100%_done" for i in (0, 10, 20)]
    assert await store.search_log(ids["a"], "0%x", 10) == []  # % and _ are literal, not wildcards
    assert len(await store.search_log(ids["a"], "ERROR", limit=2)) == 2


async def test_interventions_and_decisions(store: Store, db: Path) -> None:
    session = await store.create_session("/repo", "obj", "abc")
    await store.record_run("r", session.id, None, None)
    add_tasks(db, session.id, "r", {"a": "succeeded", "b": "failed"})
    await store.add_intervention(session.id, "a", "pause", "paused a", at=10.0)
    await store.add_intervention(session.id, None, "note", f"my key is {SECRET}", at=5.0)
    await store.add_intervention(session.id, "b", "send", "try again")
    with pytest.raises(StoreError, match="has no task 'zzz'"):
        await store.add_intervention(session.id, "zzz", "note", "x")
    got = await store.interventions(session.id)
    assert [(i.task_key, i.type, i.text) for i in got] == [
        (None, "note", f"my key is {REDACTED}"), ("a", "pause", "paused a"), ("b", "send", "try again")]

    await store.set_decision(session.id, "a", "accepted", "looks good")
    await store.set_decision(session.id, "b", "discarded", "wrong approach")
    tasks = {t.key: t for t in await store.tasks(session.id)}
    assert (tasks["a"].decision, tasks["a"].decision_reason) == ("accepted", "looks good")
    assert tasks["b"].decision == "discarded" and tasks["b"].decided_at is not None
    with pytest.raises(ValueError):
        await store.set_decision(session.id, "a", "merged", "")


async def test_summary_rating_and_outcome(store: Store) -> None:
    session = await store.create_session("/repo", f"objective with {SECRET}", "abc")
    assert session.objective == f"objective with {REDACTED}"
    assert await store.get_summary(session.id) is None
    await store.save_summary(session.id, {"rating": None, "notes": "draft"}, draft=True)
    assert await store.get_summary(session.id) == ({"rating": None, "notes": "draft"}, True)
    await store.save_summary(session.id, {"rating": 4, "notes": [f"key {SECRET}"], "worked": "yes"}, draft=False)
    assert await store.get_summary(session.id) == ({"rating": 4, "notes": [f"key {REDACTED}"], "worked": "yes"}, False)

    assert await store.outcome(session.id) is None
    await store.add_assessment(session.id, "too-early", "ask again")
    await store.add_assessment(session.id, "partially", "some rework")
    assert await store.outcome(session.id) == "partially"
    with pytest.raises(ValueError, match="unknown outcome"):
        await store.add_assessment(session.id, "great", "")
    row = await store.get_session(session.id)
    assert row is not None and (row.rating, row.outcome) == (4, "partially")


async def test_recover_interrupted(store: Store, db: Path) -> None:
    one = await store.create_session("/repo", "one", "abc")
    two = await store.create_session("/repo", "two", "abc")
    await store.record_run("r1", one.id, None, None)
    await store.record_run("r2", two.id, None, None)
    states = {"p": "pending", "r": "ready", "run": "running", "pa": "paused", "ok": "succeeded", "bad": "failed"}
    ids = add_tasks(db, one.id, "r1", states)
    add_tasks(db, two.id, "r2", {"x": "running"})
    conn = raw(db)
    conn.execute("INSERT INTO attempts (task_id, number, started_at, state) VALUES (?, 1, 1.0, 'running')",
                 (ids["run"],))
    conn.close()

    assert sorted(await store.recover_interrupted(one.id)) == ["p", "pa", "r", "run"]
    after = {t.key: t.state for t in await store.tasks(one.id)}
    assert after == {"p": "interrupted", "r": "interrupted", "run": "interrupted", "pa": "interrupted",
                     "ok": "succeeded", "bad": "failed"}
    (attempt,) = await store.attempts(ids["run"])
    assert attempt.state == "interrupted" and attempt.ended_at is not None
    assert [t.state for t in await store.tasks(two.id)] == ["running"]  # another session is left alone
    assert await store.recover_interrupted(None) == ["x"]
    assert await store.recover_interrupted(None) == []


# -- import ---------------------------------------------------------------------------------------


async def test_import_session_is_idempotent(store: Store) -> None:
    kwargs = dict(
        import_key="/repo/Summary/summary20260304.2.md", repo_path="/repo", date="2026-03-04", day_number=2,
        objective="Add CSV export", status="complete", start_commit="1a2b3c4", end_commit="9f8e7d6",
        summary={"rating": "4", "worked": "tests first"}, interventions=[(100.0, "note", "asked for tests")],
    )
    first = await store.import_session(**kwargs)
    again = await store.import_session(**kwargs)
    assert first == again
    assert await store.find_import("/repo/Summary/summary20260304.2.md") == first
    assert await store.find_import("nope") is None
    (row,) = await store.list_sessions("/repo")
    assert (row.label, row.status, row.rating, row.source, row.end_commit) == (
        "20260304.2", "complete", 4, "import", "9f8e7d6")
    assert [(i.type, i.text) for i in await store.interventions(first)] == [("note", "asked for tests")]
    # a new session that day comes after the imported one
    assert (await store.create_session("/repo", "new", None, date="2026-03-04")).day_number == 3
    with pytest.raises(SessionExists) as err:
        await store.import_session(**{**kwargs, "import_key": "elsewhere/summary20260304.2.md"})
    assert err.value.existing_id == first
    assert len(await store.list_sessions()) == 2


# -- location -------------------------------------------------------------------------------------


def test_db_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data" / "cockpit"
    monkeypatch.setattr(engine.paths.platformdirs, "user_data_dir", lambda name: str(data))
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    assert db_path.default_db_path() == data / "cockpit.db"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    monkeypatch.setenv("COCKPIT_DB", str(tmp_path / "env.db"))
    assert db_path.resolve_db_path(None) == tmp_path / "env.db"
    assert db_path.resolve_db_path(str(tmp_path / "cli.db")) == tmp_path / "cli.db"


def test_summary_json_is_plain_json(db: Path) -> None:
    async def go() -> None:
        async with await Store.open(db) as store:
            session = await store.create_session("/repo", "obj", None)
            await store.save_summary(session.id, {"rating": 3, "text": "é"}, draft=False)
    asyncio.run(go())
    data = raw(db).execute("SELECT data FROM summaries").fetchone()[0]
    assert json.loads(data) == {"rating": 3, "text": "é"}
