"""Review of a task's work on real repositories: its diff, accept (merge) and discard."""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers.events import eventually, make_engine, plan_of
from tests.helpers.repos import checkout_snapshot, git
from engine.errors import CommandError
from engine.worktrees import FALLBACK_EMAIL, FALLBACK_NAME, Worktree, WorktreeManager
from sessions.lifecycle import begin_session
from sessions.live_session import LiveSession
from sessions.git.checkout import ReviewError
from sessions.git.incoming import OwnRange, incoming
from sessions.git.merge import accept, discard
from sessions.store.store import Store

BINARY = bytes(range(256)) * 4
LONG_TEXT = "".join(f"line {i} of a file that moves\n" for i in range(20))


@dataclass
class TaskWork:
    branch: str
    worktree: str
    start: str
    head: str


def make_task(repo: Path, task_id: str, change: Callable[[Path], None], run_id: str = "run1") -> TaskWork:
    """A real task worktree and branch made by the engine's WorktreeManager, with ``change`` committed."""
    mgr = WorktreeManager(repo, run_id)
    wt = mgr.create(task_id, "main", [])
    change(Path(wt.path))
    head = mgr.commit_leftovers(wt, f"work of {task_id}")
    return TaskWork(wt.branch, wt.path, wt.start_commit, head)


def write(root: Path, name: str, text: str | bytes) -> None:
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)


def worktree_paths(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [os.path.realpath(line.split(" ", 1)[1]) for line in out.splitlines() if line.startswith("worktree ")]


def branch_exists(repo: Path, branch: str) -> bool:
    return git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False) != ""


@pytest.fixture
def project(repo_factory) -> Path:
    path = repo_factory("project", {
        "README.md": "hello\nworld\n",
        "src/app.py": "def main():\n    return 1\n",
        "gone.txt": "to be deleted\n",
        "old_name.txt": LONG_TEXT,
    })
    write(path, "logo.bin", BINARY)
    git(path, "add", "logo.bin")
    git(path, "commit", "-q", "-m", "a binary file")
    return path


def a_bit_of_everything(root: Path) -> None:
    write(root, "src/app.py", "def main():\n    return 2\n\n\ndef helper():\n    return 3\n")
    write(root, "docs/new file.md", "# New\n\ntext\n")
    (root / "gone.txt").unlink()
    (root / "old_name.txt").rename(root / "new_name.txt")
    write(root, "logo.bin", BINARY[::-1])
    write(root, "icon.bin", b"\x00\x01\x02binary\x00")


# ---------------------------------------------------------------------------------------- diff
def test_the_diff_lists_every_kind_of_change_with_its_own_patch(project: Path) -> None:
    work = make_task(project, "t1", a_bit_of_everything)
    diff = incoming(project, OwnRange("t1", work.start, work.head), [])
    by_path = {f.file.path: f.file for f in diff.files}
    assert {f.sources for f in diff.files} == {("t1",)} and diff.conflicts == ()
    assert {p: (f.change, f.old_path, f.added, f.removed) for p, f in by_path.items()} == {
        "src/app.py": ("modified", None, 5, 1),
        "docs/new file.md": ("created", None, 3, 0),
        "gone.txt": ("deleted", None, 0, 1),
        "new_name.txt": ("renamed", "old_name.txt", 0, 0),
        "logo.bin": ("modified", None, None, None),
        "icon.bin": ("created", None, None, None),
    }
    for f in by_path.values():  # each file carries exactly its own part of the patch
        assert f.diff.startswith("diff --git ")
        assert f.diff.count("diff --git ") == 1
    assert "+    return 2" in by_path["src/app.py"].diff and "-    return 1" in by_path["src/app.py"].diff
    assert "def helper" not in by_path["docs/new file.md"].diff
    assert "+# New" in by_path["docs/new file.md"].diff
    assert "-to be deleted" in by_path["gone.txt"].diff
    assert "rename from old_name.txt" in by_path["new_name.txt"].diff
    assert "Binary files" in by_path["logo.bin"].diff and by_path["logo.bin"].binary
    assert not by_path["src/app.py"].binary
    # the totals agree with the engine's own numstat of the task
    stats = WorktreeManager(project, "run1").diff_stat(Worktree("t1", work.worktree, work.branch, work.start), work.head)
    assert (diff.added, diff.removed) == (sum(s.added or 0 for s in stats), sum(s.removed or 0 for s in stats)) == (8, 2)


