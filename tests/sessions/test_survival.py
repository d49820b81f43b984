"""EWR(git) of cockpit sessions: the lines each task's own commits added on its branch, and what the
developer's branch holds of them, on real repositories with known answers.

Histories are built with dated commits (:mod:`tests.helpers.git_builder`, years before the test runs,
so every horizon is reached); sessions are recorded as the cockpit records them
(:mod:`tests.helpers.recorded_runs`) and measured with ``cockpit stuck --json``. Every line the tests
write is meaningful and distinct unless said otherwise.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from sessions.store.store import Store
from sessions.survival.line_filter import line_hash_int, meaningful
from sessions.survival.measure import Decision, SessionInput, measure_sessions
from sessions.survival.work import AgentRule, SessionWork, TaskBranch, take_work
from tests.helpers.cli import cli
from tests.helpers.git_builder import DAY, GitBuilder, func, lines
from tests.helpers.recorded_runs import RecordedTask, record_session


def record(db: str, gb: GitBuilder, start: str, end: str, tasks: list[RecordedTask]) -> str:
    """The session recorded (its work taken now, while every commit exists); its label."""
    async def go() -> str:
        async with await Store.open(db) as store:
            sid = await record_session(store, gb.path, start, end, tasks)
            return (await store.get_session(sid)).label

    return asyncio.run(go())


def stuck(capsys: pytest.CaptureFixture[str], gb: GitBuilder, db: str, *labels: str) -> list[dict]:
    code, out, err = cli(capsys, "stuck", "--json", "--repo", str(gb.path), "--db", db, *labels)
    assert code == 0, err
    return json.loads(out)


def by_task(item: dict) -> dict[str, dict]:
    return {t["task"]: t for t in item["tasks"]}


def task_branch(gb: GitBuilder, name: str, start: str, files: list[dict[str, str]]) -> str:
    """A task branch from ``start`` with one commit per entry of ``files``; back on main after."""
    gb.checkout(name, create_from=start)
    for i, change in enumerate(files):
        gb.commit(f"{name} {i}", change)
    head = gb.rev()
    gb.checkout("main")
    return head


def whole_file_count(gb: GitBuilder, head: str, commits: set[str], wanted: Counter[int]) -> int:
    """The independent count: ``git blame -w -M -C`` of every file at ``head``, the lines given to
    ``commits`` whose content is one of ``wanted`` (a multiset)."""
    left = Counter(wanted)
    found = 0
    for path in gb.git("ls-tree", "-r", "--name-only", head).splitlines():
        out = subprocess.run(["git", "blame", "-w", "-M", "-C", "--porcelain", head, "--", path], cwd=gb.path,
                             capture_output=True, check=True).stdout
        sha = None
        for line in out.split(b"\n"):
            if line[:1] == b"\t":
                h = line_hash_int(line[1:])
                if sha in commits and meaningful(line[1:]) and left[h] > 0:
                    left[h] -= 1
                    found += 1
            elif len(line) > 41 and line[40:41] == b" ":
                sha = line[:40].decode()
    return found


# --------------------------------------------------------------------------- the tasks' own work


@pytest.mark.parametrize("how", ["merge", "cherry-pick"])
def test_discarded_dependency_and_its_accepted_dependant(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    start = gb.rev()
    a_head = task_branch(gb, "cockpit/r/a", start, [{"a_mod.py": lines(2, "alpha")}])
    b_start = a_head  # b's worktree starts from its dependency's result
    b_head = task_branch(gb, "cockpit/r/b", b_start, [{"b_mod.py": lines(3, "bravo")}])
    if how == "merge":  # b's branch as it is: a's commits come along
        gb.merge("cockpit/r/b", "Accept b")
    else:  # b's own commits only
        gb.cherry_pick(f"{b_start}..{b_head}")
    end = gb.rev()
    decided = gb.clock
    gb.delete_branch("cockpit/r/a")
    label = record(db, gb, start, end, [
        RecordedTask("a", start, a_head, "claude", decision="discarded", decided_at=decided, cost_usd=0.5),
        RecordedTask("b", b_start, b_head, "codex", ("a",), decision="accepted", decided_at=decided, cost_usd=0.3),
    ])

    (item,) = stuck(capsys, gb, db, label)

    tasks = by_task(item)
    assert (tasks["a"]["added"], tasks["a"]["surviving"], tasks["a"]["decision"]) == (2, 0, "discarded")
    assert (tasks["b"]["added"], tasks["b"]["surviving"], tasks["b"]["decision"]) == (3, 3, "accepted")
    assert tasks["b"]["method"] == ("blame" if how == "merge" else "patch-id")
    assert (item["added"], item["surviving"], item["ratio"]) == (5, 3, 0.6)
    assert item["horizons"] == {"1d": 0.6, "7d": 0.6, "30d": 0.6}
    assert tasks["b"]["cost_per_line"] == pytest.approx(0.1)
    assert tasks["a"]["cost_per_line"] is None
    assert item["kind"] == "tasks" and item["own"] is None
    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db, label)
    assert code == 0
    assert "  task a (claude): +2, stuck 0 (0%) · discarded" in out
    assert "  task b (codex): +3, stuck 3 (100%), $0.1000 a line that stuck · accepted" in out
    assert "by agent profile:\n  codex: 1 task, +3 done, 3 stuck (100%), $0.1000 a line that stuck\n" \
           "  claude: 1 task, +2 done, 0 stuck (0%)\n" in out
    assert out.endswith("EWR(git): 60% of 5 lines over 1 session\n")
    code, out, _ = cli(capsys, "report", "--json", "--repo", str(gb.path), "--db", db)
    agents = {a["agent"]: a for a in json.loads(out)["agents"]}
    assert (agents["codex"]["attributed_added"], agents["codex"]["attributed_surviving"]) == (3, 3)
    assert (agents["claude"]["attributed_added"], agents["claude"]["survival"]) == (0, None)  # nothing accepted


def test_never_reviewed_task_at_the_one_day_horizon(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    late = task_branch(gb, "cockpit/r/late", start, [{"late.py": lines(4, "late")}])
    never = task_branch(gb, "cockpit/r/never", start, [{"never.py": lines(2, "never")}])
    gb.merge("cockpit/r/late", "Accept late")
    gb.merge("cockpit/r/never", "Merged by hand, never decided in the cockpit")
    end = gb.rev()
    end_time = gb.clock
    gb.tick(days=40)
    gb.commit("later", {"README.md": "# project, later\n"})
    label = record(db, gb, start, end, [
        RecordedTask("late", start, late, decision="accepted", decided_at=end_time + 2 * DAY),
        RecordedTask("never", start, never),
    ])

    (item,) = stuck(capsys, gb, db, label)

    tasks = by_task(item)
    assert tasks["late"]["horizons"] == {"1d": 0, "7d": 4, "30d": 4}
    assert tasks["late"]["notes"] == {"1d": "never reviewed"}
    assert tasks["never"]["horizons"] == {"1d": 0, "7d": 0, "30d": 0}
    assert tasks["never"]["notes"] == {"1d": "never reviewed", "7d": "never reviewed", "30d": "never reviewed"}
    assert (tasks["never"]["surviving"], tasks["never"]["note"], tasks["never"]["decision"]) == (0, "never reviewed", None)
    assert item["horizons"] == {"1d": 0.0, "7d": pytest.approx(4 / 6), "30d": pytest.approx(4 / 6)}

    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db, label)
    assert code == 0
    assert "task never (shell): +2, stuck 0 (0%) · never reviewed" in out


def test_the_developers_own_commits_are_shown_apart(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"t.py": lines(3, "task")}])
    gb.commit("my own fix", {"mine.py": lines(12, "mine")})
    gb.merge("cockpit/r/t", "Accept t")
    end = gb.rev()
    gb.tick(days=2)
    gb.commit("drop one of mine", {"mine.py": lines(11, "mine")})
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    assert (item["added"], item["surviving"], item["ratio"]) == (3, 3, 1.0)  # the agents' lines only
    assert item["own"] == {"added": 12, "surviving": 11, "ratio": pytest.approx(11 / 12)}
    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db, label)
    assert "your own: +12, 92% still there (not in EWR(git))" in out
    assert "EWR(git): 100% of 3 lines over 1 session" in out


def test_a_session_that_accepted_nothing_does_not_count_the_developers_commit(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"t.py": lines(3, "task")}])
    end = gb.commit("by hand", {"hand.py": lines(1, "hand")})
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="discarded", decided_at=gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    assert (item["added"], item["surviving"], item["ratio"]) == (3, 0, 0.0)
    assert item["own"]["added"] == 1


@pytest.mark.parametrize("land", ["squash", "rebase"])
def test_accepted_task_squash_merged_or_rebased_gives_one_answer_before_and_after_gc(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], land: str
) -> None:
    start = gb.rev()
    gb.commit("main moves on", {"README.md": "# project\nmore\n"})
    head = task_branch(gb, "cockpit/r/t", start, [{"feat.py": func("alpha")}, {"util.py": lines(5, "util")}])
    if land == "squash":
        gb.squash_merge("cockpit/r/t", "Task t (squashed)")
    else:
        gb.checkout("rebased", create_from="cockpit/r/t")
        gb.rebase("main")
        gb.checkout("main")
        gb.merge("rebased", ff=True)
        gb.delete_branch("rebased")
    end = gb.rev()
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])
    gb.tick(days=1)
    gb.commit("delete two util lines", {"util.py": lines(3, "util")})

    (before,) = stuck(capsys, gb, db, label)
    gb.delete_branch("cockpit/r/t")
    gb.gc()
    assert not gb.exists(head)
    with sqlite_conn(db) as conn:
        conn.execute("DELETE FROM survival")
    (after,) = stuck(capsys, gb, db, label)

    for item in (before, after):
        t = by_task(item)["t"]
        assert (t["added"], t["surviving"]) == (13, 11)
        assert t["method"] == ("content" if land == "squash" else "patch-id")
        assert item["own"]["added"] == 1  # "main moves on"; the squash commit is the task's work
    assert {k: v for k, v in before.items() if k != "cached"} == {k: v for k, v in after.items() if k != "cached"}


def sqlite_conn(db: str):
    import sqlite3
    from contextlib import closing

    class _Conn:
        def __enter__(self):
            self.conn = sqlite3.connect(db)
            return self.conn

        def __exit__(self, *exc):
            self.conn.commit()
            self.conn.close()

    return _Conn()


def test_discarded_branch_deleted_and_garbage_collected(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    kept = task_branch(gb, "cockpit/r/kept", start, [{"kept.py": lines(4, "kept")}])
    gone = task_branch(gb, "cockpit/r/gone", start, [{"gone.py": lines(6, "gone")}, {"gone.py": lines(8, "gone")}])
    gb.merge("cockpit/r/kept", "Accept kept")
    end = gb.rev()
    label = record(db, gb, start, end, [
        RecordedTask("kept", start, kept, decision="accepted", decided_at=gb.clock),
        RecordedTask("gone", start, gone, decision="discarded", decided_at=gb.clock),
    ])
    gb.delete_branch("cockpit/r/gone")
    gb.gc()
    assert not gb.exists(gone)

    (item,) = stuck(capsys, gb, db, label)

    tasks = by_task(item)
    assert (tasks["gone"]["added"], tasks["gone"]["surviving"]) == (8, 0)
    assert (tasks["kept"]["added"], tasks["kept"]["surviving"]) == (4, 4)
    assert (item["added"], item["surviving"]) == (12, 4)


# --------------------------------------------------------------------------- exact


def test_one_line_move_under_gits_score_counts_as_whole_file_blame_does(gb: GitBuilder) -> None:
    """A later commit moves a block of three lines to another file; one of them is the task's and
    too short for git's move score alone. Whole-file blame finds the block; blame limited to that
    one line (``-L``) does not: the measure says what the whole-file blame says."""
    old_top = "def helper_function_for_the_alpha_value():\n"
    old_end = "    return compute_the_beta_value_of(alpha_parameter)\n"
    base_a = lines(4, "keep") + old_top + old_end + lines(3, "tail")
    start = gb.commit("base a", {"mod_a.py": base_a, "mod_b.py": lines(3, "bee")})
    short = "    x = 1\n"
    head = task_branch(gb, "cockpit/r/t", start, [{"mod_a.py": base_a.replace(old_top, old_top + short)}])
    end = gb.merge("cockpit/r/t", "Accept t")
    gb.tick(days=2)
    block = old_top + short + old_end
    mover = gb.commit("move the helper to mod_b", {
        "mod_a.py": lines(4, "keep") + lines(3, "tail"),
        "mod_b.py": lines(3, "bee") + block,
    })
    work = take_work(gb.path, start, end, [TaskBranch("t", start, head)])
    assert work.parts["t"].added == 1

    (result,) = measure_sessions(gb.path, [SessionInput(work, {"t": Decision("accepted", 0)})], now=gb.clock + 40 * DAY)

    blamed = gb.git("blame", "-w", "-M", "-C", "--porcelain", "-L5,5", "HEAD", "--", "mod_b.py").split()[0]
    assert blamed == mover  # limited to the one line, git gives it to the commit that moved it
    expected = whole_file_count(gb, mover, set(work.parts["t"].commits), Counter({line_hash_int(short.encode()): 1}))
    assert expected == 1
    assert (result.tasks[0].added, result.tasks[0].surviving) == (1, 1)


def test_exact_on_a_generated_history(tmp_path: Path) -> None:
    """The bench's history generator at a small size: every merged task's stuck lines equal the
    independent whole-file count of every file at HEAD."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("bench_survival", Path(__file__).parents[2] / "bench" / "survival.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_survival"] = bench
    spec.loader.exec_module(bench)
    bench.COMMITS, bench.SESSIONS, bench.FILES = 400, 3, 30
    repo = tmp_path / "history"
    repo.mkdir()
    sessions = bench.generate(repo)
    works = [take_work(repo, s.start, s.end, [TaskBranch(t.key, t.start, t.head) for t in s.tasks]) for s in sessions]
    inputs = [
        SessionInput(w, {t.key: Decision(t.decision, t.decided_at) for t in s.tasks}) for w, s in zip(works, sessions)
    ]
    results = measure_sessions(repo, inputs, now=4e9)
    checked = 0
    gb = GitBuilder.__new__(GitBuilder)
    gb.path, gb.clock = repo, 0
    head = gb.git("rev-parse", "HEAD")
    for work, result in zip(works, results):
        for task in result.tasks:
            if task.decision == "accepted" and task.method == "blame":
                part = work.parts[task.key]
                wanted = Counter({int(h, 16): n for counts in part.files.values() for h, n in counts.items()})
                assert task.surviving == whole_file_count(gb, head, set(part.commits), wanted), task.key
                checked += 1
    assert checked >= 3


