"""Accepting only some tasks' own commits: copies of them (``git cherry-pick -x``) on the branch the
developer's checkout is on.

The copies are made in a scratch worktree detached at HEAD, outside the checkout, so a conflict is
found before anything the developer sees changes: the scratch worktree is removed and the refusal
names the files. Once every copy is made, the checkout's branch is fast-forwarded to them
(``merge --ff-only``), after the same checks as a merge (detached HEAD, an operation in progress,
uncommitted changes, untracked files in the way). A commit whose change the branch already holds is
skipped (its copy would be empty).

Blocks (runs git); async callers run it in a thread.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Sequence

import git

from engine.git_output import stderr_line
from engine.worktrees import WorktreeError, WorktreeManager, identity_env
from sessions.git.checkout import (
    ReviewError, checkout_lock, checkout_root, commit_of, current_branch, git_exec, git_run, name_some,
    opened, refuse_dirty, refuse_dirty_worktree, refuse_operation_in_progress, refuse_overwritten_untracked,
    remove_linked_worktree,
)
from sessions.git.incoming import OwnRange

__all__ = ["PickResult", "Picked", "pick"]


@dataclass(frozen=True)
class Picked:
    key: str
    copies: tuple[tuple[str, str | None], ...]  # (original commit, its copy on the branch; None: already held)
    worktree_removed: bool


@dataclass(frozen=True)
class PickResult:
    into: str
    head: str  # the branch's head after the copies (its old head when nothing was copied)
    picked: tuple[Picked, ...]
    note: str = ""

    @property
    def copied(self) -> int:
        return sum(1 for p in self.picked for _, copy in p.copies if copy)

    def describe(self) -> str:
        if not self.copied:
            text = f"nothing to copy: {self.into} already holds that work"
        else:
            keys = ", ".join(p.key for p in self.picked if any(c for _, c in p.copies))
            text = (f"copied {self.copied} commit{'' if self.copied == 1 else 's'} of {keys} onto "
                    f"{self.into} ({self.head[:8]})")
        return f"{text}; {self.note}" if self.note else text


def pick(repo: str | os.PathLike[str], ranges: Sequence[OwnRange], worktrees: Sequence[str] = ()) -> PickResult:
    """Copy the own commits of each task of ``ranges``, in that order (dependencies first), onto the
    checkout's branch; then remove the tasks' ``worktrees``. Refused (ReviewError), nothing changed,
    when a copy conflicts or the checkout cannot take them."""
    with opened(repo) as r, checkout_lock(r):
        root = checkout_root(r)
        into = current_branch(r)
        if into is None:
            raise ReviewError(f"your checkout {root} is on a detached HEAD; check out the branch to accept into first")
        refuse_operation_in_progress(r, root)
        refuse_dirty(r, root)
        for path in worktrees:
            refuse_dirty_worktree(r, path)
        head = commit_of(r, "HEAD")
        plan = [(work.key, _own_commits(r, work)) for work in ranges]
        if not any(commits for _, commits in plan):
            return PickResult(into, head, tuple(Picked(k, (), False) for k, _ in plan))
        tip, copies = _copy(root, head, plan, into)
        if tip != head:
            refuse_overwritten_untracked(r, root, f"{tip}^{{tree}}")
            status, _, err = git_exec(r, "merge", "--ff-only", "--quiet", tip)
            if status != 0:
                raise ReviewError(f"could not move {into} to the copied commits: {stderr_line(err) or f'exit {status}'}")
        notes = []
        removed = []
        for path in worktrees:
            ok, note = remove_linked_worktree(r, root, path)
            removed.append(ok)
            if note:
                notes.append(note)
    picked = tuple(Picked(key, tuple(copies[key]), bool(worktrees) and all(removed)) for key, _ in plan)
    return PickResult(into, tip, picked, "; ".join(notes))


def _own_commits(r: git.Repo, work: OwnRange) -> list[tuple[str, int]]:
    """(commit, number of parents) of the task's own commits, oldest first."""
    if not work.start_commit or not work.head_commit:
        raise ReviewError(f"task {work.key} left no commits to accept (it ran without a worktree)")
    start, head = commit_of(r, work.start_commit), commit_of(r, work.head_commit)
    out = git_run(r, "rev-list", "--reverse", "--topo-order", "--parents", f"{start}..{head}")
    return [(line.split()[0], len(line.split()) - 1) for line in out.splitlines() if line.strip()]


def _copy(root: str, head: str, plan: list[tuple[str, list[tuple[str, int]]]], into: str
          ) -> tuple[str, dict[str, list[tuple[str, str | None]]]]:
    """Cherry-pick every commit of ``plan`` onto ``head`` in a scratch worktree; (new tip, copies)."""
    manager = WorktreeManager(root, ".accept")
    try:
        path = manager.add_detached(f"accept-{uuid.uuid4().hex[:8]}", head)
    except WorktreeError as exc:
        raise ReviewError(str(exc)) from None
    env = {**identity_env(root), "GIT_EDITOR": "true"}
    copies: dict[str, list[tuple[str, str | None]]] = {}
    try:
        with git.Repo(path) as wt:
            for key, commits in plan:
                copies[key] = []
                for commit, parents in commits:
                    before = wt.head.commit.hexsha
                    args = ["-x", "--allow-empty", "--keep-redundant-commits", *(["-m", "1"] if parents > 1 else []), commit]
                    status, _, err = wt.git.cherry_pick(*args, env=env, with_extended_output=True,
                                                        with_exceptions=False)
                    if status != 0:
                        conflicts = [p for p in wt.git.diff("--name-only", "-z", "--diff-filter=U").split("\0") if p]
                        wt.git.cherry_pick("--abort", with_exceptions=False)
                        if conflicts:
                            raise ReviewError(
                                f"copying {key}'s commit {commit[:8]} onto {into} would conflict in "
                                f"{name_some(conflicts)}; nothing was changed"
                            )
                        raise ReviewError(f"copying {key}'s commit {commit[:8]} failed: {stderr_line(err) or f'exit {status}'}")
                    after = wt.head.commit.hexsha
                    if wt.git.diff("--quiet", before, after, with_exceptions=False, with_extended_output=True)[0] == 0:
                        wt.git.reset("--quiet", "--hard", before)  # the branch already holds this change
                        copies[key].append((commit, None))
                    else:
                        copies[key].append((commit, after))
            tip = wt.head.commit.hexsha
    finally:
        manager.remove(path, None, delete_branch=False)
    return tip, copies
