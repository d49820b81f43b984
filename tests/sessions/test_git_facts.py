"""sessions.git.facts against real repositories built with the git command line in tmp_path."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import git
import pytest

from sessions.git.facts import (
    CommitFact,
    FileChange,
    GitFactsError,
    RepoInfo,
    files_changed,
    head_commit,
    repo_info,
    session_commits,
)

ODD_NAME = 'dir with space/ünï cödé "quoted"\ttab.txt'
BINARY_V1 = bytes(range(256)) * 4  # contains NULs
BINARY_V2 = b"\x00\x01changed\x00" * 50


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config, fixed identities: tests run the same on any machine."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test Author")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)


def run(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return result.stdout.strip()


def init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run(path, "init", "-q", "-b", "main")
    run(path, "config", "core.fileMode", "true")
    return path


def write(repo: Path, name: str, content: str | bytes) -> None:
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")


def commit(repo: Path, message: str, date: str | None = None) -> str:
    run(repo, "add", "-A")
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else None
    run(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return run(repo, "rev-parse", "HEAD")


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def move(repo: Path, old: str, new: str) -> None:
    (repo / new).parent.mkdir(parents=True, exist_ok=True)
    (repo / old).rename(repo / new)


def by_path(changes: list[FileChange]) -> dict[str, FileChange]:
    return {c.path: c for c in changes}


# --------------------------------------------------------------------------- files_changed


@pytest.fixture
def history(tmp_path: Path) -> dict[str, object]:
    """c1: a base; c2: every kind of change; c3: the binary file changed."""
    repo = init(tmp_path / "repo")
    write(repo, "keep.txt", lines(5))
    write(repo, "gone.txt", lines(3))
    write(repo, "old/name.py", lines(20))
    write(repo, "run.sh", "echo hi\n")
    c1 = commit(repo, "base")

    write(repo, "keep.txt", lines(5).replace("line 2\n", "line two\n") + "line 6\n")  # +2 -1
    (repo / "gone.txt").unlink()
    move(repo, "old/name.py", "new/name.py")
    write(repo, "new/name.py", lines(20).replace("line 7\n", "line seven\n"))  # rename, +1 -1
    (repo / "run.sh").chmod(0o755)  # mode only
    write(repo, ODD_NAME, "odd\nname\n")
    write(repo, "blob.bin", BINARY_V1)
    c2 = commit(repo, "everything")

    write(repo, "blob.bin", BINARY_V2)
    c3 = commit(repo, "binary changed")
    return {"repo": repo, "c1": c1, "c2": c2, "c3": c3}


def test_files_changed_every_kind_of_change(history: dict[str, object]) -> None:
    repo, c1, c2 = history["repo"], history["c1"], history["c2"]
    changes = files_changed(repo, c1, c2)

    assert [c.path for c in changes] == sorted(c.path for c in changes)
    table = by_path(changes)
    assert set(table) == {"keep.txt", "gone.txt", "new/name.py", "run.sh", ODD_NAME, "blob.bin"}

    assert table["keep.txt"] == FileChange("keep.txt", "modified", None, 2, 1, False)
    assert table["gone.txt"] == FileChange("gone.txt", "deleted", None, 0, 3, False)
    assert table["new/name.py"] == FileChange("new/name.py", "renamed", "old/name.py", 1, 1, False)
    assert table["run.sh"] == FileChange("run.sh", "modified", None, 0, 0, False)
    assert table[ODD_NAME] == FileChange(ODD_NAME, "created", None, 2, 0, False)
    assert table["blob.bin"] == FileChange("blob.bin", "created", None, None, None, True)


def test_files_changed_binary_modified(history: dict[str, object]) -> None:
    changes = files_changed(history["repo"], history["c2"], history["c3"])
    assert changes == [FileChange("blob.bin", "modified", None, None, None, True)]


def test_files_changed_spans_several_commits_as_one_tree_diff(history: dict[str, object]) -> None:
    table = by_path(files_changed(history["repo"], history["c1"], history["c3"]))
    assert table["blob.bin"].change == "created"  # net effect of the range, not per commit
    assert table["blob.bin"].binary


def test_files_changed_accepts_refs_and_an_open_repo(history: dict[str, object]) -> None:
    with git.Repo(history["repo"]) as repo:
        assert files_changed(repo, "HEAD~1", "HEAD") == files_changed(
            history["repo"], history["c2"], history["c3"]
        )
        # still usable afterwards: a Repo the caller passed in is not closed
        assert repo.head.commit.hexsha == history["c3"]


def test_files_changed_from_the_empty_tree(history: dict[str, object]) -> None:
    table = by_path(files_changed(history["repo"], None, history["c1"]))
    assert set(table) == {"keep.txt", "gone.txt", "old/name.py", "run.sh"}
    assert all(c.change == "created" and c.old_path is None for c in table.values())
    assert table["old/name.py"].added == 20 and table["old/name.py"].removed == 0


def test_files_changed_same_commit_is_empty(history: dict[str, object]) -> None:
    c2 = history["c2"]
    assert files_changed(history["repo"], c2, c2) == []
    assert files_changed(history["repo"], "HEAD", history["c3"]) == []


def test_files_changed_unknown_revision(history: dict[str, object]) -> None:
    with pytest.raises(GitFactsError) as err:
        files_changed(history["repo"], "no-such-branch", "HEAD")
    message = str(err.value)
    assert "unknown revision 'no-such-branch'" in message
    assert "\n" not in message
    with pytest.raises(GitFactsError, match="unknown revision 'deadbeef'"):
        files_changed(history["repo"], history["c1"], "deadbeef")
    with pytest.raises(GitFactsError, match="unknown revision '--output=x'"):
        files_changed(history["repo"], "--output=x", "HEAD")  # never taken as an option


def test_files_changed_rename_without_edits(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    write(repo, "a.txt", lines(10))
    c1 = commit(repo, "a")
    move(repo, "a.txt", "sub dir/b ü.txt")
    c2 = commit(repo, "moved")
    assert files_changed(repo, c1, c2) == [FileChange("sub dir/b ü.txt", "renamed", "a.txt", 0, 0, False)]


def test_files_changed_newline_in_path(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    c1 = commit(repo, "empty")
    write(repo, "two\nlines.txt", "x\n")
    c2 = commit(repo, "odd")
    assert files_changed(repo, c1, c2) == [FileChange("two\nlines.txt", "created", None, 1, 0, False)]


# --------------------------------------------------------------------------- session_commits


def test_session_commits_first_parent_oldest_first(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    write(repo, "base.txt", lines(3))
    c1 = commit(repo, "base", date="2024-05-01T10:00:00+02:00")

    run(repo, "checkout", "-q", "-b", "side")
    write(repo, "side.txt", lines(4))
    s1 = commit(repo, "side one", date="2024-05-01T11:00:00+02:00")
    write(repo, "side.txt", lines(4) + "more\n")
    s2 = commit(repo, "side two", date="2024-05-01T12:00:00+02:00")

    run(repo, "checkout", "-q", "main")
    write(repo, "base.txt", lines(3).replace("line 1\n", "first\n"))
    c2 = commit(repo, "main change", date="2024-05-01T13:00:00-05:00")
    run(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side",
        env={"GIT_AUTHOR_DATE": "2024-05-01T14:00:00+00:00", "GIT_COMMITTER_DATE": "2024-05-01T14:00:00+00:00"})
    merge = run(repo, "rev-parse", "HEAD")

    facts = session_commits(repo, c1, "main")
    assert [f.sha for f in facts] == [c2, merge]
    assert s1 not in {f.sha for f in facts} and s2 not in {f.sha for f in facts}

    main_change, merged = facts
    assert main_change == CommitFact(
        sha=c2,
        short=main_change.short,
        author="Test Author",
        authored_at=datetime(2024, 5, 1, 13, 0, tzinfo=timezone(timedelta(hours=-5))),
        subject="main change",
        added=1,
        removed=1,
    )
    assert c2.startswith(main_change.short) and 4 <= len(main_change.short) < 40
    assert main_change.authored_at.utcoffset() == timedelta(hours=-5)
    # The merge stands for the side branch: the 5 lines it brought into the mainline.
    assert (merged.subject, merged.added, merged.removed) == ("merge side", 5, 0)

    # From the root: the root commit is included and counted against the empty tree.
    from_root = session_commits(repo, None, merge)
    assert [f.sha for f in from_root] == [c1, c2, merge]
    assert (from_root[0].added, from_root[0].removed) == (3, 0)

    assert session_commits(repo, merge, merge) == []


def test_session_commits_binary_and_odd_subject(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    c1 = commit(repo, "empty")
    write(repo, "b.bin", BINARY_V1)
    write(repo, "t.txt", "a\nb\n")
    subject = 'fix: "quotes" | pipes \x1f and ünïcode'
    c2 = commit(repo, subject)
    [fact] = session_commits(repo, c1, c2)
    assert fact.subject == subject
    assert (fact.added, fact.removed) == (2, 0)  # the binary file counts no lines


def test_session_commits_unknown_revision(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    commit(repo, "one")
    with pytest.raises(GitFactsError, match="unknown revision 'nope'"):
        session_commits(repo, "nope", "HEAD")


# --------------------------------------------------------------------------- repo_info


def test_repo_info_from_a_subfolder(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    write(repo, "a/b/c.txt", "x\n")
    sha = commit(repo, "one")
    info = repo_info(repo / "a" / "b")
    assert info == RepoInfo(root=str(repo.resolve()), head=sha, branch="main", dirty=False)
    assert head_commit(repo / "a") == sha


def test_repo_info_detached_head(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    first = commit(repo, "one")
    commit(repo, "two")
    run(repo, "checkout", "-q", "--detach", first)
    info = repo_info(repo)
    assert (info.head, info.branch, info.dirty) == (first, None, False)


def test_repo_info_unborn_branch(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    assert repo_info(repo) == RepoInfo(root=str(repo.resolve()), head=None, branch="main", dirty=False)
    assert head_commit(repo) is None
    write(repo, "a.txt", "x\n")
    assert repo_info(repo).dirty is False  # untracked only
    run(repo, "add", "a.txt")
    assert repo_info(repo).dirty is True  # staged on an unborn branch


def test_repo_info_dirty_rules(tmp_path: Path) -> None:
    """Tracked changes, staged or not, are dirty; untracked files alone are not."""
    repo = init(tmp_path / "r")
    write(repo, "a.txt", "x\n")
    write(repo, "b.txt", "y\n")
    commit(repo, "one")
    assert repo_info(repo).dirty is False

    write(repo, "scratch.txt", "untracked\n")
    assert repo_info(repo).dirty is False

    write(repo, "a.txt", "changed\n")
    assert repo_info(repo).dirty is True
    run(repo, "checkout", "--", "a.txt")
    assert repo_info(repo).dirty is False

    write(repo, "b.txt", "staged\n")
    run(repo, "add", "b.txt")
    assert repo_info(repo).dirty is True
    run(repo, "reset", "-q", "--hard")

    (repo / "a.txt").unlink()
    assert repo_info(repo).dirty is True


def test_repo_info_in_a_linked_worktree(tmp_path: Path) -> None:
    repo = init(tmp_path / "r")
    write(repo, "a.txt", "x\n")
    base = commit(repo, "one")
    tree = tmp_path / "wt"
    run(repo, "worktree", "add", "-q", "-b", "cockpit/s1/t1", str(tree))
    write(tree, "a.txt", "y\n")
    assert repo_info(tree) == RepoInfo(str(tree.resolve()), base, "cockpit/s1/t1", True)
    assert repo_info(repo).dirty is False  # the main checkout is untouched
    tip = commit(tree, "agent work")
    assert files_changed(tree, base, tip) == [FileChange("a.txt", "modified", None, 1, 1, False)]
    assert [f.subject for f in session_commits(repo, base, "cockpit/s1/t1")] == ["agent work"]


def test_repo_info_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    # tmp_path is not inside a repository, but make sure (a CI checkout could hold it).
    if subprocess.run(["git", "-C", str(plain), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("tmp_path lies inside a git repository")
    with pytest.raises(GitFactsError) as err:
        repo_info(plain)
    assert str(err.value) == f"{plain} is not a git repository"
    with pytest.raises(GitFactsError, match="is not a git repository"):
        head_commit(plain)
    with pytest.raises(GitFactsError, match="is not a git repository"):
        files_changed(plain, None, "HEAD")
    with pytest.raises(GitFactsError, match="does not exist"):
        repo_info(tmp_path / "missing")


# --------------------------------------------------------------------------- no leaked processes


def _cat_file_children() -> list[str]:
    """Command lines of this process's children that run `git cat-file`."""
    found = []
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = next((l.split()[1] for l in status.splitlines() if l.startswith("PPid:")), None)
        if ppid == me and "cat-file" in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_no_git_cat_file_process_is_left(history: dict[str, object]) -> None:
    repo_path = history["repo"]
    assert _cat_file_children() == []

    # The check itself works: a Repo that reads an object keeps a cat-file child until closed.
    leaky = git.Repo(repo_path)
    assert leaky.head.commit.message
    assert _cat_file_children() != []
    leaky.close()
    assert _cat_file_children() == []

    repo_info(repo_path)
    head_commit(repo_path)
    session_commits(repo_path, None, "HEAD")
    files_changed(repo_path, None, "HEAD")
    files_changed(repo_path, history["c1"], history["c2"])
    with pytest.raises(GitFactsError):
        files_changed(repo_path, "nope", "HEAD")
    with pytest.raises(GitFactsError):
        repo_info(repo_path.parent)
    assert _cat_file_children() == []


def test_mode_is_really_executable(history: dict[str, object]) -> None:
    """Guards the mode-change case above: the file system kept the executable bit."""
    mode = (history["repo"] / "run.sh").stat().st_mode
    assert mode & stat.S_IXUSR
