"""Facts read from a git repository: where HEAD is, what a session committed, which files changed.

Every function here blocks (it runs ``git`` subprocesses); callers in async code run them in a
thread. Each call opens the repository, asks git through plain ``repo.git.<cmd>`` subprocesses
(plumbing where one exists) and closes the repository again, so no long-lived
``git cat-file --batch`` process is left behind.

Rules worth knowing:

* ``RepoInfo.dirty`` is True when a *tracked* file differs from HEAD, in the index or in the
  work tree (staged or not; changed submodules count). Untracked files alone do **not** make a
  checkout dirty: they do not stop a merge and agents often leave scratch files about.
* ``session_commits`` follows first parents only: the commits of a merged side branch are not
  listed; the merge commit stands for them, with the lines it brought in (diff to its first
  parent).
* ``files_changed`` compares two trees with rename detection (``-M``): the net change of the
  range, not the sum of its commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import git
from git.exc import GitCommandNotFound, InvalidGitRepositoryError, NoSuchPathError

from engine.git_output import CHANGE_KINDS, GitOutputError, parse_numstat_z, parse_raw_numstat_z, stderr_line

__all__ = [
    "CommitFact",
    "FileChange",
    "GitFactsError",
    "RepoInfo",
    "files_changed",
    "head_commit",
    "repo_info",
    "session_commits",
]

# Reading commands must not take index.lock (git status refreshes the index otherwise), so a
# cockpit looking at a checkout never collides with an agent or the user running git there.
_READ_ENV = {"GIT_OPTIONAL_LOCKS": "0"}

# Separators for `git log --format`: ASCII record and unit separators never occur in a sha,
# a date or (in practice) a name; the subject comes last so it may contain anything but a newline.
_RS = "\x1e"
_US = "\x1f"


class GitFactsError(Exception):
    """A git fact could not be read. ``str(err)`` is one line meant for the user."""


@dataclass(frozen=True)
class RepoInfo:
    root: str  # top of the work tree (the git dir for a bare repository)
    head: str | None  # full sha; None on an unborn branch
    branch: str | None  # short name; None when HEAD is detached
    dirty: bool  # tracked changes, staged or not; untracked files alone are not dirty


@dataclass(frozen=True)
class CommitFact:
    sha: str
    short: str
    author: str
    authored_at: datetime  # timezone-aware, in the author's own offset
    subject: str
    added: int  # lines, against the first parent (binary files count 0)
    removed: int


@dataclass(frozen=True)
class FileChange:
    path: str  # the new path for a rename
    change: str  # "created" | "modified" | "deleted" | "renamed"
    old_path: str | None  # the path before a rename, else None
    added: int | None  # None for a binary file
    removed: int | None
    binary: bool


# --------------------------------------------------------------------------- plumbing


@contextmanager
def _opened(repo: git.Repo | str | os.PathLike[str]) -> Iterator[git.Repo]:
    """Yield a Repo; one we open here is closed on the way out, a caller's Repo is left open."""
    if isinstance(repo, git.Repo):
        yield repo
        return
    path = os.fspath(repo)
    try:
        opened = git.Repo(path, search_parent_directories=True)
    except NoSuchPathError:
        raise GitFactsError(f"{path} does not exist") from None
    except InvalidGitRepositoryError:
        raise GitFactsError(f"{path} is not a git repository") from None
    except GitCommandNotFound:
        raise GitFactsError("git is not installed or not on PATH") from None
    with opened:
        yield opened


def _where(repo: git.Repo) -> str:
    return repo.working_tree_dir or repo.git_dir


def _git(repo: git.Repo, cmd: str, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """Run ``git <cmd> args`` in the repo; return (status, stdout) or raise a one-line error."""
    try:
        status, out, err = getattr(repo.git, cmd.replace("-", "_"))(
            *args,
            env=_READ_ENV,
            with_extended_output=True,
            with_exceptions=False,
            strip_newline_in_stdout=False,
        )
    except GitCommandNotFound:
        raise GitFactsError("git is not installed or not on PATH") from None
    if status not in ok:
        raise GitFactsError(stderr_line(err) or f"git {cmd} failed in {_where(repo)} (exit {status})")
    return status, out


def _resolve(repo: git.Repo, rev: str) -> str:
    """Full sha of the commit ``rev`` names, or a GitFactsError naming the revision."""
    if not isinstance(rev, str) or not rev or rev.startswith("-"):
        raise GitFactsError(f"unknown revision {rev!r} in {_where(repo)}")
    status, out = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok=(0, 1))
    sha = out.strip()
    if status != 0 or not sha:
        raise GitFactsError(f"unknown revision {rev!r} in {_where(repo)}")
    return sha


def _empty_tree(repo: git.Repo) -> str:
    # Asked of git rather than hard-coded (4b825dc…) so SHA-256 repositories work too.
    return _git(repo, "hash-object", "-t", "tree", os.devnull)[1].strip()


