"""Which sessions a living cockpit holds, so that recovery never touches another cockpit's session.

A cockpit running a session holds an advisory lock (``flock``) on a small file beside the database.
The kernel releases it when the process dies, however it dies, so "the lock is free" means "no
cockpit is running this session any more".
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


def _lock_dir(db_path: Path) -> Path:
    folder = db_path.parent / (db_path.name + ".locks")
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class SessionLock:
    def __init__(self, db_path: Path, session_id: int) -> None:
        self.path = _lock_dir(db_path) / f"session-{session_id}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another living process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "SessionLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_live(db_path: Path, session_id: int) -> bool:
    """True when some living process holds the session's lock."""
    probe = SessionLock(db_path, session_id)
    if probe.acquire():
        probe.release()
        return False
    return True
