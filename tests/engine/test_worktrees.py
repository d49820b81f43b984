"""Worktrees: one per task, outside the checkout, on its own branch; the user's checkout untouched."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.helpers.events import make_engine, plan_of, Recorder
from tests.helpers.repos import checkout_snapshot, git
from engine.errors import RepoError
from engine.events import FileStat, RunStarted, TaskResult
from engine.profiles import ProfileSet
from engine.states import TaskState
from engine.git_output import parse_numstat_z
from engine.worktrees import (
    FALLBACK_EMAIL, FALLBACK_NAME, WorktreeManager, branch_name, default_worktree_root, open_repo,
    index_lock, repo_root, resolve_commit, stale_worktrees,
)

S = TaskState


def is_inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


async def test_each_task_runs_in_its_own_worktree_on_its_own_branch(repo: Path, worktrees_dir: Path, runner) -> None:
    script = "pwd; git branch --show-current; git rev-parse --show-toplevel"
    plan = plan_of({"id": "a", "prompt": script}, {"id": "b", "prompt": script})
    states, rec = await runner.run(make_engine(plan, repo, run_id="run-1"))
    assert states == {"a": S.SUCCEEDED, "b": S.SUCCEEDED}
    listed = git(repo, "worktree", "list", "--porcelain")
    paths = set()
    for task in ("a", "b"):
        result = rec.result(task)
        assert result.branch == branch_name("run-1", task) == f"cockpit/run-1/{task}"
        pwd, branch, top = rec.lines(task, "stdout")
        assert Path(pwd).resolve() == Path(result.worktree).resolve() == Path(top).resolve()
        assert branch == result.branch
        assert not is_inside(result.worktree, repo)  # outside the user's checkout
        assert is_inside(result.worktree, worktrees_dir)
        assert is_inside(result.worktree, default_worktree_root(repo) / "run-1")
        assert f"worktree {Path(result.worktree).resolve()}" in listed or f"worktree {result.worktree}" in listed
        assert git(repo, "rev-parse", result.branch) == result.head_commit == result.start_commit
        assert f"worktree {result.worktree} on branch {result.branch}" in rec.lines(task, "engine")
        paths.add(result.worktree)
    assert len(paths) == 2


async def test_dependent_starts_with_both_results_merged(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "a", "prompt": "echo 'from a' > a.txt"},
        {"id": "b", "prompt": "mkdir -p sub && echo 'from b' > sub/b.txt"},
        {"id": "c", "prompt": "cat a.txt sub/b.txt; echo c > c.txt", "depends_on": ["a", "b"]},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert set(states.values()) == {S.SUCCEEDED}
    assert rec.lines("c", "stdout") == ["from a", "from b"]
    c = rec.result("c")
    for dep in ("a", "b"):  # the start of c holds both results
        git(repo, "merge-base", "--is-ancestor", rec.result(dep).head_commit, c.start_commit)  # fails if not
    tree = git(repo, "ls-tree", "-r", "--name-only", c.branch).splitlines()
    assert sorted(tree) == ["README.md", "a.txt", "c.txt", "sub/b.txt"]
    assert c.files == (FileStat("c.txt", 1, 0),)  # only its own work counts


async def test_conflicting_dependencies_fail_the_task_naming_the_dependency(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "a", "prompt": "echo A > shared.txt"},
        {"id": "b", "prompt": "echo B > shared.txt"},
        {"id": "c", "prompt": "echo never", "depends_on": ["a", "b"]},
        {"id": "d", "prompt": "true", "depends_on": ["c"]},
    )
    engine = make_engine(plan, repo, run_id="conflict")
    states, rec = await runner.run(engine)
    assert states == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.FAILED, "d": S.SKIPPED}
    assert rec.states("c") == [S.READY, S.FAILED]
    (failed,) = [e for e in rec.transitions("c") if e.new is S.FAILED]
    assert failed.reason == "merging the result of 'b' conflicts with what came before (in shared.txt)"
    # the half-made worktree and its branch are gone, so that a retry can start afresh
    assert not (default_worktree_root(repo) / "conflict" / "c").exists()
    assert git(repo, "branch", "--list", "cockpit/conflict/c") == ""
    assert git(repo, "status", "--porcelain") == ""


async def test_retry_after_a_dependency_conflict_starts_afresh(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "a", "prompt": "echo A > shared.txt"},
        {"id": "b", "prompt": "echo B > shared.txt"},
        {"id": "c", "prompt": "echo never", "depends_on": ["a", "b"]},
    )
    engine = make_engine(plan, repo, run_id="again")
    task, rec = runner.start(engine, stay_open=True)
    await rec.wait_state("c", S.FAILED)
    engine.retry("c")
    await rec.wait_for(lambda e: getattr(e, "task_id", None) == "c" and getattr(e, "new", None) is S.FAILED
                       and e is not rec.transitions("c")[1], what="the second failure of c")
    failures = [e for e in rec.transitions("c") if e.new is S.FAILED]
    assert len(failures) == 2
    assert all("conflicts" in e.reason for e in failures)  # the same clear reason, not "branch exists"
    engine.close()
    await task


async def test_leftover_changes_are_committed_on_the_task_branch(repo_factory, runner) -> None:
    repo = repo_factory("repo", {"README.md": "hello\nworld\n", "old.txt": "1\n2\n3\n", "logo.bin": "x"})
    script = (
        "printf 'one\\ntwo\\nthree\\n' > new.txt; rm old.txt; echo more >> README.md; "
        "printf '\\000\\001\\002' > logo.bin; git mv README.md README.txt"
    )
    plan = plan_of({"id": "work", "prompt": script}, {"id": "same", "prompt": "echo no changes"})
    states, rec = await runner.run(make_engine(plan, repo, run_id="r"))
    assert states == {"work": S.SUCCEEDED, "same": S.SUCCEEDED}
    result = rec.result("work")
    assert result.head_commit != result.start_commit
    assert git(repo, "rev-parse", result.branch) == result.head_commit
    assert git(repo, "log", "-1", "--format=%s", result.branch) == "cockpit: work left by task work (attempt 1, succeeded)"
    assert git(Path(result.worktree), "status", "--porcelain") == ""
    files = {f.path: (f.added, f.removed) for f in result.files}
    assert files == {"README.txt": (1, 0), "new.txt": (3, 0), "old.txt": (0, 3), "logo.bin": (None, None)}
    assert (result.added, result.removed) == (4, 3)
    same = rec.result("same")
    assert same.head_commit == same.start_commit and same.files == ()


async def test_agent_commits_and_failed_attempts_count_too(repo: Path, runner) -> None:
    plan = plan_of(
        {"id": "own", "prompt": "echo a > a.txt; git add a.txt; git commit -q -m 'agent commit'; echo b > b.txt"},
        {"id": "bad", "prompt": "echo partial > partial.txt; exit 1"},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    own = rec.result("own")
    assert git(repo, "log", "--format=%s", f"{own.start_commit}..{own.branch}").splitlines() == [
        "cockpit: work left by task own (attempt 1, succeeded)", "agent commit",
    ]
    assert {f.path for f in own.files} == {"a.txt", "b.txt"}
    bad = rec.result("bad")
    assert states["bad"] is S.FAILED and bad.state is S.FAILED
    assert [f.path for f in bad.files] == ["partial.txt"]
    assert "(attempt 1, failed)" in git(repo, "log", "-1", "--format=%s", bad.branch)


async def test_users_checkout_is_untouched(repo_factory, runner) -> None:
    repo = repo_factory("repo", {"README.md": "hello\n", "src/app.py": "print('v1')\n", ".gitignore": "*.log\n"})
    git(repo, "checkout", "-q", "-b", "my-work")
    # the user's own uncommitted work: modified, staged, untracked, ignored
    (repo / "README.md").write_text("hello\nmy local edit\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "debug.log").write_text("ignored\n")
    before = checkout_snapshot(repo)
    plan = plan_of(
        {"id": "a", "prompt": "cat README.md; ls; echo changed > README.md; echo new > src/new.py; "
                              "git add -A; git commit -q -m work"},
        {"id": "b", "prompt": "rm src/app.py; echo x > notes.txt", "depends_on": ["a"]},
    )
    states, rec = await runner.run(make_engine(plan, repo))
    assert set(states.values()) == {S.SUCCEEDED}
    # the task started from the commit, not from the user's uncommitted changes
    assert rec.lines("a", "stdout")[:1] == ["hello"]
    assert "staged.txt" not in rec.lines("a", "stdout") and "notes.txt" not in rec.lines("a", "stdout")
    after = checkout_snapshot(repo)
    assert after == before
    assert after["branch"] == "my-work"


async def test_base_branch_of_the_plan_is_honoured(repo: Path, runner) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.txt").write_text("feature\n")
    git(repo, "add", "feature.txt")
    git(repo, "commit", "-q", "-m", "feature")
    feature = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    git(repo, "tag", "v1", feature)
    plan = plan_of({"id": "t", "prompt": "cat feature.txt"}, base="feature")
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": S.SUCCEEDED}
    assert rec.lines("t", "stdout") == ["feature"]
    assert rec.of(RunStarted)[0].base_commit == feature
    assert rec.result("t").start_commit == feature
    assert git(repo, "branch", "--show-current") == "main"
    for rev in ("v1", feature[:10], "feature~0"):
        assert resolve_commit(repo, rev) == feature


async def test_unknown_base_gives_a_repo_error(repo: Path) -> None:
    engine = make_engine(plan_of({"id": "t", "prompt": "true"}, base="no-such-branch"), repo)
    recorder = Recorder(engine.bus)
    with pytest.raises(RepoError) as info:
        await asyncio.wait_for(engine.run(), 30)
    assert str(info.value) == f"{repo}: base 'no-such-branch' is not a branch, tag or commit of this repository"
    await recorder.finished()  # consumers learn the run is over instead of waiting for ever
    assert recorder.events == []
    await recorder.aclose()


async def test_repository_without_commits(repo_factory) -> None:
    empty = repo_factory("empty", commit=False)
    with pytest.raises(RepoError, match="has no commits yet; make a first commit"):
        resolve_commit(empty, None)
    engine = make_engine(plan_of({"id": "t", "prompt": "true"}), empty)
    with pytest.raises(RepoError) as info:
        await asyncio.wait_for(engine.run(), 30)
    assert str(info.value) == f"{empty}: the repository has no commits yet; make a first commit"


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    if git(plain, "rev-parse", "--git-dir", check=False):
        pytest.skip("the temporary folder is itself inside a git repository")
    with pytest.raises(RepoError, match="not inside a git repository"):
        open_repo(plain)
    with pytest.raises(RepoError, match="no such folder"):
        open_repo(tmp_path / "missing")


def test_repo_root_from_a_subfolder(repo: Path) -> None:
    (repo / "deep" / "er").mkdir(parents=True)
    assert repo_root(repo / "deep" / "er").resolve() == repo.resolve()


async def test_copy_files_are_copied_but_not_committed(repo: Path, runner) -> None:
    (repo / ".env").write_text("SECRET=1\n")  # untracked, not ignored: the worst case
    (repo / "config").mkdir()
    (repo / "config" / "local.json").write_text("{}\n")
    profiles = ProfileSet()
    profiles.profiles["envy"] = profiles["shell"].with_changes(
        name="envy", copy_files=(".env", "config/local.json", "absent.txt"),
    )
    plan = plan_of({"id": "t", "agent": "envy", "prompt": "cat .env; echo work > out.txt"}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"t": S.SUCCEEDED}
    assert rec.lines("t", "stdout") == ["SECRET=1"]
    assert "copied .env, config/local.json" in rec.lines("t", "engine")
    result = rec.result("t")
    assert sorted(git(repo, "ls-tree", "-r", "--name-only", result.branch).splitlines()) == ["README.md", "out.txt"]
    assert result.files == (FileStat("out.txt", 1, 0),)
    assert (Path(result.worktree) / ".env").read_text() == "SECRET=1\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        "?? .env", "?? config/local.json",
    ]


async def test_stale_worktrees_of_an_earlier_run_are_reported_not_deleted(repo: Path, runner) -> None:
    plan = plan_of({"id": "a", "prompt": "echo a > a.txt"}, {"id": "b", "prompt": "true"})
    await runner.run(make_engine(plan, repo, run_id="old-run"))
    stale = stale_worktrees(repo, current_run="new-run")
    assert sorted((s.run_id, s.branch, s.exists) for s in stale) == [
        ("old-run", "cockpit/old-run/a", True), ("old-run", "cockpit/old-run/b", True),
    ]
    for s in stale:
        assert Path(s.path).is_dir()
    assert stale_worktrees(repo, current_run="old-run") == []
    assert len(stale_worktrees(repo)) == 2  # reporting twice deletes nothing
    assert git(repo, "show", "cockpit/old-run/a:a.txt") == "a"


async def test_the_run_counts_stale_worktrees_in_one_line_with_the_command(repo: Path, runner, tmp_path: Path) -> None:
    from sessions.launch import prepare

    plan = plan_of(*({"id": f"t{i}", "prompt": "true"} for i in range(5)))
    await runner.run(make_engine(plan, repo, run_id="old-run"))
    (tmp_path / "plan.toml").write_text('[[task]]\nid = "new"\nagent = "shell"\nprompt = "true"\n')
    notes: list[str] = []
    prepare(tmp_path / "plan.toml", str(repo), None, notes.append, db=tmp_path / "cockpit.db")
    assert notes == ["5 worktrees of earlier runs still here: cockpit clean lists them and removes those of "
                     "decided tasks"]
    assert len(stale_worktrees(repo)) == 5  # still all there


def test_a_removed_worktree_folder_is_reported_as_missing(repo: Path) -> None:
    mgr = WorktreeManager(repo, "r9")
    wt = mgr.create("t", git(repo, "rev-parse", "HEAD"), [])
    shutil.rmtree(wt.path)
    (stale,) = stale_worktrees(repo)
    assert (stale.branch, stale.run_id, stale.exists) == ("cockpit/r9/t", "r9", False)


def test_manager_remove_deletes_worktree_and_branch(repo: Path) -> None:
    mgr = WorktreeManager(repo, "r2")
    wt = mgr.create("t", git(repo, "rev-parse", "HEAD"), [])
    assert Path(wt.path).is_dir() and git(repo, "branch", "--list", wt.branch)
    mgr.remove(wt.path, wt.branch, delete_branch=True)
    assert not Path(wt.path).exists()
    assert git(repo, "branch", "--list", wt.branch) == ""
    assert stale_worktrees(repo) == []


async def test_fallback_identity_when_none_is_configured(repo: Path, tmp_path: Path, runner,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/.gitconfig (GitPython reads it directly)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME")
        monkeypatch.delenv(f"GIT_{who}_EMAIL")
    states, rec = await runner.run(make_engine(plan_of({"id": "t", "prompt": "echo x > x.txt"}), repo))
    assert states == {"t": S.SUCCEEDED}
    branch = rec.result("t").branch
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch) == (
        f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>|{FALLBACK_NAME} <{FALLBACK_EMAIL}>"
    )


def test_parse_numstat_z() -> None:
    out = "3\t1\tplain.txt\0-\t-\timage.png\0" + "2\t0\t\0old name.txt\0new name.txt\0" + "0\t0\tweird\ttab.txt\0"
    assert parse_numstat_z(out) == (
        FileStat("plain.txt", 3, 1), FileStat("image.png", None, None), FileStat("new name.txt", 2, 0),
        FileStat("weird\ttab.txt", 0, 0),
    )
    assert parse_numstat_z("") == ()


def test_worktree_root_follows_cockpit_worktrees(repo: Path, worktrees_dir: Path, monkeypatch) -> None:
    root = default_worktree_root(repo)
    assert root.parent == worktrees_dir and root.name.startswith("repo-")
    other = worktrees_dir.parent / "elsewhere"
    monkeypatch.setenv("COCKPIT_WORKTREES", str(other))
    assert default_worktree_root(repo).parent == other
    assert default_worktree_root(repo).name == root.name  # stable per repository


def test_the_user_s_checkout_on_a_cockpit_branch_is_no_leftover(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "cockpit/x")  # e.g. a task branch checked out to try it
    assert stale_worktrees(repo) == []
    git(repo, "checkout", "-q", "-b", "cockpit/run/task")
    assert stale_worktrees(repo) == []


def test_a_locked_index_in_a_leftover_worktree_is_reported(repo: Path) -> None:
    mgr = WorktreeManager(repo, "r3")
    wt = mgr.create("t", git(repo, "rev-parse", "HEAD"), [])
    assert index_lock(wt.path) is None
    lock = Path(git(wt.path, "rev-parse", "--absolute-git-dir")) / "index.lock"
    lock.touch()  # a commit cut short (the cockpit killed during it) leaves this
    (stale,) = stale_worktrees(repo)
    assert stale.index_lock == str(lock)


async def test_an_index_lock_the_agent_s_git_left_is_removed_before_the_leftover_commit(repo: Path, runner) -> None:
    plan = plan_of({"id": "t", "prompt": 'echo work > work.txt; touch "$(git rev-parse --git-dir)/index.lock"'})
    states, rec = await runner.run(make_engine(plan, repo))
    assert states == {"t": TaskState.SUCCEEDED}
    assert any("index.lock, left by a git command of the agent" in line for line in rec.lines("t", "engine"))
    result = rec.of(TaskResult)[-1]
    assert "work.txt" in git(repo, "ls-tree", "-r", "--name-only", result.head_commit).split()


def test_a_branch_named_cockpit_is_one_clear_line(repo: Path, db: str, capsys) -> None:
    from tests.helpers.cli import cli

    git(repo, "branch", "cockpit")
    (repo / "plan.toml").write_text('[[task]]\nid = "t"\nagent = "shell"\nprompt = "true"\n')
    code, out, err = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "branch named 'cockpit'" in err and "git branch -m cockpit" in err
