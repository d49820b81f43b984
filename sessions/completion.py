"""Sessions whose summary is not written yet ("pending completion"), offered again at the next start.

A session of the cockpit is pending completion when it has ended but its summary was never saved
(no summary, or only the draft the form keeps while it is typed), or when it is still active although
no living cockpit holds it (its cockpit stopped before ending it). Imported sessions came with their
summary and are never pending.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sessions.git.facts import GitFactsError
from sessions.lifecycle import finish_session, resume_session
from sessions.liveness import is_live
from sessions.store.store import Store
from sessions.store.rows import SessionRow


@dataclass(frozen=True)
class PendingCompletion:
    row: SessionRow
    draft: bool  # a draft of its summary is kept
    left_open: bool  # still active: its cockpit stopped before ending it

    def describe(self) -> str:
        if self.left_open:
            return f"Session {self.row.label} was left open by a cockpit that stopped."
        kept = "its draft is kept" if self.draft else "no summary yet"
        return f"Session {self.row.label} ended without a saved summary ({kept})."


async def pending_completion(store: Store, repo: str | Path) -> list[PendingCompletion]:
    """The repository's sessions pending completion, newest first."""
    found = []
    for row in await store.list_sessions(repo):
        if row.source != "cockpit":
            continue
        if row.status == "active" and is_live(store.path, row.id):
            continue  # a living cockpit runs it
        saved = await store.get_summary(row.id)
        if row.status == "active" or saved is None or saved[1]:
            found.append(PendingCompletion(row, draft=saved is not None and saved[1],
                                           left_open=row.status == "active"))
    return found


async def close_left_open(store: Store, row: SessionRow) -> SessionRow:
    """End a session a stopped cockpit left active (as abandoned), so its summary can be written.

    A session a living cockpit took over meanwhile is returned as it is.
    """
    if row.status != "active":
        return row
    session = await resume_session(store, row, Path(row.repo))
    if session is None:
        return row
    try:
        return await finish_session(store, session, "abandoned")
    except (GitFactsError, OSError):  # the repository is gone: end it without an end commit
        session.lock.release()
        await store.end_session(row.id, "abandoned", None)
        ended = await store.get_session(row.id)
        assert ended is not None
        return ended