def test_a_task_that_changed_nothing_has_an_empty_diff(project: Path) -> None:
    work = make_task(project, "idle", lambda root: None)
    diff = incoming(project, OwnRange("idle", work.start, work.head), [])
    assert diff.files == () and (diff.added, diff.removed) == (0, 0)


def test_a_diff_of_commits_that_are_gone_is_one_clear_line(project: Path) -> None:
    with pytest.raises(ReviewError) as err:
        incoming(project, OwnRange("gone", "HEAD", "0" * 40), [])
    assert "\n" not in str(err.value) and "not in the repository" in str(err.value)


# -------------------------------------------------------------------------------------- accept
def test_accept_merges_into_the_checkout_branch_and_removes_the_worktree(project: Path) -> None:
    work = make_task(project, "t1", a_bit_of_everything)
    before = git(project, "rev-parse", "HEAD")
    result = accept(project, work.branch, work.worktree, "Accept task t1: everything\n\nbody")
    assert result.into == "main" and result.branch == work.branch
    assert result.merge_commit == git(project, "rev-parse", "HEAD")
    assert result.worktree_removed and result.note == ""
    # the work is in the user's checkout, which is clean and on its branch
    assert (project / "docs/new file.md").read_text() == "# New\n\ntext\n"
    assert (project / "new_name.txt").read_text() == LONG_TEXT
    assert not (project / "gone.txt").exists()
    assert (project / "logo.bin").read_bytes() == BINARY[::-1]
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "branch", "--show-current") == "main"
    # a real merge commit (no fast-forward) with the message
    parents = git(project, "rev-list", "--parents", "-n1", "HEAD").split()[1:]
    assert parents == [before, work.head]
    assert git(project, "log", "-1", "--format=%B", "HEAD").strip() == "Accept task t1: everything\n\nbody"
    # worktree gone, branch kept (it is merged)
    assert os.path.realpath(work.worktree) not in worktree_paths(project)
    assert not Path(work.worktree).exists()
    assert branch_exists(project, work.branch)
    git(project, "merge-base", "--is-ancestor", work.branch, "HEAD")
    assert "merged cockpit/run1/t1 into main" in result.describe()


def test_accept_merges_even_when_the_checkout_moved_on_without_conflict(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "from the agent\n"))
    write(project, "mine.txt", "from the developer\n")
    git(project, "add", "mine.txt")
    git(project, "commit", "-q", "-m", "my own work")
    result = accept(project, work.branch, work.worktree, "Accept task t1")
    assert result.merge_commit is not None
    assert (project / "feature.txt").exists() and (project / "mine.txt").exists()