# --------------------------------------------------------------------------- what counts


def test_vendored_and_generated_files_are_left_out(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    gb.commit("attributes and settings", {
        ".gitattributes": "gen/*.py linguist-generated\nassets/*.txt -diff\nlib/copied.py linguist-vendored\n",
        "cockpit.toml": '[survival]\nvendored = ["pkg/packages/"]\ngenerated = ["*.gen.go"]\n',
    })
    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{
        "app.py": lines(2, "app"),
        "vendor/dep.py": lines(50, "dep"),
        "pkg/_vendor/six.py": lines(40, "six"),
        "pkg/packages/urllib3/pool.py": lines(30, "pool"),
        "gen/models.py": lines(20, "gen"),
        "assets/data.txt": lines(10, "data"),
        "lib/copied.py": lines(7, "copied"),
        "api.gen.go": lines(5, "go"),
    }])
    gb.merge("cockpit/r/t", "Accept t")
    label = record(db, gb, start, gb.rev(), [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    assert (item["added"], item["surviving"]) == (2, 2)
    assert item["excluded"] == {
        "api.gen.go": "generated",
        "assets/data.txt": "not diffed",
        "gen/models.py": "generated",
        "lib/copied.py": "vendored",
        "pkg/_vendor/six.py": "vendored",
        "pkg/packages/urllib3/pool.py": "vendored",
        "vendor/dep.py": "vendored",
    }


def test_a_bad_survival_setting_is_one_clear_line(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.errors import ConfigError
    from sessions.settings import load_session_settings

    (gb.path / "cockpit.toml").write_text('[survival]\nvendored = "vendor"\n')
    with pytest.raises(ConfigError, match=r"\[survival\] vendored must be a list"):
        load_session_settings(gb.path)
    (gb.path / "cockpit.toml").write_text('[survival]\nagent_trailer = "(Claude"\n')
    with pytest.raises(ConfigError, match="agent_trailer is not a regular expression"):
        load_session_settings(gb.path)
    start = gb.rev()
    label = _import(db, gb, start, gb.commit("work", {"w.py": lines(2, "w")}))
    code, out, err = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db, label)
    assert (code, out) == (2, "") and err.count("\n") == 1 and "cockpit.toml: [survival] agent_trailer" in err


def _import(db: str, gb: GitBuilder, start: str, end: str) -> str:
    async def go() -> str:
        async with await Store.open(db) as store:
            sid = await store.import_session(
                import_key=f"k{start}{end}", repo_path=gb.path, date="2023-11-15", day_number=1, objective="o",
                status="complete", start_commit=start, end_commit=end, summary={},
            )
            return (await store.get_session(sid)).label

    return asyncio.run(go())


@pytest.mark.parametrize("setting", ["", '[survival]\nagent_trailer = "Claude"\n'])
def test_imported_session_with_a_co_authored_by_rule(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    (gb.path / ".git" / "info" / "exclude").write_text("cockpit.toml\n")
    (gb.path / "cockpit.toml").write_text(setting)
    start = gb.rev()
    gb.write({"agent.py": lines(4, "agent")})
    gb.git("add", "-A")
    gb.git("commit", "-q", "-m", "Add agent code\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    gb.commit("my own", {"human.py": lines(3, "human")})
    end = gb.rev()
    label = _import(db, gb, start, end)

    (item,) = stuck(capsys, gb, db, label)

    assert item["kind"] == "range"
    if setting:
        assert item["rule"] == "commits with a Co-Authored-By trailer matching 'Claude'"
        assert (item["added"], item["surviving"]) == (4, 4)
    else:
        assert item["rule"] == "every commit of the session's range"
        assert (item["added"], item["surviving"]) == (7, 7)
    code, out, _ = cli(capsys, "stuck", "--repo", str(gb.path), "--db", db, label)
    assert f"counted: {item['rule']}" in out


def test_agent_rule_by_author() -> None:
    rule = AgentRule(author="bot@")
    assert rule.matches("Aider <aider-bot@example.com>", [])
    assert not rule.matches("Dev <dev@example.com>", ["Claude <noreply@anthropic.com>"])
    assert rule.describe() == "commits with an author matching 'bot@'"


# --------------------------------------------------------------------------- reverts


def test_revert_written_by_hand_is_flagged(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"feat.py": func("alpha", 8)}])
    gb.merge("cockpit/r/t", "Accept t")
    end = gb.rev()
    gb.tick(days=3)
    undo = gb.commit("Simplify: feat.py is not needed after all", {"feat.py": "def alpha():\n    return None\n"})
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=end and gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    t = by_task(item)["t"]
    assert t["surviving"] == 1  # "def alpha():" is still there
    assert t["reverting_commits"] == [{"sha": undo, "how": "by hand"}]
    assert item["reverted"] is True and item["reverting_commits"] == [undo]


def test_git_revert_is_flagged_by_its_message(gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"t.py": lines(4, "task")}])
    gb.cherry_pick(head)
    end = gb.rev()
    reverting = gb.revert(end)
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    t = by_task(item)["t"]
    assert (t["surviving"], t["reverting_commits"]) == (0, [{"sha": reverting, "how": "message"}])


