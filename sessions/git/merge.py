"""Reviewing a task's work: its diff, and accepting (merge) or discarding (delete) it.

The functions here block (they run ``git``); async callers run them in a thread, as
:class:`~sessions.decisions.TaskDecisions` does for a live session.

Rules worth knowing:

* :func:`accept` merges the task branch into the branch the developer's checkout is on, always
  with a merge commit (``--no-ff``: the merge commit marks the accepted task). Everything that
  could make the merge fail is checked first, without touching the checkout: a detached HEAD, an
  unfinished merge/rebase/cherry-pick, uncommitted changes to tracked files, a conflict
  (``git merge-tree --write-tree``), untracked files the merge would overwrite, a branch that is
  gone. A refusal is a :class:`ReviewError` and leaves HEAD, index and files as they were.
* Only worktrees that git lists as linked worktrees of the repository are ever removed, never
  the main checkout and never a folder git does not know.
* :func:`discard` deletes the task branch (force): work on it that no other branch holds is lost
  on purpose. It only deletes ``cockpit/`` branches.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import git

from engine.errors import CommandError, RepoError
from engine.formatting import diff_size_text
from engine.git_output import CHANGE_KINDS, GitOutputError, parse_raw_numstat_z, stderr_line
from engine.worktrees import BRANCH_PREFIX, WorktreeManager, identity_env, open_repo

__all__ = ["AcceptResult", "FileDiff", "ReviewError", "TaskDiff", "accept", "discard", "task_diff"]

# Reading commands must not take index.lock, so looking never collides with git running elsewhere.
_READ_ENV = {"GIT_OPTIONAL_LOCKS": "0"}
_DIFF_OPTIONS = (
    "-M", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
    "--src-prefix=a/", "--dst-prefix=b/",
)
_SHOWN = 3  # files named in a refusal before "and N more"


class ReviewError(CommandError):
    """The review action cannot be done; ``str()`` is one line for the user (nothing changed)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


# --------------------------------------------------------------------------------------- diff
@dataclass(frozen=True)
class FileDiff:
    path: str  # the new path of a rename
    change: str  # "created" | "modified" | "deleted" | "renamed"
    old_path: str | None  # the path before a rename, else None
    added: int | None  # None for a binary file
    removed: int | None
    diff: str  # this file's part of the unified diff ("diff --git ..." to its last hunk)

    @property
    def binary(self) -> bool:
        return self.added is None


@dataclass(frozen=True)
class TaskDiff:
    start_commit: str
    head_commit: str
    files: tuple[FileDiff, ...]  # in git's diff order

    @property
    def added(self) -> int:
        return sum(f.added or 0 for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed or 0 for f in self.files)

    def summary(self) -> str:
        """``+A −R in N files``"""
        return diff_size_text(self.added, self.removed, len(self.files))


def task_diff(repo: str | os.PathLike[str], start_commit: str, head_commit: str) -> TaskDiff:
    """What the task changed between ``start_commit`` and ``head_commit``, file by file."""
    if not start_commit or not head_commit:
        raise ReviewError("the task has no commits to compare (it ran without a worktree)")
    with _open(repo) as r:
        start, head = _commit(r, start_commit), _commit(r, head_commit)
        if start == head:
            return TaskDiff(start, head, ())
        raw = _run(r, "diff", "-z", "--raw", "--numstat", *_DIFF_OPTIONS, start, head, "--")
        patch = _run(r, "diff", "--patch", *_DIFF_OPTIONS, start, head, "--")
        records = _parse_raw_numstat(raw)
        sections = _split_patch(patch)
        if len(sections) != len(records):  # never expected: one diffcore run, one order; be safe
            sections = [
                _run(r, "diff", "--patch", *_DIFF_OPTIONS, start, head, "--", *([old] if old else []), path)
                for _, path, old, _, _ in records
            ]
    files = tuple(
        FileDiff(path, change, old, added, removed, text)
        for (change, path, old, added, removed), text in zip(records, sections)
    )
    return TaskDiff(start, head, files)


def _parse_raw_numstat(out: str) -> list[tuple[str, str, str | None, int | None, int | None]]:
    try:
        records = parse_raw_numstat_z(out)
    except GitOutputError:
        raise ReviewError("could not read git's diff output (raw and numstat records disagree)") from None
    return [(CHANGE_KINDS.get(r.status[:1], "modified"), r.path, r.old_path if r.status[:1] == "R" else None,
             r.added, r.removed) for r in records]


def _split_patch(patch: str) -> list[str]:
    """The unified diff cut at each ``diff --git`` header line."""
    sections: list[list[str]] = []
    for line in patch.splitlines(keepends=True):
        if line.startswith("diff --git ") or not sections:
            sections.append([])
        sections[-1].append(line)
    return ["".join(s) for s in sections if s and s[0].startswith("diff --git ")]


