"""Reading what git prints: an error's stderr as one line, and ``--numstat`` / ``--raw`` records.

Every part that runs git (the engine's worktrees, the session's facts, blame and merges) reads its
output here, so a path with a tab or a newline, a rename or a binary file is read one way everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.events import FileStat

# What a ``--raw`` status letter means for a file (a copy is a new file; a type change a modification).
CHANGE_KINDS = {"A": "created", "C": "created", "D": "deleted", "M": "modified", "T": "modified", "R": "renamed"}

_PREFIXES = ("fatal: ", "error: ")


class GitOutputError(ValueError):
    """Git printed something its readers here do not expect (never seen in practice)."""


def stderr_line(stderr: str | bytes | None) -> str:
    """The line of git's ``stderr`` that says what went wrong, without its ``fatal:`` / ``error:``:
    the first line that starts so (git may warn or hint before it), else the first line; "" when
    stderr is empty."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
    first = ""
    for raw in text.splitlines():
        line = raw.strip()
        said = line
        for prefix in _PREFIXES:
            said = said.removeprefix(prefix)
        if not said:
            continue
        if said != line:
            return said
        first = first or said
    return first


def parse_numstat_z(out: str) -> tuple[FileStat, ...]:
    """``git diff --numstat -z`` output: renames come as ``a\\tr\\t\\0old\\0new\\0``; a binary file's
    counts are None."""
    stats: list[FileStat] = []
    parts = out.split("\0")
    i = 0
    while i < len(parts):
        entry = parts[i]
        i += 1
        if not entry:
            continue
        added, removed, path = entry.split("\t", 2)
        if path == "":  # a rename: the old and new paths follow
            path = parts[i + 1]
            i += 2
        binary = added == "-"
        stats.append(FileStat(path, None if binary else int(added), None if binary else int(removed)))
    return tuple(stats)


@dataclass(frozen=True, slots=True)
class RawChange:
    """One file of ``git diff --raw --numstat -z``: its status letter, path (the new one for a rename
    or copy), the old path of a rename or copy, and its line counts (None for a binary file)."""

    status: str
    path: str
    old_path: str | None
    added: int | None
    removed: int | None


def parse_raw_numstat_z(out: str) -> list[RawChange]:
    """``--raw --numstat -z`` output, in git's order: first every raw record (``:<modes> <shas>
    <status>`` then one or two paths), then the numstat records of the same files in the same order.
    Raises :class:`GitOutputError` when the two halves disagree (both come from one diffcore run)."""
    tokens = out.split("\0")
    if tokens and tokens[-1] == "":
        tokens.pop()
    heads: list[tuple[str, str, str | None]] = []
    i = 0
    while i < len(tokens) and tokens[i].startswith(":"):
        status = tokens[i].rsplit(" ", 1)[-1]
        if status[:1] in ("R", "C"):
            heads.append((status, tokens[i + 2], tokens[i + 1]))
            i += 3
        else:
            heads.append((status, tokens[i + 1], None))
            i += 2
    stats = parse_numstat_z("\0".join(tokens[i:]) + "\0")
    if len(stats) != len(heads):
        raise GitOutputError("raw and numstat records disagree")
    return [RawChange(status, path, old, s.added, s.removed) for (status, path, old), s in zip(heads, stats)]
