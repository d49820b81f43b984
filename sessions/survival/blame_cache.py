"""Whole-file blames (and what each commit's patch adds and removes) kept between runs: a SQLite
file in the user's cache folder.

A blame of a file at a commit, stopped at given commits, never changes (the same options, the same
history), so it is kept under (path, commit, lower bound) and any later measure of any session there
reads it instead of running git: when HEAD moves on, only the files the new commits changed are
blamed again. Per line it holds what the measure needs, the commit and the hash of the content.

The file is a cache: deleting it only makes the next measure slower. One that cannot be opened or
written (a read-only home, a broken file, another program holding it too long) is left alone and
the measure runs without it.
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path

from engine.paths import cache_dir, private_dir
from sessions.survival.shared_blame import FileBlame

__all__ = ["BlameCache", "default_cache_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blames (
    path TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    lower TEXT NOT NULL,
    options TEXT NOT NULL,
    commits TEXT NOT NULL,
    owner BLOB NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (path, commit_sha, lower, options)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commit_lines (
    sha TEXT PRIMARY KEY,
    data BLOB NOT NULL
) WITHOUT ROWID;
"""


def default_cache_path() -> Path:
    return cache_dir() / "survival-blames.sqlite"


class BlameCache:
    """Blames by (path, commit, lower bound, options); every method is safe to call when the file
    cannot be used (it then finds nothing and keeps nothing)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, options: str = "") -> None:
        self.options = options
        self._conn: sqlite3.Connection | None = None
        try:
            target = Path(path) if path is not None else default_cache_path()
            private_dir(target.parent)
            conn = sqlite3.connect(target, timeout=2.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        except (OSError, sqlite3.Error):
            self._conn = None

    def get(self, path: str, commit: str, lower: Sequence[str]) -> FileBlame | None:
        if self._conn is None:
            return None
        try:
            row = self._conn.execute(
                "SELECT commits, owner, hashes FROM blames WHERE path = ? AND commit_sha = ? AND lower = ?"
                " AND options = ?",
                (path, commit, " ".join(lower), self.options),
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            owner, hashes = array("I"), array("Q")
            owner.frombytes(zlib.decompress(row[1]))
            hashes.frombytes(zlib.decompress(row[2]))
        except (zlib.error, ValueError):
            return None
        commits = tuple(row[0].split("\n")) if row[0] else ()
        if len(owner) != len(hashes) or any(i >= len(commits) for i in owner):
            return None
        return FileBlame(path, commit, commits, owner, hashes)

    def put_all(self, blames: Iterable[tuple[FileBlame, Sequence[str]]]) -> None:
        """Keep ``(blame, lower bound)`` pairs, in one transaction."""
        if self._conn is None:
            return
        rows = [
            (b.path, b.commit, " ".join(lower), self.options, "\n".join(b.commits),
             zlib.compress(b.owner.tobytes(), 1), zlib.compress(b.hashes.tobytes(), 1))
            for b, lower in blames
        ]
        self._write("INSERT OR REPLACE INTO blames VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def get_lines(self, shas: Sequence[str]) -> dict[str, bytes]:
        """What was kept of these commits' patches (:mod:`sessions.survival.commit_lines`)."""
        if self._conn is None or not shas:
            return {}
        found: dict[str, bytes] = {}
        try:
            for i in range(0, len(shas), 500):
                chunk = list(shas[i:i + 500])
                marks = ",".join("?" * len(chunk))
                found.update(self._conn.execute(f"SELECT sha, data FROM commit_lines WHERE sha IN ({marks})", chunk))
        except sqlite3.Error:
            return {}
        return found

    def put_lines(self, found: dict[str, bytes]) -> None:
        self._write("INSERT OR REPLACE INTO commit_lines VALUES (?, ?)", list(found.items()))

    def _write(self, sql: str, rows: list[tuple]) -> None:
        """``rows`` in one transaction; nothing when the file cannot be written."""
        if self._conn is None or not rows:
            return
        try:
            self._conn.execute("BEGIN")
            self._conn.executemany(sql, rows)
            self._conn.execute("COMMIT")
        except sqlite3.Error:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