# --------------------------------------------------------------------------- the record


def test_work_record_round_trips_and_reads_the_old_fingerprints(gb: GitBuilder) -> None:
    from sessions.survival.fingerprints import session_fingerprint

    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"t.py": lines(3, "task")}])
    end = gb.merge("cockpit/r/t", "Accept t")
    work = take_work(gb.path, start, end, [TaskBranch("t", start, head)])
    assert SessionWork.from_json(work.to_json()) == work
    old = SessionWork.from_json(session_fingerprint(gb.path, start, end).to_json())
    assert (old.kind, old.rule, old.parts["(range)"].added) == ("range", "every commit of the session's range", 3)
    with pytest.raises(ValueError):
        SessionWork.from_json("[1, 2]")


# --------------------------------------------------------------------------- a session the engine ran


async def test_a_session_run_by_the_engine_is_measured_by_its_tasks_own_commits(
    store: Store, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], worktrees_dir: Path
) -> None:
    """A real run: ``base`` writes three lines, ``extra`` (depending on it) two more; ``base`` is
    discarded, ``extra`` accepted with its own commits only (copied onto the branch). The work
    recorded as the session ends is each task's own: 3 and 2 lines; what stuck is ``extra``'s,
    found through its copies."""
    from tests.helpers.events import EVENT_TIMEOUT, eventually
    from tests.helpers.session_runs import start_live, write_plan

    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "base", "prompt": "printf 'one = 1\\ntwo = 2\\nthree = 3\\n' > base.txt"},
        {"id": "extra", "prompt": "printf 'four = 4\\nfive = 5\\n' > extra.txt", "depends_on": ["base"]},
    ]), "Two tasks, one kept")
    await live.start()
    await eventually(lambda: all(r.state.terminal for r in live.engine.tasks.values()), EVENT_TIMEOUT, "ended")
    await live.discard("base", "not wanted")
    await live.accept("extra", "own")
    row = await live.end()
    work = SessionWork.from_json(await store.fingerprint(row.id))
    assert {k: p.added for k, p in work.parts.items()} == {"base": 3, "extra": 2}
    assert work.own is None or not work.own.commits

    code, out, err = await asyncio.to_thread(cli, capsys, "stuck", "--json", "--repo", str(repo), "--db", str(store.path))
    assert code == 0, err
    (item,) = json.loads(out)
    tasks = by_task(item)
    assert (tasks["base"]["surviving"], tasks["base"]["decision"]) == (0, "discarded")
    assert (tasks["extra"]["surviving"], tasks["extra"]["decision"], tasks["extra"]["method"]) == (2, "accepted", "patch-id")
    assert (item["added"], item["surviving"]) == (5, 2)
    assert item["horizons"] == {"1d": None, "7d": None, "30d": None}  # not yet


