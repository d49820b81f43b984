"""Which earlier sessions still wait for the human's word on how their work was used.

A session is pending when it was never assessed, or when its newest answer is "too early" and
that answer is older than the configured age (default 3 days): then it is time to ask again.
The active session (the one starting now) is never asked about.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sessions.store.store import Store
from sessions.store.rows import SessionRow, TaskRow

DEFAULT_TOO_EARLY_DAYS = 3.0
OUTCOME_KEYS = {"f": "fully", "p": "partially", "u": "not-used", "t": "too-early", "n": "na"}
OUTCOME_LABELS = {
    "fully": "fully used", "partially": "partially used", "not-used": "not used",
    "too-early": "too early", "na": "n/a",
}


@dataclass
class PendingSession:
    row: SessionRow
    accepted: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    asked_before: bool = False  # answered "too early" last time


async def pending_sessions(
    store: Store, repo: str, *, exclude: int | None = None,
    too_early_days: float = DEFAULT_TOO_EARLY_DAYS, now: float | None = None, limit: int | None = None,
) -> list[PendingSession]:
    """The repository's sessions whose outcome is not known yet, newest first."""
    now = time.time() if now is None else now
    found: list[PendingSession] = []
    for row in await store.list_sessions(repo):
        if row.id == exclude or row.status == "active":
            continue
        if row.outcome is None:
            found.append(await _facts(store, row, asked_before=False))
        elif row.outcome == "too-early":
            at = await store.outcome_time(row.id)
            if at is not None and now - at >= too_early_days * 86400:
                found.append(await _facts(store, row, asked_before=True))
        if limit is not None and len(found) >= limit:
            break
    return found


async def _facts(store: Store, row: SessionRow, asked_before: bool) -> PendingSession:
    tasks: list[TaskRow] = await store.tasks(row.id)
    files: list[str] = []
    for task in tasks:
        files.extend(f.path for f in task.files if f.path not in files)
    if not tasks:  # an imported session: its summary's table tells what changed
        summary = await store.get_summary(row.id)
        if summary is not None:
            files = [r.get("path", "") for r in summary[0].get("files_changed") or []]
    return PendingSession(
        row,
        accepted=[t.key for t in tasks if t.decision == "accepted"],
        discarded=[t.key for t in tasks if t.decision == "discarded"],
        files=files,
        asked_before=asked_before,
    )
