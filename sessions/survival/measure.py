"""Git-measured survival: of the lines a session's agents added, the share the developer's branch
still holds at a head, at each horizon after the session's end, and now.

``measure_sessions(repo, sessions, at)`` measures many sessions of one repository at once (it
blocks; callers in async code run it in a thread). Every answer is the one whole-file
``git blame -w -M -C`` at the head gives, whichever way the lines are found:

* what was done is each part's record (:mod:`sessions.survival.work`): the lines each task's own
  commits added on its branch, accepted or not; for an imported session its range (under its rule);
* a line at the head is a part's when blame gives it to one of the part's commits that is in the
  head's history (merged), or to a copy of one: the same patch (``git patch-id``: a cherry-pick or a
  rebase), or, when some of the part's commits were found neither way, a commit that adds at least
  half of the part's lines or is mostly made of them (a squash, a rebase that changed the patch);
  and its content is one of the part's lines (counted as a multiset: never more than were added);
* a task's lines stick only when it was accepted by then: discarded work counts as done and not
  stuck; work not decided by a horizon counts as not stuck and is flagged "never reviewed";
* the developer's own commits during the session are measured the same way and shown apart.

Everything is shared between the sessions measured together: one ``git log`` of the branch, one
whole-file blame per file and head (:mod:`sessions.survival.shared_blame`), and a file's blame at a
head is the blame at the last commit of the branch that changed it (:meth:`BranchLog.blame_key`),
so horizons and sessions landing where a file did not change share it. Blames stop at the oldest
session's start: they give the commits after it what a blame of the whole history gives them.

A file is blamed at a head only when a part counted there could have a line in it: a part whose
lines can stick by then (accepted, the developer's own, an imported range) and that has commits
standing for its own at the head; a file its lines can have reached (its files, and where later
commits moved or copied lines with the content of one of them: :meth:`BranchLog.reach`); and whose
content at the head has a line with the content of one of them. The others cannot change the count.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sessions.git.blame import GitRunner
from sessions.git.facts import _opened, _resolve
from sessions.survival.branch_log import BranchLog, commit_times, ensure_commit_graph
from sessions.survival.fingerprints import Fingerprint
from sessions.survival.line_filter import line_hashes
from sessions.survival.results import (
    DAY, DEFAULT_HORIZONS, HorizonPoint, PartPoint, PartSurvival, SurvivalResult,
    horizon_label,
)
from sessions.survival.reverts import find_reverts
from sessions.survival.blame_cache import BlameCache
from sessions.survival.shared_blame import BLAME_OPTIONS, FileBlame, KeptBlames, SharedBlames
from sessions.survival.commit_lines import CommitLines, totals
from sessions.survival.work import OWN, RANGE, SessionWork, copies_content

__all__ = ["Decision", "SessionInput", "measure_sessions"]

NEVER_REVIEWED = "never reviewed"


@dataclass(frozen=True)
class Decision:
    decision: str | None  # "accepted" | "discarded" | None
    at: float | None = None
    agent: str = ""
    cost_usd: float | None = None

    def at_time(self, due: float | None) -> str | None:
        """The decision as it stood at ``due`` (None: now)."""
        if self.decision is None:
            return None
        if due is not None and self.at is not None and self.at > due:
            return None
        return self.decision


@dataclass
class SessionInput:
    work: SessionWork
    decisions: dict[str, Decision] = field(default_factory=dict)  # task key -> its decision
    end_time: float | None = None  # when the session ended (default: its last commit)
    # A result of the session at another head, measured with the same decisions: a horizon it
    # reached is the same at any later head (the horizon's head does not move), so it is kept.
    earlier: SurvivalResult | None = None

    def earlier_point(self, label: str, due: int) -> HorizonPoint | None:
        found = None if self.earlier is None else self.earlier.horizon_points.get(label)
        if found is None or not found.reached or found.head is None or found.due != due:
            return None
        return found

    def earlier_figures(self, label: str) -> dict[str, tuple[int, str | None, dict[str, str]]]:
        assert self.earlier is not None
        parts = [*self.earlier.tasks, *([self.earlier.own] if self.earlier.own else [])]
        return {
            p.key: (p.horizons[label].surviving or 0, p.horizons[label].method, {})
            for p in parts if label in p.horizons
        }


@dataclass
class _Part:
    key: str
    fp: Fingerprint
    wanted: Counter[int]  # line hash -> lines added
    commits: set[str]


def measure_sessions(
    repo: str | os.PathLike[str],
    sessions: Sequence[SessionInput],
    at: str = "HEAD",
    horizons: Sequence[float] = DEFAULT_HORIZONS,
    now: float | None = None,
    *,
    max_workers: int | None = None,
    allow_commit_graph: bool = False,
    kept: KeptBlames | None = None,
) -> list[SurvivalResult]:
    """The survival of each of ``sessions`` at ``at`` and at each horizon (blocks).

    ``allow_commit_graph``: write a commit-graph (with changed-path filters) when the repository has
    none, a one-off cost that makes every later blame and walk faster. ``kept``: where blames are
    kept between runs (default: :class:`~sessions.survival.blame_cache.BlameCache` in the user's
    cache folder)."""
    now = time.time() if now is None else float(now)
    horizons = tuple(horizons)
    with _opened(repo) as r:
        root = r.working_tree_dir or r.git_dir
        head = _resolve(r, at)
    runner = GitRunner(root)
    if allow_commit_graph:
        ensure_commit_graph(runner)
    own_cache = kept is None
    if kept is None:
        kept = BlameCache(options=" ".join(BLAME_OPTIONS) + " " + runner.text("--version").strip())
    try:
        with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 2) as pool:
            run = _Run(runner, head, sessions, pool, kept)
            for s in sessions:  # every blame submitted first: the pool works while the rest is counted
                run.prepare(s, horizons, now)
            results = [run.measure(s, horizons, now) for s in sessions]
            run.blames.keep()
            run.lines.keep()
            return results
    finally:
        if own_cache and isinstance(kept, BlameCache):
            kept.close()


class _Run:
    """One measure of several sessions at one branch head (see the module's docstring)."""

    def __init__(
        self, runner: GitRunner, head: str, sessions: Sequence[SessionInput], pool: Executor, kept: KeptBlames | None,
    ) -> None:
        self.runner = runner
        self.head = head
        lower, since = self._lower(sessions)
        self.log = BranchLog(runner, head, lower, since)
        # Blames stop at the oldest session's start: what they give the commits after it (all that
        # is counted) is what a blame over the whole history gives them.
        self.blames = SharedBlames(runner, pool, lower, kept)
        self.lines = CommitLines(runner, kept)
        self._patch_ids: dict[str, str] | None = None
        self._line_sets: dict[str, frozenset[int]] = {}
        self.sessions = list(sessions)
        self._file_plans: dict[tuple[int, str], list[tuple[str, Future[FileBlame]]]] = {}
        self._parts_of: dict[int, list[_Part]] = {}
        self._reach: dict[int, set[str]] = {}
        self._attributions: dict[tuple[int, str], tuple[set[str], str, dict[str, str]]] = {}

    # ------------------------------------------------------------------ the branch

    def _lower(self, sessions: Sequence[SessionInput]) -> tuple[list[str], int | None]:
        """Where the log may stop: before the oldest session's start (a commit, or a time)."""
        starts = [s.work.start for s in sessions]
        if not starts or any(s is None for s in starts):
            return [], None
        times = commit_times(self.runner, [s for s in starts if s])
        if len(times) == len(set(starts)):
            oldest = min(times, key=lambda sha: times[sha])
            return [oldest], None
        firsts = [p.start_time for s in sessions for p in s.work.parts.values() if p.start_time]
        return [], (min(firsts) - DAY if firsts else None)

    def heads_of(self, s: SessionInput, horizons: tuple[float, ...], now: float) -> dict[str, tuple[float, int, str | None]]:
        end_time = s.end_time if s.end_time is not None else s.work.end_time
        found: dict[str, tuple[float, int, str | None]] = {}
        for days in horizons:
            due = int(end_time + days * DAY)
            found[horizon_label(days)] = (days, due, self.log.head_at(due) if now >= due else None)
        return found

    # ------------------------------------------------------------------ what to blame

    def _parts(self, s: SessionInput) -> list[_Part]:
        """The session's parts: its tasks (or imported range), then the developer's own."""
        found = self._parts_of.get(id(s))
        if found is None:
            found = [_Part(k, fp, fp.line_counts(), set(fp.commits)) for k, fp in s.work.parts.items()]
            if s.work.own is not None and s.work.own.commits:
                found.append(_Part(OWN, s.work.own, s.work.own.line_counts(), set(s.work.own.commits)))
            self._parts_of[id(s)] = found
        return found

    def _files_at(self, s: SessionInput, counted: list[_Part], head: str) -> list[tuple[str, Future[FileBlame]]]:
        """The blames of the files at ``head`` that may hold a line of the ``counted`` parts: a
        file the part's lines can have reached (:meth:`BranchLog.reach`) whose content there has a
        line with the content of one of them, for the parts with commits standing for theirs at
        ``head`` (no commit: nothing of theirs can be found, no blame)."""
        live = [p for p in counted if self.attribution(p, head)[0]]
        key = (id(s), head, tuple(p.key for p in live))
        cached = self._file_plans.get(key)
        if cached is not None:
            return cached
        wanted_in: dict[str, list[_Part]] = {}
        for p in live:
            for path in self._reach_of(p):
                wanted_in.setdefault(path, []).append(p)
        keyed = [(path, self.log.blame_key(path, head)) for path in sorted(wanted_in)]
        # A blame made already (this run or an earlier one) is used as it is; for the others, the
        # file's content says whether one is needed at all.
        plan = [(path, self.blames.submit(path, k)) for path, k in keyed if self.blames.known(path, k)]
        keyed = [(path, k) for path, k in keyed if not self.blames.known(path, k)]
        blobs = self.runner.objects([f"{k}:{path}" for path, k in keyed], content=False)
        unread = sorted({oid for kind, oid, _ in blobs if kind == "blob" and oid not in self._line_sets})
        if unread:
            for oid, (_, _, body) in zip(unread, self.runner.objects(unread)):
                self._line_sets[oid] = frozenset(line_hashes(body))
        for (path, k), (kind, oid, _) in zip(keyed, blobs):
            if kind == "blob" and any(not self._line_sets[oid].isdisjoint(p.wanted) for p in wanted_in[path]):
                plan.append((path, self.blames.submit(path, k)))
        self._file_plans[key] = plan
        return plan

    def _reach_of(self, part: _Part) -> set[str]:
        found = self._reach.get(id(part))
        if found is None:
            start = part.fp.start_time or part.fp.end_time
            found = self._reach[id(part)] = self.log.reach(part.fp.files, start - DAY, set(part.wanted), self.lines)
        return found

    # ------------------------------------------------------------------ copies

    def patch_ids(self) -> dict[str, str]:
        """Patch-ids of the log's commits that could be a copy of a part commit or its inverse
        (same paths changed the same way, or the mirrored way), read once for all sessions."""
        if self._patch_ids is None:
            mirror = {"A": "D", "D": "A", "M": "M"}
            shapes: set[frozenset[tuple[str, str]]] = set()
            for s in self.sessions:
                for p in self._parts(s):
                    for changes in p.fp.commit_changes.values():
                        if changes:
                            shapes.add(frozenset(map(tuple, changes)))
                            shapes.add(frozenset((path, mirror[k]) for path, k in changes))
            asked = [c.sha for c in self.log.commits if len(c.parents) < 2 and frozenset(c.changes) in shapes]
            self._patch_ids = self.runner.patch_ids(["--no-walk=unsorted", *asked]) if asked else {}
        return self._patch_ids

    def patches(self, commits: list[str]) -> dict[str, tuple[Counter[int], Counter[int]]]:
        """The lines each commit's patch adds and removes, over all its files."""
        return {sha: totals(lines) for sha, lines in self.lines.of(commits).items()}

    def attribution(self, part: _Part, head: str) -> tuple[set[str], str, dict[str, str]]:
        """The commits at ``head`` whose lines are ``part``'s, how they were found ("blame": its own
        commits are merged; "patch-id": some are copies with the same patch; "content": some were
        found by their lines; "lost": none), and each copied commit's copy."""
        key = (id(part), head)
        found = self._attributions.get(key)
        if found is None:
            found = self._attributions[key] = self._attribute(part, head)
        return found

    def _attribute(self, part: _Part, head: str) -> tuple[set[str], str, dict[str, str]]:
        log = self.log
        merged = {c for c in part.commits if log.in_history(c, head)}
        with_patch = [c for c in part.fp.commits if c in part.fp.patch_ids]
        by_pid: dict[str, list[str]] = {}
        for sha, pid in self.patch_ids().items():
            if sha not in part.commits and log.in_history(sha, head):
                by_pid.setdefault(pid, []).append(sha)
        mapped: dict[str, str] = {}
        for c in with_patch:
            copies = by_pid.get(part.fp.patch_ids[c])
            if copies and c not in merged:
                mapped[c] = copies[0]
        found = merged | set(mapped.values())
        if not part.commits:
            return found, "blame", mapped
        if all(c in merged or c in mapped for c in with_patch):
            method = "patch-id" if mapped else ("blame" if merged else "lost")
            return found, method, mapped
        # Some commits are neither merged nor copied by patch (a squash, a rebase that changed
        # them): the commits that add at least half of the part's lines, or are mostly made of them.
        names = set(part.fp.files)
        first = min((log.by_sha[c].time for c in part.commits if c in log.by_sha), default=part.fp.start_time or 0)
        candidates = [
            c.sha for c in log.history(head)
            if len(c.parents) < 2 and c.sha not in part.commits and c.sha not in found
            and c.time >= first and any(p in names for p in c.paths)
        ] if head in log.position else []
        total = sum(part.wanted.values())
        by_content = []
        for sha, (added, _removed) in self.patches(candidates).items():
            if copies_content(added, part.wanted, total):
                by_content.append(sha)
        if by_content:
            for c in part.fp.commits:
                if c not in merged and c not in mapped:
                    mapped[c] = by_content[0]
            return found | set(by_content), "content", mapped
        return found, ("patch-id" if mapped else "blame") if found else "lost", mapped

    # ------------------------------------------------------------------ counting

    def count(self, s: SessionInput, counted: list[_Part], head: str) -> dict[str, tuple[int, str, dict[str, str]]]:
        """For each part of ``counted``, the lines at ``head`` that are its (see the module)."""
        owners: dict[str, list[int]] = {}
        methods: dict[str, tuple[str, dict[str, str]]] = {}
        for i, part in enumerate(counted):
            commits, method, mapped = self.attribution(part, head)
            methods[part.key] = (method, mapped)
            for c in commits:
                owners.setdefault(c, []).append(i)
        left = [Counter(p.wanted) for p in counted]
        found = [0] * len(counted)
        if owners:
            for _path, future in self._files_at(s, counted, head):
                blame = future.result()
                who = [owners.get(c) for c in blame.commits]
                for owner, h in zip(blame.owner, blame.hashes):
                    if not h:
                        continue
                    ours = who[owner]
                    if ours is None:
                        continue
                    for i in ours:
                        if left[i][h] > 0:
                            left[i][h] -= 1
                            found[i] += 1
                            break
        return {p.key: (found[i], *methods[p.key]) for i, p in enumerate(counted)}

    # ------------------------------------------------------------------ one session

    def counted(self, s: SessionInput, due: float | None) -> list[_Part]:
        """The parts whose lines can stick at ``due`` (None: now): the tasks accepted by then, the
        developer's own commits, an imported range."""
        parts = self._parts(s)
        if s.work.kind == "range":
            return parts
        return [p for p in parts if p.key == OWN or _decision(s, p.key, due) == "accepted"]

    def prepare(self, s: SessionInput, horizons: tuple[float, ...], now: float) -> None:
        """Submit the blames the session needs at every head it is measured at."""
        for label, (_days, due, h) in self.heads_of(s, horizons, now).items():
            if h is not None and s.earlier_point(label, due) is None:
                self._files_at(s, self.counted(s, due), h)
        self._files_at(s, self.counted(s, None), self.head)

    def measure(self, s: SessionInput, horizons: tuple[float, ...], now: float) -> SurvivalResult:
        work = s.work
        parts = self._parts(s)
        points = self.heads_of(s, horizons, now)

        def figures(h: str, due: float | None) -> dict[str, tuple[int, str, dict[str, str]]]:
            return self.count(s, self.counted(s, due), h)

        main = figures(self.head, None)
        at_points = {}
        for label, (_days, due, h) in points.items():
            if s.earlier_point(label, due) is not None:
                at_points[label] = s.earlier_figures(label)
            else:
                at_points[label] = figures(h, due) if h is not None else None

        part_results: list[PartSurvival] = []
        for p in parts:
            decision = s.decisions.get(p.key, Decision(None))
            added = sum(p.wanted.values())
            got = main.get(p.key)
            result = PartSurvival(
                key=p.key, added=added, surviving=got[0] if got else 0,
                decision=None if p.key in (OWN, RANGE) else decision.decision,
                agent=decision.agent, cost_usd=decision.cost_usd,
                method=got[1] if got else None,
                note=_note(work.kind, p.key, decision.at_time(None)),
                files={path: sum(c.values()) for path, c in p.fp.files.items()},
            )
            for label, (_days, due, h) in points.items():
                fig = at_points[label]
                if fig is None:
                    result.horizons[label] = PartPoint(None)
                    continue
                got_h = fig.get(p.key)
                result.horizons[label] = PartPoint(
                    got_h[0] if got_h else 0, got_h[1] if got_h else None,
                    _note(work.kind, p.key, decision.at_time(due)),
                )
            part_results.append(result)
        reverting = find_reverts(self, s, self.head, part_results)

        agents = [r for r in part_results if r.key != OWN]
        added = sum(r.added for r in agents)
        surviving = sum(r.surviving for r in agents)
        horizon_points: dict[str, HorizonPoint] = {}
        for label, (days, due, h) in points.items():
            point = horizon_points[label] = HorizonPoint(days=days, due=due, reached=now >= due, head=h)
            if not point.reached:
                point.reason = f"not yet: due {_iso(due)}"
            elif h is None:
                point.reason = f"the branch has no commit at or before {_iso(due)}"
            elif added:
                point.surviving = sum(r.horizons[label].surviving or 0 for r in agents)
                point.ratio = point.surviving / added
                earlier = s.earlier_point(label, due)
                point.reverted = (
                    earlier.reverted if earlier is not None else any(self.log.in_history(c.sha, h) for c in reverting)
                )
            else:
                point.reason = "the agents added no meaningful lines"
        own = next((r for r in part_results if r.key == OWN), None)
        return SurvivalResult(
            start=work.start, end=work.end, head=self.head, added=added, surviving=surviving,
            ratio=surviving / added if added else None,
            method=_method(agents), reverted=bool(reverting), reverting_commits=reverting,
            horizons={label: p.ratio for label, p in horizon_points.items()},
            horizon_points=horizon_points, per_file=[], excluded=_excluded(work),
            reason=None if added else "the agents added no meaningful lines",
            measured_at=now,
            options={"blame": " ".join(BLAME_OPTIONS), "horizons": [horizon_label(d) for d in horizons]},
            kind=work.kind, rule=work.rule, tasks=[r for r in part_results if r.key != OWN], own=own,
            missing=dict(work.missing),
        )


def _decision(s: SessionInput, key: str, due: float | None) -> str | None:
    found = s.decisions.get(key)
    return None if found is None else found.at_time(due)


def _note(kind: str, key: str, decision: str | None) -> str | None:
    if kind == "range" or key == OWN:
        return None
    if decision is None:
        return NEVER_REVIEWED
    return "discarded" if decision == "discarded" else None


def _method(parts: list[PartSurvival]) -> str:
    order = ["blame", "patch-id", "content", "lost"]
    used = [p.method for p in parts if p.method]
    return max(used, key=order.index) if used else "blame"


def _excluded(work: SessionWork) -> dict[str, str]:
    found: dict[str, str] = {}
    for p in work.parts.values():
        found.update(p.excluded)
    return dict(sorted(found.items()))


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
