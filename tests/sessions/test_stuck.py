"""``cockpit stuck``: the survival of recorded sessions, on real repositories with known answers.

Sessions are recorded through the store (or the lifecycle, which fingerprints them as they end)
with real start and end commits. Commits are dated by the builder's clock, years before the test
runs, so every horizon is reached; no test looks at wall-clock time.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import sessions.survival.recorded
from tests.helpers.cli import cli
from tests.helpers.git_builder import GitBuilder, feature_commits, land_and_forget, lines
from tests.helpers.paths import DATA
from sessions.survival.work import SessionWork
from sessions.lifecycle import begin_session, finish_session
from sessions.store.store import Store
from sessions.store.schema import LATEST, migrate
from tui.cli.main import main



def stuck_json(capsys: pytest.CaptureFixture[str], gb: GitBuilder, db: str, *args: str) -> list[dict]:
    code, out, err = cli(capsys, "stuck", "--json", "--repo", str(gb.path), "--db", db, *args)
    assert code == 0, err
    return json.loads(out)


def record(db: str, repo: Path, start: str | None, end: str | None, status: str = "complete",
           date: str | None = None) -> str:
    """An imported session (one agent on the developer's branch: measured over its commit range),
    recorded through the store (no record of its work taken); its label."""
    async def go() -> str:
        async with await Store.open(db) as store:
            day = date or "2023-11-14"
            number = len([r for r in await store.list_sessions() if r.date == day]) + 1
            sid = await store.import_session(
                import_key=f"{repo}:{start}:{end}:{number}", repo_path=repo, date=day, day_number=number,
                objective="objective", status=status, start_commit=start, end_commit=end, summary={},
            )
            return (await store.get_session(sid)).label

    return asyncio.run(go())


def lifecycle_session(db: str, gb: GitBuilder, work) -> str:
    """A session begun and finished by the lifecycle (which fingerprints it), ``work(gb)`` in
    between; its label."""
    async def go() -> str:
        async with await Store.open(db) as store:
            session = await begin_session(store, gb.path, "objective")
            work(gb)
            row = await finish_session(store, session, "complete")
            return row.label

    return asyncio.run(go())


def rows(db: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------- the known case


def test_lines_kept_and_some_deleted_later(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    gb.commit("s1", {"a.py": lines(5, "base") + lines(10, "new")})
    end = gb.commit("s2", {"b.py": lines(4, "bee")})
    label = record(db, gb.path, start, end)
    gb.tick(days=2)
    gb.commit("delete three of the session's lines", {"a.py": lines(5, "base") + lines(7, "new")})

    (item,) = stuck_json(capsys, gb, db)

    assert item["session"] == label
    assert (item["added"], item["surviving"], item["method"], item["reverted"]) == (14, 11, "blame", False)
    assert item["ratio"] == pytest.approx(11 / 14)
    assert item["head"] == gb.rev()
    assert item["horizons"] == {"1d": 1.0, "7d": pytest.approx(11 / 14), "30d": pytest.approx(11 / 14)}
    assert item["reason"] is None

    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db)
    assert code == 0
    header, line, rule, last = out.splitlines()
    assert header.split() == ["session", "added", "surviving", "ratio", "reverted", "method", "1d", "7d", "30d"]
    assert line.split() == [label, "14", "11", "79%", "no", "blame", "100%", "79%", "79%"]
    assert rule == "  counted: every commit of the session's range"
    assert last == "EWR(git): 79% of 14 lines over 1 session"


def test_at_an_earlier_commit(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    end = gb.commit("s", {"a.py": lines(5, "base") + lines(6, "new")})
    record(db, gb.path, start, end)
    gb.commit("delete them all", {"a.py": lines(5, "base")})
    (now,) = stuck_json(capsys, gb, db)
    (then,) = stuck_json(capsys, gb, db, "--at", end)
    assert (now["surviving"], now["ratio"]) == (0, 0.0)
    assert (then["head"], then["surviving"], then["ratio"]) == (end, 6, 1.0)


def test_revert_marks_the_session_reverted(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    c1 = gb.commit("s1", {"one.py": lines(3, "one")})
    end = gb.commit("s2", {"two.py": lines(2, "two")})
    record(db, gb.path, start, end)
    gb.tick(days=1)
    undo = gb.revert(c1)

    (item,) = stuck_json(capsys, gb, db)

    assert item["reverted"] is True
    assert item["reverting_commits"] == [undo]
    assert (item["added"], item["surviving"], item["method"]) == (5, 2, "blame")


def test_squash_merged_session_is_measured_by_content(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    start = gb.rev()
    commits = feature_commits(gb)
    gb.checkout("main")
    record(db, gb.path, start, commits[-1])
    gb.squash_merge("feature", "Add feature (squashed)")
    gb.tick(days=1)
    gb.commit("delete util 2 lines", {"util.py": lines(3, "util")})

    (item,) = stuck_json(capsys, gb, db)

    assert (item["method"], item["added"], item["surviving"], item["reverted"]) == ("content", 19, 17, False)


@pytest.mark.parametrize("rewrite", ["rebase", "squash"])
def test_garbage_collected_session_is_measured_from_its_stored_fingerprint(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], rewrite: str
) -> None:
    """A cockpit session that ran no task: what was committed is the developer's own work, shown
    apart and measured the same way once the commits are gone."""
    commits: list[str] = []
    label = lifecycle_session(db, gb, lambda g: commits.extend(feature_commits(g)))  # HEAD: main, then feature
    (stored,) = rows(db, "SELECT data FROM fingerprints")
    work = SessionWork.from_json(stored[0])
    assert work.end == commits[-1] and work.own is not None and work.own.added == 19 and not work.parts

    gb.checkout("main")
    gb.tick(hours=2)
    gb.commit("main moves on", {"README.md": "# project\n\nnews\n"})
    land_and_forget(gb, rewrite)
    assert not any(gb.exists(c) for c in commits)

    (item,) = stuck_json(capsys, gb, db)

    assert item["session"] == label
    assert (item["added"], item["ratio"], item["end"]) == (0, None, commits[-1])
    assert item["own"] == {"added": 19, "surviving": 17, "ratio": pytest.approx(17 / 19)}


# --------------------------------------------------------------------------- the cache


def test_second_call_reads_the_survival_table(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = gb.rev()
    end = gb.commit("s", {"c.py": lines(4, "c")})
    label = record(db, gb.path, start, end)
    gb.tick(days=40)
    gb.commit("later", {"c.py": lines(3, "c")})

    code, out, _ = cli(capsys, "show", label, "--json", "--repo", str(gb.path), "--db", db)
    assert code == 0 and json.loads(out)["survival"] is None  # show never measures

    (first,) = stuck_json(capsys, gb, db)
    assert first["cached"] is False and (first["added"], first["surviving"]) == (4, 3)
    stored = rows(db, "SELECT s.session_id, s.head, s.data FROM survival s")
    assert [(r[0], r[1]) for r in stored] == [(1, gb.rev())]
    assert json.loads(stored[0][2])["surviving"] == 3

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("measured again")

    monkeypatch.setattr(sessions.survival.recorded, "measure_sessions", boom)
    (second,) = stuck_json(capsys, gb, db)
    assert second["cached"] is True
    assert {k: v for k, v in second.items() if k != "cached"} == {k: v for k, v in first.items() if k != "cached"}

    code, out, _ = cli(capsys, "show", label, "--json", "--repo", str(gb.path), "--db", db)
    survival = json.loads(out)["survival"]
    assert (survival["ratio"], survival["head"], survival["method"]) == (0.75, gb.rev(), "blame")
    code, out, _ = cli(capsys, "show", label, "--repo", str(gb.path), "--db", db)
    assert "survival:  75% of 4 lines" in out

    # a new HEAD is a new measure
    gb.commit("more", {"README.md": "# project\n\nmore\n"})
    with pytest.raises(AssertionError, match="measured again"):
        main(["stuck", "--json", "--repo", str(gb.path), "--db", db])


def test_measure_is_called_once_per_session_and_head(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = gb.rev()
    end = gb.commit("s", {"c.py": lines(4, "c")})
    record(db, gb.path, start, end)
    calls = []
    real = sessions.survival.recorded.measure_sessions

    def counting(repo: object, sessions: list, at: str, *args: object, **kwargs: object):
        calls.append((at, len(sessions)))
        return real(repo, sessions, at, *args, **kwargs)

    monkeypatch.setattr(sessions.survival.recorded, "measure_sessions", counting)
    stuck_json(capsys, gb, db)
    stuck_json(capsys, gb, db)
    assert calls == [(gb.rev(), 1)]


# --------------------------------------------------------------------------- what cannot be measured


def test_lost_session_is_reported_and_does_not_abort(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    start = gb.rev()
    gb.checkout("doomed", create_from="main")
    doomed = gb.commit("never merged", {"x.py": lines(3, "x")})
    gb.checkout("main")
    lost = record(db, gb.path, start, doomed)  # no record of its work kept
    gb.delete_branch("doomed")
    gb.gc()
    assert not gb.exists(doomed)
    start2 = gb.rev()
    end2 = gb.commit("kept", {"k.py": lines(2, "k")})
    kept = record(db, gb.path, start2, end2)

    items = {i["session"]: i for i in stuck_json(capsys, gb, db)}

    assert items[lost]["method"] == "lost" and items[lost]["ratio"] is None
    assert "no record of the session's work" in items[lost]["reason"] and doomed[:12] in items[lost]["reason"]
    assert items[lost]["horizons"] == {"1d": None, "7d": None, "30d": None}
    assert (items[kept]["ratio"], items[kept]["added"]) == (1.0, 2)

    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db)
    assert code == 0
    lost_line = next(line for line in out.splitlines() if line.startswith(lost))
    assert lost_line.split()[-4:] == ["lost", "lost", "lost", "lost"]
    assert "no record of the session's work" in out
    assert out.splitlines()[-1] == "EWR(git): 100% of 2 lines over 1 session"


def test_session_that_committed_nothing(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    head = gb.rev()
    label = record(db, gb.path, head, head)
    (item,) = stuck_json(capsys, gb, db)
    assert item["session"] == label
    assert (item["added"], item["ratio"], item["method"]) == (0, None, "blame")
    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db)
    assert out.splitlines()[-1] == "EWR(git): no session with lines to measure yet"


def test_active_sessions_are_left_out_and_named_sessions_measured(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    start = gb.rev()
    end = gb.commit("s", {"c.py": lines(4, "c")})
    one = record(db, gb.path, start, end)
    two = record(db, gb.path, end, end)

    async def active() -> str:
        async with await Store.open(db) as store:
            return (await store.create_session(gb.path, "still going", end)).label

    running = asyncio.run(active())
    assert [i["session"] for i in stuck_json(capsys, gb, db)] == [two, one]  # newest first
    assert [i["session"] for i in stuck_json(capsys, gb, db, one)] == [one]
    code, _, err = cli(capsys, "stuck", running, "--repo", str(gb.path), "--db", db)
    assert code == 2 and "still active" in err and err.count("\n") == 1


def test_user_errors_are_one_line(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    record(db, gb.path, gb.rev(), gb.rev())
    code, out, err = cli(capsys, "stuck", "20200101.7", "--repo", str(gb.path), "--db", db)
    assert code == 2 and out == "" and err.count("\n") == 1 and "no session '20200101.7'" in err
    code, out, err = cli(capsys, "stuck", "--at", "no-such-rev", "--repo", str(gb.path), "--db", db)
    assert code == 2 and err.count("\n") == 1 and "no-such-rev" in err


def test_no_ended_session(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db)
    assert code == 0 and out.startswith("no ended session")
    assert stuck_json(capsys, gb, db) == []


def test_commit_graph_only_when_allowed(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    end = gb.commit("s", {"c.py": lines(4, "c")})
    record(db, gb.path, start, end)
    graph = gb.path / ".git" / "objects" / "info" / "commit-graph"
    stuck_json(capsys, gb, db)
    assert not graph.exists()
    gb.commit("new head", {"README.md": "# again\n"})
    stuck_json(capsys, gb, db, "--allow-commit-graph")
    assert graph.exists()


def test_stuck_does_not_import_textual() -> None:
    code = ("import sys, tui.cli.main, tui.cli.stuck; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- fingerprints taken


def test_finish_session_keeps_a_fingerprint_only_when_something_was_committed(gb: GitBuilder, db: str) -> None:
    lifecycle_session(db, gb, lambda g: None)
    assert rows(db, "SELECT count(*) FROM fingerprints") == [(0,)]
    lifecycle_session(db, gb, lambda g: g.commit("work", {"w.py": lines(3, "w")}))
    ((session_id, data),) = rows(db, "SELECT session_id, data FROM fingerprints")
    assert session_id == 2 and SessionWork.from_json(data).own.added == 3


def test_a_failed_fingerprint_does_not_fail_ending_the_session(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sessions.survival.recorded as ss

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("blame exploded")

    monkeypatch.setattr(ss, "take_work", broken)
    lifecycle_session(db, gb, lambda g: g.commit("work", {"w.py": lines(3, "w")}))
    assert rows(db, "SELECT status, end_commit FROM sessions") == [("complete", gb.rev())]
    assert rows(db, "SELECT count(*) FROM fingerprints") == [(0,)]
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_import_keeps_a_fingerprint_when_the_commits_exist(
    gb: GitBuilder, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = gb.rev()
    end = gb.commit("imported work", {"imp.py": lines(6, "imp")})
    folder = tmp_path / "Summary"
    folder.mkdir()
    text = (DATA / "summary20260304.2.md").read_text()
    assert "1a2b3c4" in text and "9f8e7d6" in text
    (folder / "summary20260304.2.md").write_text(text.replace("1a2b3c4", start[:7]).replace("9f8e7d6", end[:7]))
    shutil.copy(DATA / "summary20260306.1.md", folder)  # its commits are not in this repository
    code, out, _ = cli(capsys, "import", str(folder), "--repo", str(gb.path), "--db", db)
    assert code == 0 and "2 imported" in out

    found = rows(db, "SELECT s.date, f.data FROM fingerprints f JOIN sessions s ON s.id = f.session_id")
    assert [(d, SessionWork.from_json(x).end) for d, x in found] == [("2026-03-04", end)]
    items = {i["session"]: i for i in stuck_json(capsys, gb, db)}
    assert (items["20260304.2"]["added"], items["20260304.2"]["ratio"]) == (6, 1.0)
    assert items["20260306.1"]["method"] == "lost" and "4c5d6e7" in items["20260306.1"]["reason"]


# --------------------------------------------------------------------------- schema


def test_migration_from_the_previous_version_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=LATEST - 1) == LATEST - 1
    conn.execute("INSERT INTO repos (id, path) VALUES (1, '/repo')")
    conn.execute(
        "INSERT INTO sessions (id, repo_id, date, day_number, objective, status, start_commit, end_commit,"
        " started_at) VALUES (1, 1, '2026-03-04', 1, 'old', 'complete', 'aaa', 'bbb', 1000.0)"
    )
    conn.execute("INSERT INTO survival (session_id, head, computed_at, data) VALUES (1, 'ccc', 5.0, '{}')")
    conn.close()

    async def go() -> None:
        async with await Store.open(path) as store:
            row = await store.get_session(1)
            assert row is not None and (row.objective, row.end_commit) == ("old", "bbb")
            assert await store.survival(1, "ccc") == (5.0, "{}")
            assert await store.fingerprint(1) is None
            await store.save_fingerprint(1, '{"x": 1}', computed_at=7.0)
            await store.save_fingerprint(1, '{"x": 2}', computed_at=8.0)
            assert await store.fingerprint(1) == '{"x": 2}'

    asyncio.run(go())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert conn.execute("SELECT session_id, data, computed_at FROM fingerprints").fetchall() == [(1, '{"x": 2}', 8.0)]
    conn.close()