def test_accept_uses_a_fallback_identity_when_the_repository_has_none(project: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.gitconfig (GitPython reads it directly)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME")
        monkeypatch.delenv(f"GIT_{who}_EMAIL")
    monkeypatch.setenv("EMAIL", "")  # nothing for git to guess from
    result = accept(project, work.branch, work.worktree, "Accept task t1")
    assert result.merge_commit is not None
    assert git(project, "log", "-1", "--format=%an <%ae>") == f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"


def test_accept_of_a_task_that_changed_nothing_makes_no_merge_commit(project: Path) -> None:
    work = make_task(project, "idle", lambda root: None)
    before = checkout_snapshot(project)
    result = accept(project, work.branch, work.worktree, "Accept task idle")
    assert result.merge_commit is None and result.worktree_removed
    assert checkout_snapshot(project) == before
    assert "nothing to merge" in result.describe()


def test_accept_refused_on_a_dirty_checkout_changes_nothing(project: Path) -> None:
    work = make_task(project, "t1", a_bit_of_everything)
    write(project, "README.md", "edited by the developer\n")
    write(project, "src/app.py", "staged\n")
    git(project, "add", "src/app.py")
    write(project, "scratch.txt", "untracked files alone do not count\n")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError) as err:
        accept(project, work.branch, work.worktree, "Accept task t1")
    message = str(err.value)
    assert "\n" not in message
    assert "uncommitted changes" in message and "README.md" in message and "src/app.py" in message
    assert checkout_snapshot(project) == before
    assert os.path.realpath(work.worktree) in worktree_paths(project) and Path(work.worktree).is_dir()
    assert branch_exists(project, work.branch)


def test_a_refusal_names_a_few_files_and_counts_the_rest(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    for name in ("README.md", "src/app.py", "gone.txt", "old_name.txt", "logo.bin"):
        write(project, name, "changed\n")
    with pytest.raises(ReviewError, match=r"and 2 more"):
        accept(project, work.branch, work.worktree, "Accept task t1")


def test_accept_refused_on_a_conflict_names_the_files_and_changes_nothing(project: Path) -> None:
    work = make_task(project, "t1", lambda root: (write(root, "README.md", "agent\n"),
                                                  write(root, "src/app.py", "agent\n")))
    write(project, "README.md", "developer\n")
    write(project, "src/app.py", "developer\n")
    git(project, "commit", "-q", "-am", "my conflicting work")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError) as err:
        accept(project, work.branch, work.worktree, "Accept task t1")
    message = str(err.value)
    assert message == ("merging cockpit/run1/t1 into main would conflict in README.md, src/app.py; "
                       "nothing was changed")
    assert checkout_snapshot(project) == before
    assert git(project, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False) == ""
    assert Path(work.worktree).is_dir() and branch_exists(project, work.branch)


