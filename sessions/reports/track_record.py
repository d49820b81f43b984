"""The engine's :class:`~engine.routing.TrackRecord` from the store: how each profile's past tasks went.

``routing = "best"`` asks, for a profile and a role, how the profile's past tasks of that role in this
repository went. The figures are those of the agent table of ``cockpit report`` (:mod:`sessions.reports.history`,
:func:`~sessions.reports.history.agent_table`), per profile *and role*, so that what the engine prefers is
what the developer reads there:

- the profile is the ``agent`` column: the profile actually used (the engine's choice for a routed
  task); the role is the ``role`` column (no role matches the tasks without one);
- ``tasks`` is the number of *decided* tasks (accepted or discarded by the developer): the sample
  behind the accepted share, which ``min_tasks`` bounds;
- ``accepted_share`` is accepted / decided;
- ``survival`` is the survival of its accepted work: each measured session's lines (its newest cached
  ``cockpit stuck`` result) are shared among that session's accepted tasks, whatever their role, by
  the lines each added; the profile's attributed surviving lines over its attributed added lines.
  None when none of its accepted tasks is in a measured session.

Everything is read at once (the history's two queries and one for the roles, on a read-only
connection) when the record is made (:meth:`StoreTrackRecord.load`, at run start, in the thread that
prepares the run); the engine's lookups are then dictionary reads. A database that does not exist
yet gives an empty record.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from engine.routing import Record
from sessions.reports.history import History, agent_table, load_history_file
from sessions.store.db import DEFAULT_BUSY_TIMEOUT_MS, explain, prepare_database
from sessions.store.rows import repo_key

_ROLES = """
SELECT t.id, COALESCE(t.role, '') FROM tasks t JOIN sessions s ON s.id = t.session_id
JOIN repos r ON r.id = s.repo_id WHERE r.path = ?
"""
_SEP = "\x00"  # joins profile and role into the agent table's key


class StoreTrackRecord:
    """Past results by (profile, role), read from the store at once (see the module's docstring)."""

    def __init__(self, records: dict[tuple[str, str], Record] | None = None) -> None:
        self._records = records or {}

    @classmethod
    def load(cls, db_path: str | os.PathLike[str], repo: str | os.PathLike[str],
             busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> "StoreTrackRecord":
        """The record of ``repo`` in the store at ``db_path`` (blocking; an empty one if there is no
        database yet). Raises :class:`~sessions.store.db.StoreError` for a file that is not a store."""
        path = Path(db_path).expanduser()
        if not path.exists():
            return cls()
        prepared = prepare_database(path, busy_timeout_ms)  # migrated, so the role column is there
        try:
            history = load_history_file(prepared, repo, busy_timeout_ms=busy_timeout_ms)
            conn = sqlite3.connect(prepared.resolve().as_uri() + "?mode=ro", uri=True, timeout=busy_timeout_ms / 1000)
            try:
                roles = dict(conn.execute(_ROLES, (repo_key(repo),)).fetchall())
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise explain(exc, prepared, busy_timeout_ms) from None
        return cls.from_history(history, roles)

    @classmethod
    def from_history(cls, history: History, roles: dict[int, str]) -> "StoreTrackRecord":
        """The records of a loaded history, ``roles`` giving each task's role by task id."""
        keyed = [t._replace(agent=f"{t.agent}{_SEP}{roles.get(t.id, '')}") for t in history.tasks]
        records = {}
        for row in agent_table(history.rows, keyed):
            profile, _, role = row.agent.partition(_SEP)
            records[(profile, role)] = Record(row.decided, row.accepted_share, row.survival)
        return cls(records)

    def record(self, profile: str, role: str | None) -> Record:
        return self._records.get((profile, role or ""), Record(0, None, None))
