"""The store's database file and its connections: checking where the file goes, refusing a file of
another kind or of a newer schema before SQLite touches it, preparing (migrating) it, and opening
autocommit connections with the store's pragmas.

Every error a user can cause (a file that is not a database, a directory, an unwritable place, a
newer schema, a lock held too long) is a :class:`StoreError` with one clear line.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import aiosqlite

from engine.paths import private_dir
from sessions.store.schema import LATEST, NewerSchema, migrate

DEFAULT_BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A problem with the database the user can act on; ``str()`` is one line for the terminal."""


class SessionExists(StoreError):
    """An imported session would take a label (repo, date, number) that another session holds."""

    def __init__(self, message: str, existing_id: int) -> None:
        super().__init__(message)
        self.existing_id = existing_id


def connection_pragmas(busy_timeout_ms: int) -> list[str]:
    """The pragmas every connection to the store runs first."""
    return [
        f"PRAGMA busy_timeout = {int(busy_timeout_ms)}",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    ]


def explain(exc: sqlite3.Error, path: Path, busy_timeout_ms: int) -> StoreError:
    """One clear line for an sqlite error about the database file as a whole."""
    msg = str(exc)
    low = msg.lower()
    if "not a database" in low:
        text = f"{path} is not a Session Cockpit database (it is not an SQLite file)"
    elif "locked" in low or "busy" in low:
        text = f"{path} is locked by another program (waited {busy_timeout_ms} ms); try again when it is done"
    elif "readonly" in low or "read-only" in low:
        text = f"{path} is read-only: the cockpit cannot write to it"
    elif "unable to open" in low:
        text = f"cannot open {path}: check that its directory exists and is writable"
    elif "malformed" in low or "corrupt" in low:
        text = f"{path} is damaged ({msg})"
    else:
        text = f"{path}: {msg}"
    return StoreError(text)


def _check_location(path: str | os.PathLike[str]) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise StoreError(f"cannot create {path}: {parent} is not a directory")
    try:
        private_dir(parent)
    except OSError as exc:
        raise StoreError(f"cannot create the directory {parent}: {exc.strerror or exc}") from None
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StoreError(f"{path} is not writable by this user")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create {path}: {parent} is not writable")
    return path


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _header_version(path: Path) -> int:
    """The ``user_version`` in the file's header (0 for a new file), read without SQLite, so a file
    of another kind or of a newer schema is refused before SQLite opens (and could touch) it."""
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not header:
        return 0
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path} is not a Session Cockpit database (it is not an SQLite file)")
    return int.from_bytes(header[60:64], "big", signed=True)


def _newer(path: Path, found: int) -> StoreError:
    return StoreError(
        f"{path} was written by a newer Session Cockpit (schema {found}, this one knows {LATEST}); upgrade it"
    )


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _prepare_once(path: Path, busy_timeout_ms: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        # Read only, in one statement (one snapshot, as another program may be migrating the file).
        version, objects = conn.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)"
        ).fetchone()
        if version > LATEST:
            raise NewerSchema(version)
        if version == 0 and objects:
            raise StoreError(f"{path} is a database of another program, not of Session Cockpit; choose another file")
        for pragma in connection_pragmas(busy_timeout_ms):
            conn.execute(pragma)
        migrate(conn)
    finally:
        conn.close()


# Files this process has prepared. Their header is not read again with plain file I/O: closing ANY
# descriptor of a database file drops every POSIX lock the process's SQLite connections hold on it,
# after which another program closing its connection would believe it the last one, checkpoint and
# delete the write-ahead log under our feet (what we write next would be lost if we were killed).
_PREPARED: set[str] = set()


def prepare_database(path: str | os.PathLike[str], busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Path:
    """Check the file, refuse a newer schema (without touching the file) and migrate. Blocking.

    SQLite reports a few lock conflicts at once instead of waiting for the busy timeout (two
    programs turning the same new file to WAL at the same moment is a deadlock it breaks that way),
    so the whole step, which is idempotent, is tried again until the timeout has passed.
    """
    path = _check_location(path)
    key = str(path.resolve())
    if key not in _PREPARED:
        found = _header_version(path)
        if found > LATEST:
            raise _newer(path, found)
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            _prepare_once(path, busy_timeout_ms)
            _PREPARED.add(key)
            return path
        except NewerSchema as exc:  # the newer version was still in the write-ahead log
            raise _newer(path, exc.found) from None
        except sqlite3.Error as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise explain(exc, path, busy_timeout_ms) from None
        time.sleep(0.02)


async def connect(path: Path, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> aiosqlite.Connection:
    """An autocommit aiosqlite connection with the store's pragmas (the file must be prepared)."""
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise explain(exc, path, busy_timeout_ms) from None
    try:
        for pragma in connection_pragmas(busy_timeout_ms):
            await conn.execute(pragma)
    except sqlite3.Error as exc:
        await conn.close()
        raise explain(exc, path, busy_timeout_ms) from None
    return conn