def test_accept_refused_on_a_detached_head(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    git(project, "checkout", "-q", "--detach", "HEAD")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match="detached HEAD"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before
    assert Path(work.worktree).is_dir()


def test_accept_refused_when_the_branch_is_gone(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    git(project, "worktree", "remove", "--force", work.worktree)
    git(project, "branch", "-D", work.branch)
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match="cockpit/run1/t1 is gone"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before


def test_accept_refused_when_it_would_overwrite_an_untracked_file(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "notes.txt", "agent\n"))
    write(project, "notes.txt", "the developer's own notes\n")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match="overwrite untracked files in your checkout: notes.txt"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before


@pytest.mark.parametrize("parent", ["notes", "docs/notes"])
def test_accept_refused_when_a_folder_would_replace_an_ignored_file(project: Path, parent: str) -> None:
    """The user's file ``notes``, ignored by an uncommitted .gitignore; the task creates
    ``notes/todo.txt``: git would delete the file to make the folder, and git never stored it."""
    work = make_task(project, "t1", lambda root: write(root, f"{parent}/todo.txt", "agent\n"))
    write(project, ".gitignore", f"{parent}\n")
    write(project, parent, "the developer's own notes, in no commit\n")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match=f"overwrite untracked files in your checkout: {parent}"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before
    assert (project / parent).read_text() == "the developer's own notes, in no commit\n"


def test_accept_may_replace_a_tracked_file_by_a_folder(project: Path) -> None:
    """A file git holds is no user data at risk: the task removed it and made a folder there."""
    write(project, "notes", "tracked\n")
    git(project, "add", "notes")
    git(project, "commit", "-qm", "notes")

    def change(root: Path) -> None:
        (root / "notes").unlink()
        write(root, "notes/todo.txt", "agent\n")

    work = make_task(project, "t1", change)
    accept(project, work.branch, work.worktree, "Accept task t1")
    assert (project / "notes" / "todo.txt").read_text() == "agent\n"


def test_accept_refused_during_an_unfinished_merge(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    git(project, "checkout", "-q", "-b", "side")
    write(project, "README.md", "side\n")
    git(project, "commit", "-q", "-am", "side")
    git(project, "checkout", "-q", "main")
    write(project, "README.md", "main\n")
    git(project, "commit", "-q", "-am", "main")
    git(project, "merge", "side", check=False)  # stops on the conflict
    git(project, "checkout", "--theirs", "README.md")
    git(project, "add", "README.md")  # resolved, but not committed
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match="a merge is in progress"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before


def test_accept_refused_when_the_task_worktree_has_hand_edits(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    write(Path(work.worktree), "feature.txt", "fixed by hand after the task ended\n")
    before = checkout_snapshot(project)
    with pytest.raises(ReviewError, match="the task's worktree .* has uncommitted changes to feature.txt"):
        accept(project, work.branch, work.worktree, "Accept task t1")
    assert checkout_snapshot(project) == before
    assert (Path(work.worktree) / "feature.txt").read_text() == "fixed by hand after the task ended\n"
    git(work.worktree, "commit", "-q", "-am", "my fix")  # committed there, it is merged with the rest
    accept(project, work.branch, work.worktree, "Accept task t1")
    assert (project / "feature.txt").read_text() == "fixed by hand after the task ended\n"


def test_accept_never_removes_the_main_checkout(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    result = accept(project, work.branch, str(project), "Accept task t1")  # a wrong path given
    assert result.merge_commit is not None and not result.worktree_removed
    assert (project / "README.md").exists() and (project / "feature.txt").exists()


# ------------------------------------------------------------------------------------- discard
def test_discard_removes_the_worktree_and_the_branch(project: Path) -> None:
    work = make_task(project, "t1", a_bit_of_everything)
    before = checkout_snapshot(project)
    discard(project, work.branch, work.worktree)
    assert not branch_exists(project, work.branch)
    assert os.path.realpath(work.worktree) not in worktree_paths(project)
    assert not Path(work.worktree).exists()
    assert checkout_snapshot(project) == before  # the user's checkout is not touched


def test_discard_twice_is_harmless(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    discard(project, work.branch, work.worktree)
    discard(project, work.branch, work.worktree)
    assert not branch_exists(project, work.branch)


def test_discard_leaves_branches_that_are_not_the_cockpits_alone(project: Path) -> None:
    git(project, "branch", "feature")
    with pytest.raises(ReviewError, match="not a cockpit task branch"):
        discard(project, "feature", "")
    assert branch_exists(project, "feature")


def test_discard_refused_when_the_branch_is_checked_out_in_the_users_checkout(project: Path) -> None:
    work = make_task(project, "t1", lambda root: write(root, "feature.txt", "x\n"))
    git(project, "worktree", "remove", "--force", work.worktree)
    git(project, "checkout", "-q", work.branch)
    with pytest.raises(ReviewError, match="is checked out in"):
        discard(project, work.branch, work.worktree)
    assert branch_exists(project, work.branch)
    assert git(project, "branch", "--show-current") == work.branch


# ------------------------------------------------------------------------- on a live session
async def live_session(repo: Path, tmp_path: Path, *tasks: dict) -> LiveSession:
    store = await Store.open(tmp_path / "cockpit.db")
    session = await begin_session(store, repo, "review the work")
    engine = make_engine(plan_of(*tasks), repo, run_id="live")
    live = LiveSession(store, session, engine, None)
    await live.start()
    return live


async def ended(live: LiveSession, *task_ids: str) -> None:
    await eventually(lambda: all(live.engine.tasks[t].state.terminal and live.engine.tasks[t].last_result
                                 for t in task_ids), what="the tasks to end")


async def decision(live: LiveSession, task_id: str) -> tuple[str | None, str | None]:
    row = [t for t in await live.store.tasks(live.row.id) if t.key == task_id][-1]
    return row.decision, row.decision_reason


@pytest.fixture
async def lives():
    made: list[LiveSession] = []
    yield made
    for live in made:
        await live.end()
        await live.store.close()


async def test_live_accept_merges_and_records_the_decision(repo: Path, tmp_path: Path, lives) -> None:
    live = await live_session(repo, tmp_path, {"id": "a", "title": "Add a", "prompt": "echo a > a.txt"})
    lives.append(live)
    await ended(live, "a")
    result = await live.accept("a")
    assert result.outcome.merge_commit == git(repo, "rev-parse", "HEAD") and result.tasks == ("a",)
    assert (repo / "a.txt").read_text() == "a\n"
    subject = git(repo, "log", "-1", "--format=%s")
    assert subject == "Accept task a: Add a"
    assert await decision(live, "a") == ("accepted", "")
    with pytest.raises(CommandError, match="already accepted"):
        await live.accept("a")
    with pytest.raises(CommandError, match="already accepted"):
        await live.discard("a")


async def test_live_discard_records_the_reason(repo: Path, tmp_path: Path, lives) -> None:
    live = await live_session(repo, tmp_path, {"id": "a", "prompt": "echo a > a.txt"})
    lives.append(live)
    await ended(live, "a")
    branch = live.engine.tasks["a"].last_result.branch
    await live.discard("a", "  wrong approach  ")
    assert not branch_exists(repo, branch)
    assert await decision(live, "a") == ("discarded", "wrong approach")


async def test_live_refuses_tasks_that_have_not_ended_or_left_no_branch(repo: Path, tmp_path: Path, lives) -> None:
    gate = tmp_path / "gate"
    live = await live_session(
        repo, tmp_path,
        {"id": "slow", "prompt": f'while [ ! -e "{gate}" ]; do sleep 0.02; done'},
        {"id": "bad", "prompt": "exit 3"},
        {"id": "after", "prompt": "true", "depends_on": ["bad"]},
    )
    lives.append(live)
    await eventually(lambda: live.engine.tasks["slow"].state.value == "running", what="slow to run")
    with pytest.raises(CommandError, match="'slow' is running: only a task that has ended"):
        await live.accept("slow")
    with pytest.raises(CommandError, match="no task 'nope'"):
        await live.discard("nope")
    await ended(live, "bad")
    await eventually(lambda: live.engine.tasks["after"].state.terminal, what="after skipped")
    with pytest.raises(CommandError, match="'after' left no branch"):
        await live.accept("after")
    gate.touch()
    await ended(live, "slow")
    assert await decision(live, "slow") == (None, None)


async def test_live_refused_accept_records_nothing(repo: Path, tmp_path: Path, lives) -> None:
    live = await live_session(repo, tmp_path, {"id": "a", "prompt": "echo a > README.md"})
    lives.append(live)
    await ended(live, "a")
    write(repo, "README.md", "mine\n")
    before = checkout_snapshot(repo)
    with pytest.raises(ReviewError, match="uncommitted changes to README.md"):
        await live.accept("a")
    assert checkout_snapshot(repo) == before
    assert await decision(live, "a") == (None, None)


async def test_two_accepts_at_once_merge_once(repo: Path, tmp_path: Path, lives) -> None:
    live = await live_session(repo, tmp_path, {"id": "a", "prompt": "echo a > a.txt"})
    lives.append(live)
    await ended(live, "a")
    first, second = await asyncio.gather(live.accept("a"), live.accept("a"), return_exceptions=True)
    outcomes = sorted([type(first).__name__, type(second).__name__])
    assert outcomes == ["Accepted", "CommandError"]
    assert git(repo, "rev-list", "--count", "--merges", "HEAD") == "1"