# -------------------------------------------------------------------------------------- accept
@dataclass(frozen=True)
class AcceptResult:
    branch: str  # the task branch, kept (it is merged)
    into: str  # the branch of the checkout it was merged into
    merge_commit: str | None  # None when the branch had nothing the checkout lacked
    worktree_removed: bool
    note: str = ""  # something that went wrong after the merge (e.g. the worktree stayed)

    def describe(self) -> str:
        if self.merge_commit is None:
            text = f"nothing to merge: {self.into} already holds {self.branch}"
        else:
            text = f"merged {self.branch} into {self.into} ({self.merge_commit[:8]})"
        return f"{text}; {self.note}" if self.note else text


def accept(
    repo: str | os.PathLike[str], branch: str, worktree_path: str, message: str
) -> AcceptResult:
    """Merge ``branch`` into the checkout's branch (``--no-ff``), then remove the task's worktree.

    Refused with a :class:`ReviewError`, and nothing changed, when the merge cannot be clean.
    """
    if not branch:
        raise ReviewError("the task has no branch to merge (it ran without a worktree)")
    with _open(repo) as r, _checkout_lock(r):
        root = _root(r)
        if not _branch_exists(r, branch):
            raise ReviewError(f"the task branch {branch} is gone; there is nothing to merge")
        into = _current_branch(r)
        if into is None:
            raise ReviewError(
                f"your checkout {root} is on a detached HEAD; check out the branch to merge into first"
            )
        if into == branch:
            raise ReviewError(f"your checkout is on the task branch {branch} itself; check out your own branch")
        _refuse_operation_in_progress(r, root)
        _refuse_dirty(r, root)
        _refuse_dirty_worktree(r, worktree_path)
        ref = f"refs/heads/{branch}"
        if _is_ancestor(r, ref, "HEAD"):
            merge_commit = None
        else:
            tree = _merge_tree(r, ref, branch, into)
            _refuse_overwritten_untracked(r, root, tree)
            merge_commit = _merge(r, ref, message, into)
        removed, note = _remove_worktree(r, root, worktree_path)
    return AcceptResult(branch, into, merge_commit, removed, note)


def _current_branch(r: git.Repo) -> str | None:
    status, out, _ = _exec(r, "symbolic-ref", "--quiet", "--short", "HEAD")
    return (out.strip() or None) if status == 0 else None


def _refuse_operation_in_progress(r: git.Repo, root: str) -> None:
    for name, what in (
        ("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert"),
        ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase or git am"),
    ):
        if os.path.lexists(os.path.join(r.git_dir, name)):
            raise ReviewError(f"{what} is in progress in your checkout {root}; finish or abort it first")


def _refuse_dirty(r: git.Repo, root: str) -> None:
    paths = _changed_tracked_files(r)
    if paths:
        raise ReviewError(
            f"your checkout has uncommitted changes to {_some(paths)}; commit or stash them, then accept again"
        )


def _refuse_dirty_worktree(r: git.Repo, worktree_path: str) -> None:
    """Edits made by hand in the task's worktree after it ended would be lost with the worktree."""
    if not worktree_path or not os.path.isdir(worktree_path):
        return
    if not any(_same_path(p, worktree_path) for p, _ in _worktrees(r)[1:]):
        return
    with _open(worktree_path) as wt:
        paths = _changed_tracked_files(wt)
    if paths:
        raise ReviewError(
            f"the task's worktree {worktree_path} has uncommitted changes to {_some(paths)}; commit them "
            "there (they will be merged) or revert them, then accept again"
        )


