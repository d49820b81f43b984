"""What accepting a task would bring into the developer's branch, file by file, each file marked by
the tasks whose own commits changed it.

A task's branch holds its own commits and, merged in before it started, the work of the tasks it
depends on. Merging it brings in whatever of all that the branch the checkout is on lacks, so the
review shows the diff from HEAD to the tree of that merge (``git merge-tree --write-tree``, which
touches neither the checkout nor any ref), not the task's own diff. Each file is attributed to the
tasks whose own range (``start_commit..head_commit``, the dependencies' merges excluded) changed it.

Every function here blocks (it runs git); async callers run it in a thread.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import git

from sessions.git.checkout import ReviewError, commit_of, git_exec, git_run, is_ancestor, opened
from sessions.git.diff import FileDiff, diff_files

__all__ = ["Incoming", "IncomingFile", "OwnRange", "incoming"]


@dataclass(frozen=True)
class OwnRange:
    """A task's own commits: those after ``start_commit`` (its dependencies merged in) up to ``head_commit``."""

    key: str
    start_commit: str
    head_commit: str


@dataclass(frozen=True)
class IncomingFile:
    file: FileDiff
    sources: tuple[str, ...]  # the keys of the tasks whose own commits changed it, the reviewed task first


@dataclass(frozen=True)
class Incoming:
    task: str
    head: str  # the checkout's HEAD it was measured against
    files: tuple[IncomingFile, ...]
    conflicts: tuple[str, ...]  # files the merge would conflict in (the diff then shows git's markers)

    @property
    def added(self) -> int:
        return sum(f.file.added or 0 for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.file.removed or 0 for f in self.files)

    def of(self, key: str) -> tuple[IncomingFile, ...]:
        """The files a task's own commits bring in."""
        return tuple(f for f in self.files if key in f.sources)

    def sources(self) -> list[str]:
        """Every task something comes from, the reviewed task first."""
        return list(dict.fromkeys(k for f in self.files for k in f.sources))


def incoming(repo: str | os.PathLike[str], task: OwnRange, dependencies: Sequence[OwnRange]) -> Incoming:
    """What merging ``task``'s head into the checkout's HEAD would change there; ``dependencies`` are
    the tasks whose work its branch holds (deps first or in any order: only their own ranges count)."""
    if not task.start_commit or not task.head_commit:
        raise ReviewError("the task has no commits to compare (it ran without a worktree)")
    with opened(repo) as r:
        head = commit_of(r, "HEAD")
        tip = commit_of(r, task.head_commit)
        if is_ancestor(r, tip, head):
            return Incoming(task.key, head, (), ())
        status, out, err = git_exec(r, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", head, tip)
        parts = [p for p in out.split("\0") if p]
        if status not in (0, 1) or not parts:
            raise ReviewError(f"cannot tell what accepting {task.key} would bring: {err.strip() or 'git merge-tree failed'}")
        tree, conflicts = parts[0], tuple(dict.fromkeys(parts[1:]))
        files = diff_files(r, head, tree)
        touched = {t.key: _touched(r, t) for t in (task, *dependencies)}
    marked = tuple(
        IncomingFile(f, tuple(k for k, paths in touched.items() if f.path in paths or f.old_path in paths) or (task.key,))
        for f in files
    )
    return Incoming(task.key, head, marked, conflicts)


def _touched(r: git.Repo, work: OwnRange) -> frozenset[str]:
    """The paths a task's own commits changed (both sides of a rename)."""
    if not work.start_commit or not work.head_commit or work.start_commit == work.head_commit:
        return frozenset()
    try:
        out = git_run(r, "diff", "--name-only", "-z", "--no-renames", work.start_commit, work.head_commit, "--")
    except ReviewError:  # its commits are gone (garbage-collected): nothing can be attributed to it
        return frozenset()
    return frozenset(p for p in out.split("\0") if p)
