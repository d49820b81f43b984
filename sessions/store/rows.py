"""The rows the store returns (sessions, runs, tasks, attempts, log lines, interventions), the
SELECTs whose columns they are built from, and how a repository and a session are named.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.events import FileStat


def repo_key(path: str | os.PathLike[str]) -> str:
    """How a repository is named in the store: its absolute, resolved path."""
    return str(Path(path).expanduser().resolve())


def session_label(date: str, day_number: int) -> str:
    """``2026-03-04`` and 2 → ``20260304.2``."""
    return f"{date.replace('-', '')}.{day_number}"


def rating_value(value: Any) -> int | None:
    """A stored rating as a whole number, or None when it is not one (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    repo: str
    date: str
    day_number: int
    label: str
    objective: str
    status: str
    start_commit: str | None
    end_commit: str | None
    started_at: float
    ended_at: float | None
    rating: int | None
    outcome: str | None
    source: str = "cockpit"


@dataclass(frozen=True, slots=True)
class RunRow:
    id: str
    session_id: int
    plan_path: str | None
    base_commit: str | None
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: int
    session_id: int
    run_id: str | None
    key: str
    title: str
    agent: str
    prompt: str
    depends_on: tuple[str, ...]
    state: str
    attempts: int
    tokens_in: int
    tokens_out: int
    cache_write: int
    cache_read: int
    cost_usd: float | None
    branch: str | None
    worktree: str | None
    start_commit: str | None
    head_commit: str | None
    added: int | None
    removed: int | None
    files: tuple[FileStat, ...]
    final_message: str | None
    decision: str | None
    decision_reason: str | None
    decided_at: float | None
    timeout: float | None
    retries: int
    role: str | None = None
    route: str | None = None  # why the engine chose the profile in ``agent`` (a routed task)
    effective_prompt: str | None = None  # what the agent's last attempt got; None: ``prompt`` as written
    check: dict[str, Any] | None = None  # the last check: command, ok, exit_code, timed_out, counts
    tokens_known: bool = True  # False: its agent reports no billed tokens (the token columns are unknown)
    tokens_approximate: bool = False  # its agent rounds its token figures
    # How its accepted work came in (None while not accepted; see :class:`Acceptance`).
    accepted_as: str | None = None
    accepted_via: str | None = None
    accepted_into: str | None = None
    accept_commit: str | None = None
    picked: tuple[tuple[str, str | None], ...] = ()
    # its agent's own session, newest (a Claude Code session id), and how to continue it by hand
    agent_session: str | None = None
    resume_command: str | None = None


@dataclass(frozen=True, slots=True)
class Acceptance:
    """How a task's work came into the developer's branch when it was accepted.

    ``kind`` "merge": a branch holding its commits was merged (its own branch, or with ``via`` the
    branch of the dependant whose accept brought it); ``commit`` is the merge commit (None: the
    branch held it already). "picked": copies of its own commits only were made on ``into``;
    ``picked`` pairs each original commit with its copy (None: the branch already held that change)
    and ``commit`` is the last copy.
    """

    kind: str  # "merge" | "picked"
    into: str
    commit: str | None
    via: str | None = None  # the task whose accept brought it in; None: its own accept
    picked: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class AttemptRow:
    task_id: int
    number: int
    started_at: float | None
    ended_at: float | None
    state: str | None
    exit_code: int | None
    agent_session: str | None = None  # the agent's own session in this attempt (a Claude Code session id)


@dataclass(frozen=True, slots=True)
class LogLine:
    id: int
    task_id: int
    attempt: int
    stream: str
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Intervention:
    id: int
    session_id: int
    task_key: str | None
    at: float
    type: str
    text: str


SESSION_SELECT = """
SELECT s.id, r.path, s.date, s.day_number, s.objective, s.status, s.start_commit, s.end_commit,
       s.started_at, s.ended_at,
       (SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.rating') END
          FROM summaries WHERE session_id = s.id),
       (SELECT outcome FROM assessments WHERE session_id = s.id ORDER BY at DESC, id DESC LIMIT 1),
       s.source
FROM sessions s JOIN repos r ON r.id = s.repo_id
"""

TASK_COLUMNS = (
    "id, session_id, run_id, task_key, title, agent, prompt, depends_on, state, attempts, tokens_in, "
    "tokens_out, cache_write, cache_read, cost_usd, branch, worktree, start_commit, head_commit, added, "
    "removed, files_json, final_message, decision, decision_reason, decided_at, timeout, retries, role, route, "
    "effective_prompt, check_json, tokens_known, tokens_approximate, accepted_as, accepted_via, accepted_into, "
    "accept_commit, picked_json, agent_session, resume_command"
)


def session_row(r: Sequence[Any]) -> SessionRow:
    return SessionRow(
        id=r[0], repo=r[1], date=r[2], day_number=r[3], label=session_label(r[2], r[3]), objective=r[4],
        status=r[5], start_commit=r[6], end_commit=r[7], started_at=r[8], ended_at=r[9],
        rating=rating_value(r[10]), outcome=r[11], source=r[12],
    )


def _files(files_json: str | None) -> tuple[FileStat, ...]:
    if not files_json:
        return ()
    return tuple(FileStat(f["path"], f.get("added"), f.get("removed")) for f in json.loads(files_json))


def task_row(r: Sequence[Any]) -> TaskRow:
    fields = list(r)
    fields[7] = tuple(json.loads(r[7] or "[]"))
    fields[21] = _files(r[21])
    fields[31] = _check_json(r[31])
    fields[32], fields[33] = bool(r[32]), bool(r[33])
    fields[38] = _picked(r[38])
    return TaskRow(*fields)


def _picked(text: str | None) -> tuple[tuple[str, str | None], ...]:
    if not text:
        return ()
    try:
        pairs = json.loads(text)
    except ValueError:
        return ()
    return tuple((str(p[0]), p[1]) for p in pairs if isinstance(p, list) and len(p) == 2)


def _check_json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
