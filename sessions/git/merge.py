"""Accepting a task's branch (a merge) or discarding it (its branch deleted).

The functions here block (they run ``git``); async callers run them in a thread, as
:class:`~sessions.decisions.Decisions` does.

Rules worth knowing:

* :func:`accept` merges the task branch into the branch the developer's checkout is on, always
  with a merge commit (``--no-ff``: the merge commit marks the accepted task). Everything that
  could make the merge fail is checked first, without touching the checkout: a detached HEAD, an
  unfinished merge/rebase/cherry-pick, uncommitted changes to tracked files, a conflict
  (``git merge-tree --write-tree``), untracked files the merge would overwrite, a branch that is
  gone. A refusal is a :class:`ReviewError` and leaves HEAD, index and files as they were.
* :func:`discard` deletes the task branch (force): work on it that no other branch holds is lost
  on purpose. It only deletes ``cockpit/`` branches.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import git

from engine.git_output import stderr_line
from engine.worktrees import BRANCH_PREFIX, identity_env
from sessions.git.checkout import (
    ReviewError, branch_exists, checkout_lock, checkout_root, current_branch, git_exec, git_run, is_ancestor,
    name_some, opened, refuse_dirty, refuse_dirty_worktree, refuse_operation_in_progress,
    refuse_overwritten_untracked, remove_linked_worktree, same_path, worktrees,
)

__all__ = ["AcceptResult", "accept", "check_task_worktree", "discard", "remove_task_worktree"]


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
    with opened(repo) as r, checkout_lock(r):
        root = checkout_root(r)
        if not branch_exists(r, branch):
            raise ReviewError(f"the task branch {branch} is gone; there is nothing to merge")
        into = current_branch(r)
        if into is None:
            raise ReviewError(
                f"your checkout {root} is on a detached HEAD; check out the branch to merge into first"
            )
        if into == branch:
            raise ReviewError(f"your checkout is on the task branch {branch} itself; check out your own branch")
        refuse_operation_in_progress(r, root)
        refuse_dirty(r, root)
        refuse_dirty_worktree(r, worktree_path)
        ref = f"refs/heads/{branch}"
        if is_ancestor(r, ref, "HEAD"):
            merge_commit = None
        else:
            tree = _merge_tree(r, ref, branch, into)
            refuse_overwritten_untracked(r, root, tree)
            merge_commit = _merge(r, ref, message, into)
        removed, note = remove_linked_worktree(r, root, worktree_path)
    return AcceptResult(branch, into, merge_commit, removed, note)


def _merge_tree(r: git.Repo, ref: str, branch: str, into: str) -> str:
    """The tree a merge would give, computed without touching the checkout; refuses a conflict."""
    status, out, err = git_exec(r, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", "HEAD", ref)
    parts = [p for p in out.split("\0") if p]
    if status == 0 and parts:
        return parts[0]
    if status == 1 and parts:
        conflicts = list(dict.fromkeys(parts[1:]))
        raise ReviewError(
            f"merging {branch} into {into} would conflict in {name_some(conflicts) or 'some files'}; "
            "nothing was changed"
        )
    raise ReviewError(f"cannot merge {branch} into {into}: {stderr_line(err) or 'git merge-tree failed'}")


def _merge(r: git.Repo, ref: str, message: str, into: str) -> str:
    env = {**identity_env(checkout_root(r)), "GIT_MERGE_AUTOEDIT": "no", "GIT_EDITOR": "true"}
    status, _, err = git_exec(r, "merge", "--no-ff", "--no-edit", "--quiet", "-m", message, ref, env=env)
    if status != 0:
        # Everything was checked, so this is a hook or a signing failure: put the checkout back.
        git_exec(r, "merge", "--abort")
        raise ReviewError(f"git merge into {into} failed: {stderr_line(err) or f'exit {status}'}")
    return git_run(r, "rev-parse", "HEAD").strip()


# ------------------------------------------------------------------------------------- discard
def discard(repo: str | os.PathLike[str], branch: str, worktree_path: str) -> None:
    """Remove the task's worktree and delete its branch (force): its work is gone on purpose."""
    if branch and not branch.startswith(BRANCH_PREFIX):
        raise ReviewError(f"{branch} is not a cockpit task branch; it is left alone")
    with opened(repo) as r, checkout_lock(r):
        root = checkout_root(r)
        if branch:
            here = _worktree_of_branch(r, branch)
            if here is not None and not same_path(here, worktree_path):
                raise ReviewError(f"the task branch {branch} is checked out in {here}; switch that checkout away first")
        _, note = remove_linked_worktree(r, root, worktree_path)
        if note:
            raise ReviewError(note)
        if branch and branch_exists(r, branch):
            status, _, err = git_exec(r, "branch", "-D", branch)
            if status != 0:
                raise ReviewError(f"could not delete the branch {branch}: {stderr_line(err)}")


def _worktree_of_branch(r: git.Repo, branch: str) -> str | None:
    for path, head in worktrees(r):
        if head == f"refs/heads/{branch}":
            return path
    return None




def check_task_worktree(repo: str | os.PathLike[str], worktree_path: str) -> None:
    """Refuse (ReviewError) when the task's worktree holds edits made by hand that removing it would lose."""
    with opened(repo) as r:
        refuse_dirty_worktree(r, worktree_path)


def remove_task_worktree(repo: str | os.PathLike[str], worktree_path: str) -> str:
    """Remove a task's linked worktree (never anything else); a note when it could not be."""
    with opened(repo) as r, checkout_lock(r):
        return remove_linked_worktree(r, checkout_root(r), worktree_path)[1]
