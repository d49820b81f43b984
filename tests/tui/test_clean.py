"""``cockpit clean`` on a real repository: recorded sessions whose tasks were accepted, discarded or left
undecided, checked with ``git worktree list`` and ``git branch``."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sessions.store.store import Store
from tests.helpers.cli import cli
from tests.helpers.repos import git
from tests.helpers.session_runs import run_session, start_live, write_plan


def branches(repo: Path) -> set[str]:
    return {line.strip("*+ ") for line in git(repo, "branch", "--list", "cockpit/*").splitlines()}


def worktrees(repo: Path) -> set[str]:
    """The branches of the linked worktrees ``git worktree list`` shows."""
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    return {line.removeprefix("branch refs/heads/") for line in lines if line.startswith("branch refs/heads/cockpit/")}


TASKS = [
    {"id": "acc", "prompt": "echo accepted > acc.txt"},
    {"id": "dis", "prompt": "echo discarded > dis.txt"},
    {"id": "und", "prompt": "echo undecided > und.txt"},
    {"id": "quiet", "prompt": "echo nothing to commit"},
]


async def _sessions(repo: Path, db: str, plans: Path) -> dict[str, str]:
    """Two ended sessions; the run id of each, and the label of the first."""
    async with await Store.open(db) as store:
        first = await run_session(store, repo, plans, TASKS, "First", accept=("acc",), discard=("dis",))
        second = await run_session(store, repo, plans, [{"id": "later", "prompt": "echo later > later.txt"}], "Second")
        return {"first": (await store.runs(first.id))[0].id, "second": (await store.runs(second.id))[0].id,
                "label": first.label}


@pytest.fixture
def recorded(repo: Path, db: str, tmp_path: Path) -> dict[str, str]:
    return asyncio.run(_sessions(repo, db, tmp_path / "plans"))


def test_dry_run_lists_and_removes_nothing(repo: Path, db: str, recorded: dict[str, str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    first, second = recorded["first"], recorded["second"]
    before = (branches(repo), worktrees(repo))
    assert before[0] == {f"cockpit/{first}/acc", f"cockpit/{first}/und", f"cockpit/{first}/quiet",
                         f"cockpit/{second}/later"}  # discarding deleted its branch already
    assert before[1] == before[0] - {f"cockpit/{first}/acc"}  # accepting removed the worktree

    code, out, err = cli(capsys, "clean", "--dry-run", "--repo", str(repo), "--db", db)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["remove", f"cockpit/{first}/acc", recorded["label"], "accepted", "branch"]
    kept = [line for line in lines if line.startswith("keep")]
    assert len(kept) == 3 and all(line.endswith(": undecided") for line in kept)
    assert lines[-1] == (f"would remove 0 worktrees and 1 branch; kept 3 (name one to remove it: "
                         f"cockpit clean {kept[0].split()[1]})")
    assert (branches(repo), worktrees(repo)) == before


def test_clean_removes_decided_tasks_and_keeps_undecided_ones(repo: Path, db: str, recorded: dict[str, str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    first, second = recorded["first"], recorded["second"]
    code, out, err = cli(capsys, "clean", "--repo", str(repo), "--db", db)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("removed 0 worktrees and 1 branch; kept 3")
    assert branches(repo) == {f"cockpit/{first}/und", f"cockpit/{first}/quiet", f"cockpit/{second}/later"}
    assert worktrees(repo) == branches(repo)
    assert (repo / "acc.txt").read_text() == "accepted\n"  # the accepted work stays merged

    # named: a task (RUN/TASK) and a whole run; their unmerged work is said, with the way back
    sha = git(repo, "rev-parse", f"cockpit/{second}/later")
    code, out, err = cli(capsys, "clean", f"{first}/und", second, "--repo", str(repo), "--db", db)
    assert code == 0, err
    later = next(line for line in out.splitlines() if f"cockpit/{second}/later" in line)
    assert later.startswith("removed") and later.endswith(
        f"worktree and branch: 1 commit on no other branch (git branch cockpit/{second}/later {sha[:12]} brings it back)")
    assert branches(repo) == worktrees(repo) == {f"cockpit/{first}/quiet"}
    git(repo, "branch", f"cockpit/{second}/later", sha[:12])  # the way back works
    assert git(repo, "show", f"cockpit/{second}/later:later.txt") == "later"


def test_a_worktree_with_uncommitted_edits_is_kept_even_when_named(repo: Path, db: str, recorded: dict[str, str],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first = recorded["first"]
    path = next(line.removeprefix("worktree ") for line in git(repo, "worktree", "list", "--porcelain").splitlines()
                if line.startswith("worktree ") and line.endswith("/und"))
    (Path(path) / "und.txt").write_text("edited by hand\n")
    code, out, err = cli(capsys, "clean", recorded["label"], "--repo", str(repo), "--db", db)
    assert code == 0, err
    und = next(line for line in out.splitlines() if f"cockpit/{first}/und" in line)
    assert und.startswith("keep") and f"uncommitted changes to und.txt in {path}" in und
    assert branches(repo) == worktrees(repo) == {f"cockpit/{first}/und", f"cockpit/{recorded['second']}/later"}
    assert (Path(path) / "und.txt").read_text() == "edited by hand\n"


def test_a_running_session_is_left_alone_and_a_bad_name_is_one_line(repo: Path, db: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        from tui.cli.clean import clean

        store = await Store.open(db)
        plan = write_plan(tmp_path / "plans", [{"id": "busy", "prompt": "echo busy > b.txt"}])
        live = await start_live(store, repo, plan, "Running")  # holds the session's lock, as a cockpit does
        await live.start()
        while not all(r.state.terminal for r in live.engine.tasks.values()):
            await asyncio.sleep(0.02)
        await store.set_decision(live.row.id, "busy", "accepted")  # decided, but its session is still on
        try:
            assert await clean(db, str(repo), [live.row.label], dry_run=False) == 0
        finally:
            await live.end()
            await store.close()

    asyncio.run(scenario())
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("keep") and out.splitlines()[0].endswith("is running")
    assert len(branches(repo)) == 1

    code, out, err = cli(capsys, "clean", "no-such-run", "--repo", str(repo), "--db", db)
    assert code == 2 and out == ""
    assert err.strip() == ("cockpit: 'no-such-run' names no cockpit branch, run or session with something left to "
                           "clean (cockpit clean --dry-run lists them)")
