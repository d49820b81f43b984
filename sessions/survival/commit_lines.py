"""What each commit's patch adds and removes, file by file, as hashes of meaningful lines.

Read with one ``git log -p -U0 --cc`` for all the commits asked at once; a merge's patch is its
combined diff, so only the lines none of its parents has count as added (a conflict resolved by
hand): the others ``git blame`` hands to a parent. A commit's patch never changes, so what was read
is kept between runs with the blames (:mod:`sessions.survival.blame_cache`).
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from sessions.git.blame import GitRunner
from sessions.survival.line_filter import line_hash_int, meaningful

__all__ = ["CommitLines", "FileLines", "decode", "encode", "totals"]

FileLines = dict[str, tuple[Counter[int], Counter[int]]]  # path -> (added, removed)


class KeptLines(Protocol):
    def get_lines(self, shas: Sequence[str]) -> dict[str, bytes]: ...

    def put_lines(self, found: dict[str, bytes]) -> None: ...


class CommitLines:
    """Per commit, per file, the lines its patch adds and removes; read once, from git or kept."""

    def __init__(self, runner: GitRunner, kept: KeptLines | None = None) -> None:
        self.runner = runner
        self.kept = kept
        self._known: dict[str, FileLines] = {}
        self._new: dict[str, FileLines] = {}

    def of(self, shas: Iterable[str]) -> dict[str, FileLines]:
        asked = list(dict.fromkeys(shas))
        unread = [c for c in asked if c not in self._known]
        if unread and self.kept is not None:
            for sha, data in self.kept.get_lines(unread).items():
                try:
                    self._known[sha] = decode(data)
                except (ValueError, zlib.error):
                    continue
            unread = [c for c in unread if c not in self._known]
        if unread:
            read = _read(self.runner, unread)
            self._known.update(read)
            self._new.update(read)
        return {c: self._known[c] for c in asked}

    def keep(self) -> None:
        if self.kept is not None and self._new:
            self.kept.put_lines({sha: encode(lines) for sha, lines in self._new.items()})
        self._new = {}


def totals(lines: FileLines) -> tuple[Counter[int], Counter[int]]:
    """(added, removed) over every file."""
    added: Counter[int] = Counter()
    removed: Counter[int] = Counter()
    for a, r in lines.values():
        added.update(a)
        removed.update(r)
    return added, removed


def encode(lines: FileLines) -> bytes:
    data = {p: [sorted(a.items()), sorted(r.items())] for p, (a, r) in lines.items()}
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 1)


def decode(data: bytes) -> FileLines:
    raw = json.loads(zlib.decompress(data))
    if not isinstance(raw, dict):
        raise ValueError("not the lines of a commit")
    return {p: (Counter(dict(map(tuple, a))), Counter(dict(map(tuple, r)))) for p, (a, r) in raw.items()}


def _read(runner: GitRunner, shas: list[str]) -> dict[str, FileLines]:
    out = runner.run(
        "log", "--stdin", "--no-walk=unsorted", "-p", "-U0", "--cc", "--no-color", "--no-ext-diff",
        "--no-textconv", "--no-renames", "--format=%x1e%H",
        input="".join(f"{c}\n" for c in shas).encode(),
    )
    found: dict[str, FileLines] = {c: {} for c in shas}
    for record in out.split(b"\x1e")[1:]:
        sha, _, patch = record.partition(b"\n")
        found[sha.decode().strip()] = _parse(patch)
    return found


def _parse(patch: bytes) -> FileLines:
    """A plain or combined patch; a combined diff's line counts when all its marks agree."""
    found: FileLines = {}
    current: tuple[Counter[int], Counter[int]] | None = None
    in_header = False
    width = 1
    for line in patch.split(b"\n"):
        if line.startswith(b"diff "):
            current, in_header = None, True
        elif in_header:
            if line.startswith(b"--- ") or line.startswith(b"+++ "):
                name = line[4:]
                if name != b"/dev/null":
                    path = name[2:] if name[:2] in (b"a/", b"b/") else name
                    current = found.setdefault(path.decode("utf-8", "surrogateescape"), (Counter(), Counter()))
            elif line.startswith(b"@@"):
                in_header = False
                width = len(line) - len(line.lstrip(b"@")) - 1
        elif line.startswith(b"@@"):
            width = len(line) - len(line.lstrip(b"@")) - 1
        elif current is not None:
            marks, text = line[:width], line[width:]
            if marks == b"+" * width and meaningful(text):
                current[0][line_hash_int(text)] += 1
            elif marks == b"-" * width and meaningful(text):
                current[1][line_hash_int(text)] += 1
    return found
