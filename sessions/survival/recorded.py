"""The git survival of recorded sessions: their work kept in the store, results cached there.

The work
  :func:`take_fingerprint` records what a session's agents did (:mod:`sessions.survival.work`) in a
  thread and keeps it in the store (``fingerprints`` table): for a cockpit session, each task's own
  commits on its branch (from the task rows: where its worktree started, its branch's last commit)
  and the developer's own commits of the session's range; for an imported one, its commit range
  under the ``[survival]`` rule of ``cockpit.toml``. It is called when a session ends
  (:func:`sessions.lifecycle.finish_session`) and when one is imported. It never raises: a session
  whose work cannot be recorded is left without it, and recorded when it is first measured while
  its commits exist. Once recorded, the commits may go (a discarded branch, garbage-collected):
  the record is all the measure needs.

Results
  :func:`measure_rows` measures sessions of one repository at one head, all at once (one blame per
  file and head shared between them); :func:`measure_session` one. Results are cached per
  (session, head) in the ``survival`` table and used as they are unless a horizon has come due since,
  a task was decided since, or they were measured another way.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from sessions.git.facts import GitFactsError, _opened, _resolve
from sessions.settings import load_session_settings
from sessions.store.rows import SessionRow, TaskRow
from sessions.store.store import Store
from sessions.survival.line_filter import FileFilter
from sessions.survival.measure import Decision, SessionInput, measure_sessions
from sessions.survival.results import DEFAULT_HORIZONS, SurvivalResult, horizon_label
from sessions.survival.work import AgentRule, SessionWork, TaskBranch, take_work

log = logging.getLogger(__name__)

__all__ = [
    "SessionSurvival",
    "cached_survival",
    "measure_rows",
    "measure_session",
    "resolve_head",
    "result_item",
    "survival_item",
    "take_fingerprint",
]


# --------------------------------------------------------------------------- the work


def _settings(repo: str | os.PathLike[str]) -> tuple[FileFilter, AgentRule]:
    """The ``[survival]`` settings of ``cockpit.toml``; ConfigError (one located line) when wrong."""
    settings = load_session_settings(Path(repo))
    return settings.file_filter(), settings.agent_rule()


def _task_branches(tasks: list[TaskRow]) -> list[TaskBranch]:
    return [TaskBranch(t.key, t.start_commit, t.head_commit) for t in tasks]


def _take(repo: str, row: SessionRow, tasks: list[TaskRow], end: str) -> SessionWork:
    file_filter, rule = _settings(repo)
    imported = row.source == "import"
    return take_work(
        repo, row.start_commit, end, None if imported else _task_branches(tasks), rule=rule, file_filter=file_filter,
    )


async def take_fingerprint(
    store: Store, session_id: int, repo: str | os.PathLike[str], start: str | None, end: str | None
) -> bool:
    """Record the work of the session (in a thread) and keep it; True when one was stored.

    Never raises (an exception is logged at debug level only): ending or importing a session must
    not fail because of it.
    """
    if not end:
        return False
    try:
        row = await store.get_session(session_id)
        if row is None:
            return False
        tasks = await store.tasks(session_id)
        if row.source == "import" and start == end:
            return False
        work = await asyncio.to_thread(_take, str(repo), _with_start(row, start), tasks, end)
        if not work.parts and not work.missing and (work.own is None or not work.own.commits):
            return False  # nothing was committed in the session
        await store.save_fingerprint(session_id, work.to_json())
    except Exception:  # noqa: BLE001 - see the docstring
        log.debug("no record of the work of session %s (%s..%s)", session_id, start, end, exc_info=True)
        return False
    return True


def _with_start(row: SessionRow, start: str | None) -> SessionRow:
    return replace(row, start_commit=start)


async def stored_work(store: Store, session_id: int) -> SessionWork | None:
    """The session's recorded work; None when there is none or it cannot be read."""
    text = await store.fingerprint(session_id)
    if text is None:
        return None
    try:
        return SessionWork.from_json(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- the cache


def _parse(data: str) -> SurvivalResult | None:
    try:
        return SurvivalResult.from_json(data)
    except (ValueError, TypeError, KeyError):
        return None  # written by another version of the measure: measured again


async def cached_survival(store: Store, session_id: int, head: str) -> SurvivalResult | None:
    """The stored result of the session at ``head`` (a full sha), or None. Never measures."""
    found = await store.survival(session_id, head)
    return None if found is None else _parse(found[1])


def _decisions(tasks: list[TaskRow]) -> dict[str, Decision]:
    found: dict[str, Decision] = {}
    for t in tasks:  # a task run again in a later run of the session: its newest row
        found[t.key] = Decision(t.decision, t.decided_at, t.agent, t.cost_usd)
    return found


def _options(horizons: tuple[float, ...], decisions: dict[str, Decision]) -> dict[str, Any]:
    return {
        "horizons": [horizon_label(d) for d in horizons],
        "decisions": {k: [d.decision, d.at] for k, d in sorted(decisions.items())},
    }


def _usable(result: SurvivalResult, now: float, options: dict[str, Any]) -> bool:
    return not result.stale(now) and all(result.options.get(k) == v for k, v in options.items())


# --------------------------------------------------------------------------- measuring


@dataclass
class SessionSurvival:
    """One session's answer: a result, or no result and the reason (its work was never recorded
    and its commits are gone, say)."""

    row: SessionRow
    head: str
    result: SurvivalResult | None
    reason: str | None = None
    cached: bool = False


def resolve_head(repo: str | os.PathLike[str], at: str = "HEAD") -> str:
    """Full sha of the commit ``at`` names in ``repo``; GitFactsError (one line) otherwise."""
    with _opened(repo) as r:
        return _resolve(r, at)


async def measure_session(
    store: Store, row: SessionRow, head: str, *, now: float | None = None,
    horizons: tuple[float, ...] = DEFAULT_HORIZONS, allow_commit_graph: bool = False,
) -> SessionSurvival:
    """The survival of the ended session ``row`` at ``head`` (see :func:`measure_rows`)."""
    return (await measure_rows(store, [row], head, now=now, horizons=horizons,
                               allow_commit_graph=allow_commit_graph))[0]


async def measure_rows(
    store: Store, rows: list[SessionRow], head: str, *, now: float | None = None,
    horizons: tuple[float, ...] = DEFAULT_HORIZONS, allow_commit_graph: bool = False,
) -> list[SessionSurvival]:
    """The survival of the ended sessions ``rows`` (of one repository) at ``head`` (a full sha).

    A usable stored result is returned as it is; the others are measured together in a thread
    and saved. Never raises for a session that cannot be measured: its answer carries the reason.
    """
    now = time.time() if now is None else float(now)
    horizons = tuple(horizons)
    answers: list[SessionSurvival | None] = [None] * len(rows)
    todo: list[tuple[int, SessionInput, dict[str, Any]]] = []
    repo = rows[0].repo if rows else ""
    for i, row in enumerate(rows):
        if not row.end_commit:
            answers[i] = SessionSurvival(row, head, None, "no end commit was recorded for the session")
            continue
        tasks = await store.tasks(row.id)
        decisions = _decisions(tasks)
        options = _options(horizons, decisions)
        found = await cached_survival(store, row.id, head)
        if found is not None and _usable(found, now, options):
            answers[i] = SessionSurvival(row, head, found, cached=True)
            continue
        earlier = None  # the newest result at another head, measured with the same decisions
        for _head, _at, data in await store.survival_rows(row.id):
            result = _parse(data)
            if result is not None and all(result.options.get(k) == v for k, v in options.items()):
                earlier = result
                break
        if not Path(row.repo).is_dir():
            answers[i] = SessionSurvival(row, head, None, f"the repository {row.repo} is not there any more")
            continue
        work = await stored_work(store, row.id)
        if work is None or (work.kind == "range" and row.source != "import" and tasks):
            # Never recorded, or recorded before tasks were told apart: read it now if the
            # commits are there; else the old record (the whole range) is what there is.
            try:
                work = await asyncio.to_thread(_take, row.repo, row, tasks, row.end_commit)
            except (GitFactsError, ValueError) as exc:
                if work is None:
                    answers[i] = SessionSurvival(
                        row, head, None,
                        f"no record of the session's work was kept and it cannot be read now ({exc})",
                    )
                    continue
            else:
                await store.save_fingerprint(row.id, work.to_json())
        todo.append((i, SessionInput(work, decisions, earlier=earlier), options))
    if todo:
        try:
            results = await asyncio.to_thread(
                partial(measure_sessions, allow_commit_graph=allow_commit_graph),
                repo, [t[1] for t in todo], head, horizons, now,
            )
        except (GitFactsError, ValueError) as exc:
            for i, _, _ in todo:
                answers[i] = SessionSurvival(rows[i], head, None, str(exc))
            return [a for a in answers if a is not None]
        for (i, _, options), result in zip(todo, results):
            result.options.update(options)
            await store.save_survival(rows[i].id, head, result.to_json())
            answers[i] = SessionSurvival(rows[i], head, result)
    return [a for a in answers if a is not None]


# --------------------------------------------------------------------------- as data


def survival_item(answer: SessionSurvival) -> dict[str, Any]:
    """One session's answer as plain data (``cockpit stuck --json``, ``cockpit show --json``)."""
    row, result = answer.row, answer.result
    if result is None:
        return {
            "session": row.label, "id": row.id, "start": row.start_commit, "end": row.end_commit,
            "head": answer.head, "kind": None, "rule": None, "added": None, "surviving": None, "ratio": None,
            "reverted": None, "reverting_commits": [], "method": "lost",
            "horizons": {horizon_label(d): None for d in DEFAULT_HORIZONS},
            "horizons_reached": {}, "tasks": [], "own": None, "reason": answer.reason, "cached": False,
        }
    return result_item(row, result, cached=answer.cached)


def _part_item(part: Any) -> dict[str, Any]:
    return {
        "task": part.key,
        "agent": part.agent,
        "decision": part.decision,
        "added": part.added,
        "surviving": part.surviving,
        "ratio": part.ratio,
        "method": part.method,
        "note": part.note,
        "cost_usd": part.cost_usd,
        "cost_per_line": part.cost_per_line,
        "horizons": {k: p.surviving for k, p in part.horizons.items()},
        "notes": {k: p.note for k, p in part.horizons.items() if p.note},
        "reverting_commits": [{"sha": r.sha, "how": r.how} for r in part.reverting],
    }


def result_item(row: SessionRow, result: SurvivalResult, cached: bool = False) -> dict[str, Any]:
    own = result.own
    return {
        "session": row.label,
        "id": row.id,
        "start": result.start,
        "end": result.end,
        "head": result.head,
        "kind": result.kind,
        "rule": result.rule,
        "added": result.added,
        "surviving": result.surviving,
        "ratio": result.ratio,
        "reverted": result.reverted,
        "reverting_commits": [r.sha for r in result.reverting_commits],
        "method": result.method,
        "horizons": dict(result.horizons),
        "horizons_reached": {k: p.reached for k, p in result.horizon_points.items()},
        "tasks": [_part_item(t) for t in result.tasks],
        "own": None if own is None else {"added": own.added, "surviving": own.surviving, "ratio": own.ratio},
        "missing": dict(result.missing),
        "excluded": dict(result.excluded),
        "reason": result.reason,
        "cached": cached,
    }