# --------------------------------------------------------------------------- repository


def repo_info(path: str | os.PathLike[str]) -> RepoInfo:
    """Where the repository containing ``path`` is, its HEAD, branch and whether it is dirty."""
    with _opened(path) as repo:
        if repo.bare:
            return RepoInfo(root=repo.git_dir, head=_head(repo), branch=_branch(repo), dirty=False)
        root = _git(repo, "rev-parse", "--show-toplevel")[1].strip() or _where(repo)
        # One status call gives HEAD and the tracked changes; with -z every header and entry is
        # NUL-terminated, so odd paths cannot confuse the parse.
        out = _git(repo, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=no")[1]
        head: str | None = None
        dirty = False
        for record in out.split("\0"):
            if record.startswith("# branch.oid "):
                oid = record[len("# branch.oid ") :]
                head = None if oid == "(initial)" else oid
            elif record and not record.startswith("#"):
                dirty = True
        # The branch comes from symbolic-ref, not "# branch.head", whose "(detached)" could in
        # principle be a real branch name.
        return RepoInfo(root=root, head=head, branch=_branch(repo), dirty=dirty)


def head_commit(path: str | os.PathLike[str]) -> str | None:
    """Full sha of HEAD, or None on an unborn branch."""
    with _opened(path) as repo:
        return _head(repo)


def _head(repo: git.Repo) -> str | None:
    status, out = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1))
    return (out.strip() or None) if status == 0 else None


def _branch(repo: git.Repo) -> str | None:
    status, out = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", ok=(0, 1))
    return (out.strip() or None) if status == 0 else None


# --------------------------------------------------------------------------- commits


def session_commits(
    repo: git.Repo | str | os.PathLike[str], start: str | None, end: str
) -> list[CommitFact]:
    """Commits of ``start..end`` along first parents, oldest first (``start`` None: from the root)."""
    with _opened(repo) as r:
        end_sha = _resolve(r, end)
        rev_range = end_sha if start is None else f"{_resolve(r, start)}..{end_sha}"
        fmt = _RS + _US.join(["%H", "%h", "%an", "%aI", "%s"])
        out = _git(
            r,
            "log",
            "--first-parent",
            "--diff-merges=first-parent",  # a merge's lines: what it brought into the mainline
            "--root",
            "--reverse",
            "-M",
            "--numstat",
            "-z",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-show-signature",
            "--no-notes",
            f"--format={fmt}",
            rev_range,
            "--",
        )[1]
    facts: list[CommitFact] = []
    for record in out.split(_RS)[1:]:
        # with -z the header ends in NUL, then come a newline and the numstat records, NUL-ended
        header, _, stats = record.partition("\0")
        sha, short, author, date, subject = header.split(_US, 4)
        files = parse_numstat_z(stats.lstrip("\n"))
        added = sum(f.added or 0 for f in files)  # a binary file counts no lines
        removed = sum(f.removed or 0 for f in files)
        facts.append(
            CommitFact(
                sha=sha,
                short=short,
                author=author,
                authored_at=datetime.fromisoformat(date),
                subject=subject,
                added=added,
                removed=removed,
            )
        )
    return facts


# --------------------------------------------------------------------------- files


def files_changed(
    repo: git.Repo | str | os.PathLike[str], start: str | None, end: str
) -> list[FileChange]:
    """The files-changed table of ``start..end``: the diff of the two trees, sorted by path.

    ``start`` None compares ``end`` with the empty tree (everything is created).
    """
    with _opened(repo) as r:
        end_sha = _resolve(r, end)
        start_sha = _empty_tree(r) if start is None else _resolve(r, start)
        if start_sha == end_sha:
            return []
        # One diff-tree run prints the raw records (status, both paths) and then the numstat
        # records, in the same order; -z keeps every path byte-exact.
        out = _git(
            r, "diff-tree", "-r", "-z", "-M", "--raw", "--numstat", "--no-ext-diff", "--no-textconv",
            start_sha, end_sha, "--",
        )[1]
    return sorted(_parse_raw_numstat(out), key=lambda fc: fc.path)


def _parse_raw_numstat(out: str) -> list[FileChange]:
    try:
        records = parse_raw_numstat_z(out)
    except GitOutputError:
        raise GitFactsError("could not read git diff output (raw and numstat records disagree)") from None
    changes = []
    for r in records:
        kind = r.status[:1]
        if kind not in CHANGE_KINDS:
            raise GitFactsError(f"unexpected git diff status {r.status!r} for {r.path}")
        changes.append(FileChange(
            path=r.path,
            change=CHANGE_KINDS[kind],
            old_path=r.old_path if kind == "R" else None,
            added=r.added,
            removed=r.removed,
            binary=r.added is None,
        ))
    return changes
