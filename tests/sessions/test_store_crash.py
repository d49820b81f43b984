"""A cockpit killed with SIGKILL while it writes loses only the unflushed batch, and nothing else."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from sessions.store.store import Store
from tests.helpers.paths import HELPERS

CHILD = HELPERS / "store_crash_child.py"
WANTED = 2000  # lines reported flushed before the kill


def run_until_flushed(db: Path) -> tuple[int, int]:
    """Start the child, read its reports until WANTED lines were flushed, SIGKILL it: (session, flushed)."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    session_id = flushed = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # bounded by the test timeout; the child writes steadily
            word, value = line.split()
            if word == "session":
                session_id = int(value)
            elif word == "flushed":
                flushed = int(value)
                if flushed >= WANTED:
                    break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    assert session_id and flushed >= WANTED, err
    return session_id, flushed


async def test_sigkill_loses_only_the_unflushed_batch(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    session_id, flushed = run_until_flushed(db)

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    async with await Store.open(db) as store:
        session = await store.get_session(session_id)
        assert session is not None and session.status == "active"
        tasks = {t.key: t for t in await store.tasks(session_id)}
        lines = []
        after = 0
        while page := await store.log_lines(tasks["run"].id, after_id=after, limit=5000):
            lines += page
            after = page[-1].id
        assert len(lines) >= flushed
        assert [line.text for line in lines] == [f"line {i}" for i in range(len(lines))]  # a prefix, no gaps

        assert sorted(await store.recover_interrupted(session_id)) == ["held", "later", "run", "wait"]
        states = {t.key: t.state for t in await store.tasks(session_id)}
        assert states == {"run": "interrupted", "wait": "interrupted", "held": "interrupted",
                          "done": "succeeded", "later": "interrupted"}  # a pending task never starts either
        (attempt,) = await store.attempts(tasks["run"].id)
        assert (attempt.state, attempt.exit_code) == ("interrupted", None) and attempt.ended_at is not None
        assert await store.get_summary(session_id) == ({"notes": "half-written draft"}, True)
        # the file takes new work after the crash
        again = await store.create_session("/repo", "after the crash", "base", date=session.date)
        assert again.day_number == 2
