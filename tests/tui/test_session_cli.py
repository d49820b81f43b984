"""The command line of sessions: run --headless records a session; sessions, show, export, import."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import cli
from tests.helpers.paths import DATA


PLAN = """
[[task]]
id = "one"
agent = "shell"
prompt = "echo working; echo 'sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123' ; echo one > one.txt"

[[task]]
id = "two"
agent = "shell"
depends_on = ["one"]
prompt = "echo two > two.txt"
"""


def test_headless_run_records_a_session(repo: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "plan.toml").write_text(PLAN)
    code, out, _ = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db,
                       "--objective", "Make two files.")
    assert code == 0, out
    assert "recorded (complete)" in out

    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    rows = json.loads(out)
    assert len(rows) == 1
    row = rows[0]
    for key in ("id", "label", "repo", "date", "day_number", "objective", "status", "start_commit",
                "end_commit", "rating", "outcome"):
        assert key in row
    assert row["status"] == "complete" and row["objective"] == "Make two files." and row["outcome"] is None
    assert row["label"] == row["date"].replace("-", "") + ".1"

    code, out, _ = cli(capsys, "show", row["label"], "--json", "--repo", str(repo), "--db", db)
    detail = json.loads(out)
    assert [t["id"] for t in detail["tasks"]] == ["one", "two"]
    assert all(t["state"] == "succeeded" and t["attempts"] == 1 for t in detail["tasks"])
    for key in ("title", "agent", "tokens_in", "tokens_out", "cost_usd", "decision"):
        assert key in detail["tasks"][0]
    assert detail["completeness"]["cockpit"] == [6, 6]
    assert detail["previous_outcome"] == "na"
    assert "one.txt" in detail["work_completed"]

    # every engine event was persisted, and the secret never reached the store
    import sqlite3

    with sqlite3.connect(db) as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM log_lines")]
    assert "working" in texts
    assert not any("sk-ant-api03" in t for t in texts)
    assert any("[REDACTED]" in t for t in texts)

    # a second session the same day is number 2
    code, out, _ = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)
    assert code == 0
    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    assert [r["day_number"] for r in json.loads(out)] == [2, 1]


def test_failed_task_makes_a_blocked_session(repo: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "plan.toml").write_text('[[task]]\nid = "bad"\nagent = "shell"\nprompt = "exit 4"\n')
    code, out, _ = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)
    assert code == 1
    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    assert json.loads(out)[0]["status"] == "blocked"


def test_import_export_round_trip(repo: Path, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "Summary"
    folder.mkdir()
    for name in ("summary20260304.2.md", "summary20260305.1.md", "summary20260306.1.md",
                 "malformed_not_a_summary.md"):
        shutil.copy(DATA / name, folder / name)
    code, out, err = cli(capsys, "import", str(folder), "--repo", str(repo), "--db", db)
    assert code == 2  # one file was not read...
    assert "malformed_not_a_summary.md" in err and err.count("\n") == 1
    assert "3 imported" in out  # ...and the others were

    code, out, err = cli(capsys, "import", str(folder / "summary20260304.2.md"), "--repo", str(repo), "--db", db)
    assert code == 0 and "already there" in out
    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    rows = json.loads(out)
    assert [r["label"] for r in rows] == ["20260306.1", "20260305.1", "20260304.2"]

    from sessions.summary.parse import load_summary, parse_markdown

    for name in ("summary20260304.2.md", "summary20260306.1.md"):
        label = name.removeprefix("summary").removesuffix(".md")
        code, out, _ = cli(capsys, "export", label, "--repo", str(repo), "--db", db)
        assert code == 0
        assert parse_markdown(out, name) == load_summary(DATA / name)
    # the example file comes back byte for byte
    code, out, _ = cli(capsys, "export", "20260304.2", "--repo", str(repo), "--db", db)
    assert out == (DATA / "summary20260304.2.md").read_text()

    # the outcome a file gives for its previous session becomes that session's assessment
    by_label = {r["label"]: r for r in rows}
    previous = load_summary(DATA / "summary20260305.1.md").previous_outcome
    if previous is not None:
        assert by_label["20260304.2"]["outcome"] == previous


def test_export_to_file_never_overwrites_a_different_file(
    repo: Path, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "import", str(DATA / "summary20260304.2.md"), "--repo", str(repo), "--db", db)
    target = tmp_path / "out"
    target.mkdir()
    code, out, _ = cli(capsys, "export", "20260304.2", "-o", str(target), "--repo", str(repo), "--db", db)
    assert code == 0 and (target / "summary20260304.2.md").exists()
    (target / "summary20260304.2.md").write_text("my own notes\n")
    code, _, err = cli(capsys, "export", "20260304.2", "-o", str(target), "--repo", str(repo), "--db", db)
    assert code == 2 and "--force" in err
    assert (target / "summary20260304.2.md").read_text() == "my own notes\n"


@pytest.mark.parametrize("args, needle", [
    (["show", "20990101.1"], "no session"),
    (["show", "nonsense"], "not a session id or label"),
    (["export", "42"], "no session"),
    (["show", "99999999999999999999999"], "no session"),  # more than SQLite can hold
    (["show", "²"], "not a session id or label"),  # isdigit() says yes, int() says no
    (["show", "20260304.99999999999999999999999"], "not a session id or label"),
    (["sessions", "--db", "/"], "directory"),
])
def test_user_errors_are_one_line(repo: Path, db: str, capsys, args: list[str], needle: str) -> None:
    extra = ["--repo", str(repo)] + ([] if "--db" in args else ["--db", db])
    code, out, err = cli(capsys, *args, *extra)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_not_a_database(repo: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("this is not sqlite " * 100)
    before = bad.read_bytes()
    code, _, err = cli(capsys, "sessions", "--repo", str(repo), "--db", str(bad))
    assert code == 2 and "not" in err and err.count("\n") == 1
    assert bad.read_bytes() == before


def test_commands_without_a_screen_do_not_import_textual() -> None:
    code = ("import sys, tui.cli.main, tui.cli.session_commands, tui.cli.run, tui.cli.headless; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_of_a_session_number_no_database_can_hold(repo: Path, db: str, tmp_path: Path, capsys) -> None:
    text = (DATA / "summary20260304.2.md").read_text()
    bad = tmp_path / "summary.md"
    bad.write_text(text.replace("- **Session:** 2 (of day)", "- **Session:** 99999999999999999999999 (of day)"))
    code, out, err = cli(capsys, "import", str(bad), "--repo", str(repo), "--db", db)
    assert code != 0 and "Traceback" not in err
    assert "session number 99999999999999999999999 is out of range" in err and "0 imported" in out


def test_sessions_and_show_tell_a_dead_cockpit_s_session(repo: Path, db: str, capsys) -> None:
    """A cockpit killed with SIGKILL leaves its session active and its task running in the store;
    until the next cockpit starts there, sessions and show say the cockpit is gone."""
    import asyncio

    from engine.events import EventBus, RunStarted, TaskInfo, TaskStateChanged
    from engine.states import TaskState as S
    from sessions.liveness import SessionLock
    from sessions.store.event_writer import EventWriter
    from sessions.store.store import Store

    async def left_running() -> int:
        store = await Store.open(db)
        try:
            row = await store.create_session(repo, "killed", "base")
            await store.record_run("run-1", row.id, None, None)
            bus = EventBus()
            writer = asyncio.create_task(EventWriter(store, row.id, "run-1").run(bus.subscribe()))
            bus.publish(RunStarted("run-1", str(repo), "base", (TaskInfo("t", "T", "shell", "x", (), None, 0),)))
            bus.publish(TaskStateChanged("t", S.PENDING, S.READY, 0))
            bus.publish(TaskStateChanged("t", S.READY, S.RUNNING, 1))
            bus.close()
            await writer
            return row.id
        finally:
            await store.close()

    session_id = asyncio.run(left_running())
    code, out, _ = cli(capsys, "sessions", "--repo", str(repo), "--db", db)
    assert "active, its cockpit is gone" in out
    code, out, _ = cli(capsys, "show", str(session_id), "--json", "--db", db)
    detail = json.loads(out)
    assert detail["status"] == "active" and detail["cockpit_gone"] is True
    assert [t["state"] for t in detail["tasks"]] == ["interrupted"]

    lock = SessionLock(Path(db), session_id)  # a living cockpit holds it
    assert lock.acquire()
    try:
        code, out, _ = cli(capsys, "show", str(session_id), "--db", db)
        assert ": active\n" in out and "running" in out
    finally:
        lock.release()
