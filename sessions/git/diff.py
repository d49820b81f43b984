"""A task's change between two commits (or trees), file by file, each file with its own part of the
unified diff. Blocks (runs ``git``).
"""
from __future__ import annotations

from dataclasses import dataclass

import git

from engine.git_output import CHANGE_KINDS, GitOutputError, parse_raw_numstat_z
from sessions.git.checkout import ReviewError, git_run

__all__ = ["FileDiff", "diff_files"]

_DIFF_OPTIONS = (
    "-M", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative",
    "--src-prefix=a/", "--dst-prefix=b/",
)


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


def diff_files(r: git.Repo, start: str, head: str) -> tuple[FileDiff, ...]:
    """The change from ``start`` to ``head`` (commits or trees), file by file, in git's diff order."""
    raw = git_run(r, "diff", "-z", "--raw", "--numstat", *_DIFF_OPTIONS, start, head, "--")
    patch = git_run(r, "diff", "--patch", *_DIFF_OPTIONS, start, head, "--")
    records = _parse_raw_numstat(raw)
    sections = _split_patch(patch)
    if len(sections) != len(records):  # never expected: one diffcore run, one order; be safe
        sections = [
            git_run(r, "diff", "--patch", *_DIFF_OPTIONS, start, head, "--", *([old] if old else []), path)
            for _, path, old, _, _ in records
        ]
    return tuple(
        FileDiff(path, change, old, added, removed, text)
        for (change, path, old, added, removed), text in zip(records, sections)
    )


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