def _changed_tracked_files(r: git.Repo) -> list[str]:
    """Tracked files that differ from HEAD, staged or not (untracked files do not count)."""
    out = _run(r, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    paths: list[str] = []
    tokens = iter(out.split("\0"))
    for entry in tokens:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # the original path follows as its own token
            next(tokens, None)
    return paths


def _is_ancestor(r: git.Repo, ancestor: str, of: str) -> bool:
    status, _, _ = _exec(r, "merge-base", "--is-ancestor", ancestor, of)
    return status == 0


def _merge_tree(r: git.Repo, ref: str, branch: str, into: str) -> str:
    """The tree a merge would give, computed without touching the checkout; refuses a conflict."""
    status, out, err = _exec(r, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", "HEAD", ref)
    parts = [p for p in out.split("\0") if p]
    if status == 0 and parts:
        return parts[0]
    if status == 1 and parts:
        conflicts = list(dict.fromkeys(parts[1:]))
        raise ReviewError(
            f"merging {branch} into {into} would conflict in {_some(conflicts) or 'some files'}; "
            "nothing was changed"
        )
    raise ReviewError(f"cannot merge {branch} into {into}: {stderr_line(err) or 'git merge-tree failed'}")


def _refuse_overwritten_untracked(r: git.Repo, root: str, tree: str) -> None:
    created = [p for p in _run(r, "diff", "--name-only", "-z", "--diff-filter=A", "--no-renames", "HEAD", tree).split("\0") if p]
    in_the_way = [p for p in created if os.path.lexists(os.path.join(root, p))]
    if in_the_way:
        raise ReviewError(
            f"the merge would overwrite untracked files in your checkout: {_some(in_the_way)}; "
            "move them away, then accept again"
        )


def _merge(r: git.Repo, ref: str, message: str, into: str) -> str:
    env = {**identity_env(_root(r)), "GIT_MERGE_AUTOEDIT": "no", "GIT_EDITOR": "true"}
    status, _, err = _exec(r, "merge", "--no-ff", "--no-edit", "--quiet", "-m", message, ref, env=env)
    if status != 0:
        # Everything was checked, so this is a hook or a signing failure: put the checkout back.
        _exec(r, "merge", "--abort")
        raise ReviewError(f"git merge into {into} failed: {stderr_line(err) or f'exit {status}'}")
    return _run(r, "rev-parse", "HEAD").strip()


# ------------------------------------------------------------------------------------- discard
def discard(repo: str | os.PathLike[str], branch: str, worktree_path: str) -> None:
    """Remove the task's worktree and delete its branch (force): its work is gone on purpose."""
    if branch and not branch.startswith(BRANCH_PREFIX):
        raise ReviewError(f"{branch} is not a cockpit task branch; it is left alone")
    with _open(repo) as r, _checkout_lock(r):
        root = _root(r)
        if branch:
            here = _worktree_of_branch(r, branch)
            if here is not None and not _same_path(here, worktree_path):
                raise ReviewError(f"the task branch {branch} is checked out in {here}; switch that checkout away first")
        _, note = _remove_worktree(r, root, worktree_path)
        if note:
            raise ReviewError(note)
        if branch and _branch_exists(r, branch):
            status, _, err = _exec(r, "branch", "-D", branch)
            if status != 0:
                raise ReviewError(f"could not delete the branch {branch}: {stderr_line(err)}")


def _worktree_of_branch(r: git.Repo, branch: str) -> str | None:
    for path, head in _worktrees(r):
        if head == f"refs/heads/{branch}":
            return path
    return None


# ----------------------------------------------------------------------------------- worktrees
def _worktrees(r: git.Repo) -> list[tuple[str, str]]:
    """(path, branch ref or "") of every worktree, the main checkout first."""
    found = []
    for block in _run(r, "worktree", "list", "--porcelain", "-z").split("\0\0"):
        fields = dict(f.split(" ", 1) if " " in f else (f, "") for f in block.split("\0") if f)
        if "worktree" in fields:
            found.append((fields["worktree"], fields.get("branch", "")))
    return found


def _remove_worktree(r: git.Repo, root: str, path: str) -> tuple[bool, str]:
    """Remove the linked worktree at ``path``; (removed, a note when it could not be)."""
    if not path:
        return False, ""
    linked = _worktrees(r)[1:]  # never the main checkout
    if not any(_same_path(p, path) for p, _ in linked):
        return False, ""  # already gone, or not a worktree of this repository: leave it alone
    try:
        WorktreeManager(root, "review").remove(path, None, delete_branch=False)
    except (git.GitCommandError, OSError) as exc:
        return False, f"the worktree {path} could not be removed ({exc.__class__.__name__})"
    if os.path.exists(path):
        return False, f"the worktree folder {path} is still there"
    return True, ""


def _same_path(a: str, b: str) -> bool:
    return bool(a) and bool(b) and os.path.realpath(a) == os.path.realpath(b)


# -------------------------------------------------------------------------------------- plumbing
class _open:
    """``with _open(path) as repo``: the repository, with errors as ReviewError."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            self.repo = open_repo(path)
        except RepoError as exc:
            raise ReviewError(str(exc)) from None

    def __enter__(self) -> git.Repo:
        return self.repo

    def __exit__(self, *exc: object) -> None:
        self.repo.close()


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _checkout_lock(r: git.Repo) -> threading.Lock:
    """One accept or discard at a time per repository (two merges would race for index.lock)."""
    key = os.path.realpath(r.common_dir)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _root(r: git.Repo) -> str:
    if r.bare or r.working_tree_dir is None:
        raise ReviewError(f"{r.git_dir} is a bare repository; there is no checkout to merge into")
    return str(r.working_tree_dir)


def _exec(r: git.Repo, cmd: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    try:
        return getattr(r.git, cmd.replace("-", "_"))(
            *args, env={**_READ_ENV, **(env or {})}, with_extended_output=True, with_exceptions=False,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandNotFound:
        raise ReviewError("git is not installed or not on PATH") from None


def _run(r: git.Repo, cmd: str, *args: str) -> str:
    status, out, err = _exec(r, cmd, *args)
    if status != 0:
        raise ReviewError(f"git {cmd} failed: {stderr_line(err) or f'exit {status}'}")
    return out


def _commit(r: git.Repo, rev: str) -> str:
    status, out, _ = _exec(r, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if status != 0 or not out.strip():
        raise ReviewError(f"commit {rev[:12]} is not in the repository any more")
    return out.strip()


def _branch_exists(r: git.Repo, branch: str) -> bool:
    status, _, _ = _exec(r, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    return status == 0


def _some(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    more = len(paths) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown
