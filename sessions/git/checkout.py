"""The developer's checkout as accepting and discarding see it: git run on it, the checks that refuse
an action before anything changes, its linked worktrees, and one lock per repository.

Everything here blocks (it runs ``git``). A refusal is a :class:`ReviewError`: one line for the user,
nothing changed. Only worktrees that git lists as linked worktrees of the repository are ever removed,
never the main checkout and never a folder git does not know.
"""
from __future__ import annotations

import os
import threading

import git

from engine.errors import CommandError, RepoError
from engine.git_output import stderr_line
from engine.worktrees import WorktreeManager, open_repo

# Reading commands must not take index.lock, so looking never collides with git running elsewhere.
_READ_ENV = {"GIT_OPTIONAL_LOCKS": "0"}
_SHOWN = 3  # files named in a refusal before "and N more"


class ReviewError(CommandError):
    """The review action cannot be done; ``str()`` is one line for the user (nothing changed)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def current_branch(r: git.Repo) -> str | None:
    status, out, _ = git_exec(r, "symbolic-ref", "--quiet", "--short", "HEAD")
    return (out.strip() or None) if status == 0 else None


def refuse_operation_in_progress(r: git.Repo, root: str) -> None:
    for name, what in (
        ("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert"),
        ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase or git am"),
    ):
        if os.path.lexists(os.path.join(r.git_dir, name)):
            raise ReviewError(f"{what} is in progress in your checkout {root}; finish or abort it first")


def refuse_dirty(r: git.Repo, root: str) -> None:
    paths = _changed_tracked_files(r)
    if paths:
        raise ReviewError(
            f"your checkout has uncommitted changes to {name_some(paths)}; commit or stash them, then accept again"
        )


def refuse_dirty_worktree(r: git.Repo, worktree_path: str) -> None:
    """Edits made by hand in the task's worktree after it ended would be lost with the worktree."""
    if not worktree_path or not os.path.isdir(worktree_path):
        return
    if not any(same_path(p, worktree_path) for p, _ in worktrees(r)[1:]):
        return
    with opened(worktree_path) as wt:
        paths = _changed_tracked_files(wt)
    if paths:
        raise ReviewError(
            f"the task's worktree {worktree_path} has uncommitted changes to {name_some(paths)}; commit them "
            "there (they will be merged) or revert them, then accept again"
        )


def _changed_tracked_files(r: git.Repo) -> list[str]:
    """Tracked files that differ from HEAD, staged or not (untracked files do not count)."""
    out = git_run(r, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    paths: list[str] = []
    tokens = iter(out.split("\0"))
    for entry in tokens:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # the original path follows as its own token
            next(tokens, None)
    return paths


def is_ancestor(r: git.Repo, ancestor: str, of: str) -> bool:
    status, _, _ = git_exec(r, "merge-base", "--is-ancestor", ancestor, of)
    return status == 0


def refuse_overwritten_untracked(r: git.Repo, root: str, tree: str) -> None:
    """Refuse a change to ``tree`` that would replace something git does not hold: an untracked or
    ignored file (or link) where it creates a path, or where it creates a folder over one of that
    path's parents (a user file ``notes``, ignored, and a task's ``notes/todo.txt``: git would delete it)."""
    created = [p for p in git_run(r, "diff", "--name-only", "-z", "--diff-filter=A", "--no-renames", "HEAD", tree).split("\0") if p]
    deleted = set(p for p in git_run(r, "diff", "--name-only", "-z", "--diff-filter=D", "--no-renames", "HEAD", tree).split("\0") if p)
    in_the_way = [p for p in created if os.path.lexists(os.path.join(root, p))]
    parents = sorted({parent for p in created for parent in _parents(p)})
    in_the_way += [  # a file (or a link) where the change needs a folder, unless it removes it from git itself
        parent for parent in parents
        if parent not in deleted and (os.path.islink(os.path.join(root, parent))
                                      or (os.path.lexists(os.path.join(root, parent))
                                          and not os.path.isdir(os.path.join(root, parent))))
    ]
    if in_the_way:
        raise ReviewError(
            f"the merge would overwrite untracked files in your checkout: {name_some(in_the_way)}; "
            "move them away, then accept again"
        )



def _parents(path: str) -> list[str]:
    """``a/b/c`` -> ``a``, ``a/b``."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# ----------------------------------------------------------------------------------- worktrees
def worktrees(r: git.Repo) -> list[tuple[str, str]]:
    """(path, branch ref or "") of every worktree, the main checkout first."""
    found = []
    for block in git_run(r, "worktree", "list", "--porcelain", "-z").split("\0\0"):
        fields = dict(f.split(" ", 1) if " " in f else (f, "") for f in block.split("\0") if f)
        if "worktree" in fields:
            found.append((fields["worktree"], fields.get("branch", "")))
    return found


def remove_linked_worktree(r: git.Repo, root: str, path: str) -> tuple[bool, str]:
    """Remove the linked worktree at ``path``; (removed, a note when it could not be)."""
    if not path:
        return False, ""
    linked = worktrees(r)[1:]  # never the main checkout
    if not any(same_path(p, path) for p, _ in linked):
        return False, ""  # already gone, or not a worktree of this repository: leave it alone
    try:
        WorktreeManager(root, "review").remove(path, None, delete_branch=False)
    except (git.GitCommandError, OSError) as exc:
        return False, f"the worktree {path} could not be removed ({exc.__class__.__name__})"
    if os.path.exists(path):
        return False, f"the worktree folder {path} is still there"
    return True, ""


def same_path(a: str, b: str) -> bool:
    return bool(a) and bool(b) and os.path.realpath(a) == os.path.realpath(b)


# -------------------------------------------------------------------------------------- plumbing
class opened:
    """``with opened(path) as repo``: the repository, with errors as ReviewError."""

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


def checkout_lock(r: git.Repo) -> threading.Lock:
    """One accept or discard at a time per repository (two merges would race for index.lock)."""
    key = os.path.realpath(r.common_dir)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def checkout_root(r: git.Repo) -> str:
    if r.bare or r.working_tree_dir is None:
        raise ReviewError(f"{r.git_dir} is a bare repository; there is no checkout to merge into")
    return str(r.working_tree_dir)


def git_exec(r: git.Repo, cmd: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    try:
        return getattr(r.git, cmd.replace("-", "_"))(
            *args, env={**_READ_ENV, **(env or {})}, with_extended_output=True, with_exceptions=False,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandNotFound:
        raise ReviewError("git is not installed or not on PATH") from None


def git_run(r: git.Repo, cmd: str, *args: str) -> str:
    status, out, err = git_exec(r, cmd, *args)
    if status != 0:
        raise ReviewError(f"git {cmd} failed: {stderr_line(err) or f'exit {status}'}")
    return out


def commit_of(r: git.Repo, rev: str) -> str:
    status, out, _ = git_exec(r, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if status != 0 or not out.strip():
        raise ReviewError(f"commit {rev[:12]} is not in the repository any more")
    return out.strip()


def branch_exists(r: git.Repo, branch: str) -> bool:
    status, _, _ = git_exec(r, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    return status == 0


def name_some(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    more = len(paths) - _SHOWN
    return f"{shown} and {more} more" if more > 0 else shown
