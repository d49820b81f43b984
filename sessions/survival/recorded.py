"""The git survival of recorded sessions: fingerprints kept in the store, results cached there.

Fingerprints
  :func:`take_fingerprint` makes a session's fingerprint (:mod:`sessions.survival.fingerprints`) in a thread
  and keeps it in the store (``fingerprints`` table). It is called when a session ends
  (:func:`sessions.lifecycle.finish_session`) and when one is imported with commits that exist in
  the repository (:mod:`sessions.summary.importer`). Nothing is taken when the session committed nothing
  (start == end). It never raises: a session that cannot be fingerprinted (no such commit, git
  missing, a locked database) is simply left without one, and measured from its commits while they
  exist.

Results
  :func:`measure_session` measures one ended session at a head commit. Results are cached per
  (session, head) in the ``survival`` table. The measure's own cache is keyed by (start, end, head);
  :class:`StoreCache` maps the two: the session's stored rows are read (async) into a
  :class:`~sessions.survival.cache.DictCache` keyed by the (start, end, head) each result names, the
  measure runs in a thread against that in-memory cache, and what it put there is written back
  through the async store afterwards (so the worker thread never touches the database connections).
  A stored result is used as is unless a horizon has come due since it was measured, or it was
  measured with other options; then it is measured again and replaced.

  The stored fingerprint is always given to the measure when there is one: while the commits exist
  it gives the same answer without blaming the session's files at its end again (and is made again
  if it was made with other options), and once they are gone it is all there is. A session whose
  commits are gone and that has no fingerprint is reported as lost, with the reason, without
  calling the measure.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessions.survival import measure as survival
from sessions.survival.fingerprints import Fingerprint, blame_options, session_fingerprint
from sessions.git.blame import GitRunner
from sessions.git.facts import GitFactsError, _opened, _resolve
from sessions.survival.line_filter import FileFilter
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.survival.cache import DictCache
from sessions.survival.results import DEFAULT_HORIZONS, DAY, HorizonPoint, SurvivalResult, horizon_label

log = logging.getLogger(__name__)

__all__ = [
    "SessionSurvival",
    "StoreCache",
    "cached_survival",
    "measure_session",
    "resolve_head",
    "survival_item",
    "take_fingerprint",
]


# --------------------------------------------------------------------------- fingerprints


async def take_fingerprint(
    store: Store, session_id: int, repo: str | os.PathLike[str], start: str | None, end: str | None
) -> bool:
    """Fingerprint ``start..end`` of ``repo`` (in a thread) and keep it for the session.

    True when one was stored. Never raises (an exception is logged at debug level only): ending or
    importing a session must not fail because of it.
    """
    if not end or start == end:
        return False
    try:
        fingerprint = await asyncio.to_thread(session_fingerprint, repo, start, end)
        if fingerprint.start == fingerprint.end or not fingerprint.commits:
            return False  # nothing was committed in the session (two names of one commit)
        await store.save_fingerprint(session_id, fingerprint.to_json())
    except Exception:  # noqa: BLE001 - see the docstring
        log.debug("no fingerprint for session %s (%s..%s)", session_id, start, end, exc_info=True)
        return False
    return True


async def stored_fingerprint(store: Store, session_id: int) -> Fingerprint | None:
    """The session's fingerprint from the store; None when there is none or it cannot be read."""
    text = await store.fingerprint(session_id)
    if text is None:
        return None
    try:
        return Fingerprint.from_json(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- the cache


class StoreCache(DictCache):
    """A session's stored results as a :class:`~sessions.survival.cache.SurvivalCache` for the measure.

    Use ``await StoreCache.load(store, session_id)``, give it to ``measure`` (in a thread), then
    ``await cache.write_back(store)``: the results the measure put are saved in the ``survival``
    table under (session, the result's head).
    """

    def __init__(self, session_id: int) -> None:
        super().__init__()
        self.session_id = session_id
        self.new: dict[tuple[str, str, str], SurvivalResult] = {}

    @classmethod
    async def load(cls, store: Store, session_id: int) -> "StoreCache":
        cache = cls(session_id)
        for _head, _at, data in await store.survival_rows(session_id):
            result = _parse(data)
            if result is not None:
                cache.data.setdefault((result.start or "", result.end, result.head), result)
        return cache

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None:
        super().put(key, result)
        self.new[key] = result

    async def write_back(self, store: Store) -> int:
        """Save the new results; how many."""
        saved = 0
        for result in self.new.values():
            await store.save_survival(self.session_id, result.head, result.to_json())
            saved += 1
        self.new.clear()
        return saved


def _parse(data: str) -> SurvivalResult | None:
    try:
        return SurvivalResult.from_json(data)
    except (ValueError, TypeError, KeyError):
        return None  # written by another version of the measure: measured again


async def cached_survival(store: Store, session_id: int, head: str) -> SurvivalResult | None:
    """The stored result of the session at ``head`` (a full sha), or None. Never measures."""
    found = await store.survival(session_id, head)
    return None if found is None else _parse(found[1])


def _options(horizons: tuple[float, ...]) -> dict[str, Any]:
    """What the measure records in ``SurvivalResult.options`` with the defaults used here."""
    return {
        "blame": " ".join(blame_options(True)),
        "filter": FileFilter().signature(),
        "horizons": [horizon_label(d) for d in horizons],
    }


def _usable(result: SurvivalResult, now: float, horizons: tuple[float, ...]) -> bool:
    expected = _options(horizons)
    return not result.stale(now) and all(result.options.get(k) == v for k, v in expected.items())


# --------------------------------------------------------------------------- measuring


@dataclass
class SessionSurvival:
    """One session's answer: a result (``method`` "lost" with a reason when nothing was found), or
    no result at all and the reason (its commits are gone and no fingerprint was kept)."""

    row: SessionRow
    head: str
    result: SurvivalResult | None
    reason: str | None = None
    cached: bool = False


def resolve_head(repo: str | os.PathLike[str], at: str = "HEAD") -> str:
    """Full sha of the commit ``at`` names in ``repo``; GitFactsError (one line) otherwise."""
    with _opened(repo) as r:
        return _resolve(r, at)


def _missing(repo: str, revs: list[str]) -> list[str]:
    """The revisions of ``revs`` that name no commit of ``repo``."""
    out = GitRunner(repo).run(
        "cat-file", "--batch-check", input="".join(f"{rev}^{{commit}}\n" for rev in revs).encode()
    )
    lines = out.decode("utf-8", "replace").splitlines()
    return [rev for rev, line in zip(revs, lines) if line.split()[1:2] != ["commit"]]


def _nothing_committed(row: SessionRow, head: str, now: float, horizons: tuple[float, ...]) -> SurvivalResult:
    end_time = row.ended_at or row.started_at
    points = {}
    for days in horizons:
        due = int(end_time + days * DAY)
        points[horizon_label(days)] = HorizonPoint(
            days=days, due=due, reached=now >= due, reason="nothing was committed in the session"
        )
    assert row.end_commit is not None
    return SurvivalResult(
        start=row.start_commit, end=row.end_commit, head=head, added=0, surviving=0, ratio=None,
        method="blame", reverted=False, reverting_commits=[], horizons={k: None for k in points},
        horizon_points=points, per_file=[], reason="nothing was committed in the session (start == end)",
        measured_at=now, options=_options(horizons),
    )


async def measure_session(
    store: Store,
    row: SessionRow,
    head: str,
    *,
    now: float | None = None,
    horizons: tuple[float, ...] = DEFAULT_HORIZONS,
    allow_commit_graph: bool = False,
) -> SessionSurvival:
    """The survival of the ended session ``row`` at ``head`` (a full sha of its repository).

    From the ``survival`` table when a usable result is there (the measure is not called);
    otherwise measured in a thread and saved. Never raises for a session that cannot be measured:
    the answer is then a lost one with the reason.
    """
    now = time.time() if now is None else float(now)
    horizons = tuple(horizons)
    if not row.end_commit:
        return SessionSurvival(row, head, None, "no end commit was recorded for the session")
    if row.start_commit == row.end_commit:
        return SessionSurvival(row, head, _nothing_committed(row, head, now, horizons))
    found = await cached_survival(store, row.id, head)
    if found is not None and _usable(found, now, horizons):
        return SessionSurvival(row, head, found, cached=True)
    fingerprint = await stored_fingerprint(store, row.id)
    repo = row.repo
    if not Path(repo).is_dir():
        return SessionSurvival(row, head, None, f"the repository {repo} is not there any more")
    try:
        if fingerprint is None:
            revs = [c for c in (row.start_commit, row.end_commit) if c]
            gone = await asyncio.to_thread(_missing, repo, revs)
            if gone:
                return SessionSurvival(
                    row, head, None,
                    f"commit {gone[-1][:12]} is not in the repository any more (rewritten and "
                    "garbage-collected) and no fingerprint of the session was stored",
                )
        cache = await StoreCache.load(store, row.id)
        result = await asyncio.to_thread(
            _measure, repo, row.start_commit, row.end_commit, head, fingerprint, now, horizons, cache,
            allow_commit_graph,
        )
    except (GitFactsError, ValueError) as exc:
        return SessionSurvival(row, head, None, str(exc))
    await cache.write_back(store)
    return SessionSurvival(row, head, result)


def _measure(
    repo: str, start: str | None, end: str, head: str, fingerprint: Fingerprint | None, now: float,
    horizons: tuple[float, ...], cache: StoreCache, allow_commit_graph: bool,
) -> SurvivalResult:
    # ``survival.measure`` is looked up at each call (tests replace it to count the calls).
    if fingerprint is not None:
        return survival.measure(
            repo, at=head, horizons=horizons, fingerprint=fingerprint, now=now, cache=cache,
            allow_commit_graph=allow_commit_graph,
        )
    return survival.measure(
        repo, start, end, at=head, horizons=horizons, now=now, cache=cache, allow_commit_graph=allow_commit_graph,
    )


# --------------------------------------------------------------------------- as data


def survival_item(answer: SessionSurvival) -> dict[str, Any]:
    """One session's answer as plain data (``cockpit stuck --json``, ``cockpit show --json``)."""
    row, result = answer.row, answer.result
    if result is None:
        return {
            "session": row.label, "id": row.id, "start": row.start_commit, "end": row.end_commit,
            "head": answer.head, "added": None, "surviving": None, "ratio": None, "reverted": None,
            "reverting_commits": [], "method": "lost",
            "horizons": {horizon_label(d): None for d in DEFAULT_HORIZONS},
            "horizons_reached": {}, "moved_elsewhere": 0, "reason": answer.reason, "cached": False,
        }
    return result_item(row, result, cached=answer.cached)


def result_item(row: SessionRow, result: SurvivalResult, cached: bool = False) -> dict[str, Any]:
    return {
        "session": row.label,
        "id": row.id,
        "start": result.start,
        "end": result.end,
        "head": result.head,
        "added": result.added,
        "surviving": result.surviving,
        "ratio": result.ratio,
        "reverted": result.reverted,
        "reverting_commits": [r.sha for r in result.reverting_commits],
        "method": result.method,
        "horizons": dict(result.horizons),
        "horizons_reached": {k: p.reached for k, p in result.horizon_points.items()},
        "moved_elsewhere": result.moved_elsewhere,
        "reason": result.reason,
        "cached": cached,
    }
