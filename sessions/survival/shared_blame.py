"""Whole-file ``git blame -w -M -C`` of files at commits, each made once and shared.

Every blame is of the whole file with its full history: a blame limited to some lines (``-L``)
changes what git's move and copy detection finds (its score is per blame block, and ``-L`` cuts the
blocks), and a blame limited to a range of commits cannot be shared between sessions. So one blame
of a file at a commit answers every session, task and horizon measured there.

:class:`SharedBlames` runs them in a thread pool (git in subprocesses: they run in parallel), keyed
by (path, commit), and keeps what the measure needs of each, compactly: for each line the commit it
is given to and the hash of its content (0 when it holds no letter or digit). Blames made in an
earlier run are read from where they were kept (:mod:`sessions.survival.blame_cache`).
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Protocol

from engine.git_output import stderr_line
from sessions.git.blame import GitRunner, parse_porcelain
from sessions.git.facts import GitFactsError
from sessions.survival.line_filter import line_hash_int, meaningful

__all__ = ["BLAME_OPTIONS", "FileBlame", "SharedBlames"]

BLAME_OPTIONS = ("-w", "-M", "-C")


@dataclass(frozen=True, slots=True)
class FileBlame:
    """A whole-file blame: ``commits[owner[i]]`` wrote line ``i``, whose hash is ``hashes[i]``."""

    path: str
    commit: str  # the commit blamed at
    commits: tuple[str, ...]
    owner: array  # array("I"): index into commits, one per line
    hashes: array  # array("Q"): line hash, 0 for a line that does not count

    def lines(self) -> "zip[tuple[int, int]]":
        return zip(self.owner, self.hashes)

    @property
    def size(self) -> int:
        return len(self.owner)


def blame_file(runner: GitRunner, path: str, commit: str, lower: Sequence[str] = ()) -> FileBlame:
    """``git blame --porcelain -w -M -C [^lower...] <commit> -- path``, of the whole file.

    ``lower``: commits whose history is not walked (its lines are given to them as boundaries);
    what the blame gives to the commits after them is what a blame of the whole history gives."""
    code, out, err = runner.status(
        "blame", "--porcelain", *BLAME_OPTIONS, *(f"^{c}" for c in lower), commit, "--", path
    )
    if code != 0:
        message = stderr_line(err)
        if "no such path" in message:
            return FileBlame(path, commit, (), array("I"), array("Q"))
        raise GitFactsError(message or f"git blame failed for {path}")
    commits, lines = parse_porcelain(out)
    index: dict[str, int] = {}
    owner = array("I")
    hashes = array("Q")
    for sha, content in lines:
        i = index.get(sha)
        if i is None:
            i = index[sha] = len(index)
        owner.append(i)
        hashes.append(line_hash_int(content) if meaningful(content) else 0)
    return FileBlame(path, commit, tuple(index), owner, hashes)


class KeptBlames(Protocol):
    """Where blames are kept between runs (:class:`sessions.survival.blame_cache.BlameCache`)."""

    def get(self, path: str, commit: str, lower: Sequence[str]) -> FileBlame | None: ...

    def put_all(self, blames: Iterable[tuple[FileBlame, Sequence[str]]]) -> None: ...

    def get_lines(self, shas: Sequence[str]) -> dict[str, bytes]: ...

    def put_lines(self, found: dict[str, bytes]) -> None: ...


class SharedBlames:
    """Blames by (path, commit), each run once in ``pool`` (or read from ``kept``), held for the
    life of the object (one measure of many sessions: about 12 bytes a line)."""

    def __init__(
        self, runner: GitRunner, pool: Executor, lower: Sequence[str] = (), kept: KeptBlames | None = None,
    ) -> None:
        self.runner = runner
        self.pool = pool
        self.lower = tuple(lower)
        self.kept = kept
        self._futures: dict[tuple[str, str], Future[FileBlame]] = {}
        self._new: list[Future[FileBlame]] = []
        self._not_kept: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def known(self, path: str, commit: str) -> bool:
        """Whether the blame is made already: in this run, or kept from an earlier one (then read)."""
        key = (path, commit)
        with self._lock:
            if key in self._futures:
                return True
            if key in self._not_kept or self.kept is None:
                return False
            kept = self.kept.get(path, commit, self.lower)
            if kept is None:
                self._not_kept.add(key)
                return False
            found: Future[FileBlame] = Future()
            found.set_result(kept)
            self._futures[key] = found
            return True

    def submit(self, path: str, commit: str) -> Future[FileBlame]:
        """The blame of ``path`` at ``commit``: read or started at the first call, shared after."""
        key = (path, commit)
        if not self.known(path, commit):
            with self._lock:
                if key not in self._futures:
                    self._futures[key] = self.pool.submit(blame_file, self.runner, path, commit, self.lower)
                    self._new.append(self._futures[key])
        return self._futures[key]

    def keep(self) -> None:
        """Keep the blames this object ran (those done without error) for later runs."""
        if self.kept is not None:
            done = [f.result() for f in self._new if f.done() and f.exception() is None]
            self.kept.put_all((b, self.lower) for b in done)
        self._new = []