def test_horizons_reached_are_kept_when_the_head_moves(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A horizon's head does not move: measured once, it is kept when HEAD moves on, and only the
    new HEAD is blamed."""
    import sessions.survival.shared_blame as shared

    start = gb.rev()
    head = task_branch(gb, "cockpit/r/t", start, [{"t.py": lines(6, "task")}])
    gb.merge("cockpit/r/t", "Accept t")
    end = gb.rev()
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])
    for days, keep in ((2, 5), (10, 4), (40, 3)):
        gb.tick(days=days)
        gb.commit(f"keep {keep}", {"t.py": lines(keep, "task")})
    (first,) = stuck(capsys, gb, db, label)
    assert first["horizons"] == {"1d": 1.0, "7d": pytest.approx(5 / 6), "30d": pytest.approx(4 / 6)}

    blamed: list[str] = []
    real = shared.blame_file

    def counting(runner, path, commit, lower=()):
        blamed.append(commit)
        return real(runner, path, commit, lower)

    monkeypatch.setattr(shared, "blame_file", counting)
    new_head = gb.commit("keep 2", {"t.py": lines(2, "task")})
    (second,) = stuck(capsys, gb, db, label)

    assert blamed == [new_head]
    assert second["horizons"] == first["horizons"] and second["surviving"] == 2
    assert by_task(second)["t"]["horizons"] == by_task(first)["t"]["horizons"] == {"1d": 6, "7d": 5, "30d": 4}


def test_kept_blames_are_read_back_and_a_broken_cache_is_no_error(gb: GitBuilder, tmp_path: Path) -> None:
    from sessions.survival.blame_cache import BlameCache
    from sessions.git.blame import GitRunner
    from sessions.survival.shared_blame import blame_file

    head = gb.commit("more", {"a.py": lines(7, "base")})
    blame = blame_file(GitRunner(str(gb.path)), "a.py", head)
    cache = BlameCache(tmp_path / "c.sqlite", options="x")
    cache.put_all([(blame, ["abc"])])
    assert cache.get("a.py", head, ["abc"]) == blame
    assert cache.get("a.py", head, []) is None  # another lower bound: another blame
    assert BlameCache(tmp_path / "c.sqlite", options="y").get("a.py", head, ["abc"]) is None
    cache.close()

    (tmp_path / "broken.sqlite").write_bytes(b"this is not a database" * 100)
    broken = BlameCache(tmp_path / "broken.sqlite")
    broken.put_all([(blame, [])])
    assert broken.get("a.py", head, []) is None
    (tmp_path / "a-folder").mkdir()
    assert BlameCache(tmp_path / "a-folder").get("a.py", head, []) is None


def test_work_of_another_session_accepted_meanwhile_is_not_the_developers_own(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first_start = gb.rev()
    x = task_branch(gb, "cockpit/r1/x", first_start, [{"x.py": lines(5, "x")}])
    record(db, gb, first_start, first_start, [RecordedTask("x", first_start, x)])
    start = gb.rev()
    gb.merge("cockpit/r1/x", "Accept x of the first session, reviewed later")
    gb.commit("mine", {"mine.py": lines(2, "mine")})
    label = record(db, gb, start, gb.rev(), [])

    (item,) = stuck(capsys, gb, db, label)

    assert item["own"] == {"added": 2, "surviving": 2, "ratio": 1.0}
    assert (item["added"], item["tasks"]) == (0, [])


def test_control_characters_in_commit_messages_break_nothing(
    gb: GitBuilder, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Agents write commit messages: record separators in them must not confuse the measure."""
    start = gb.rev()
    gb.checkout("cockpit/r/t", create_from=start)
    gb.write({"t.py": lines(3, "task")})
    gb.git("add", "-A")
    gb.git("commit", "-q", "-m", "evil \x1e\x1f\x1d message\n\nThis reverts commit 0000000\x1e")
    head = gb.rev()
    gb.checkout("main")
    gb.merge("cockpit/r/t", "Accept t \x1e\x1f")
    end = gb.rev()
    undo = gb.revert(head)
    label = record(db, gb, start, end, [RecordedTask("t", start, head, decision="accepted", decided_at=gb.clock)])

    (item,) = stuck(capsys, gb, db, label)

    t = by_task(item)["t"]
    assert (t["added"], t["surviving"], t["reverting_commits"]) == (3, 0, [{"sha": undo, "how": "message"}])
