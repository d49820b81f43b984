"""Git-measured survival: of the lines a session added, the share still attributed to it later.

``measure(repo, start, end, at="HEAD")`` blocks (callers in async code run it in a thread).

What is counted
  A (``added``) is the session's fingerprint (:mod:`sessions.survival.fingerprints`): the meaningful lines
  (:mod:`sessions.survival.line_filter`) of counted files that ``git blame -w -M -C start..end`` attributes to
  a commit of ``start..end``. ``surviving`` is how many of them ``git blame -w -M -C start..H``
  still attributes to the session at a later commit H, over the files the session touched (followed
  through renames) and the files that later commits touching those files also changed (where
  ``-C`` finds moved lines). Lines are matched by content hash as a multiset, so ``surviving`` never
  exceeds ``added`` (a later copy of a session line does not count twice).

Moves across files: ``-C`` is used. Moving a session's function to another module keeps the work
in the codebase, so it survives; whitespace-only reformatting survives (``-w``). Because A uses the
same options, lines a session only re-indented or moved are not its work either, and the survival
of a session nobody touched since is exactly 1.0. ``copies=False`` turns ``-C`` off (cheaper; a
moved line then counts as removed).

How the session's commits are found at H (``method``)
  ``"blame"``    ``end`` is an ancestor of H: blame attribution to the session's commits.
  ``"patch-id"`` history was rewritten (rebase, cherry-pick): every session commit with a patch was
                 found, by ``git patch-id --stable``, among the commits after the session's start
                 in H's history that touch its files; blame attribution to those commits.
  ``"content"``  some commits could not be matched (a squash merge): a line at H counts when its
                 hash is one of the session's added-line hashes and blame gives it to a matched
                 commit or to any commit in range not older than the session's start. A later
                 commit whose patch adds at least half of the session's lines (the squash commit)
                 stands for the unmatched session commits in ``mapped``, so a revert of it is
                 found, and a squashed session whose lines are all gone measures 0.0, not lost.
  ``"lost"``     nothing of the session was found by any method (no commit reachable, none by
                 patch-id, no copy and no line by content): ``ratio`` None with a ``reason``.

Reverts: a later commit (at H, touching the session's files) whose message says "This reverts
commit <sha>" of a session commit (or of its rewritten copy), or whose patch-id is the patch-id of
a session commit's inverse patch, makes ``reverted`` True and is listed in ``reverting_commits``.
Blame already counts the reverted lines as gone.

Ratio None rules: see :mod:`sessions.survival.results`.

Horizons: for each horizon (days), H is the last first-parent commit of ``at`` whose committer time
is at or before ``end_time + horizon``; the key is ``"1d"``, ``"7d"``, ``"30d"``.

Performance: the git reads and blames are in :mod:`sessions.survival.tracking`.
``allow_commit_graph`` writes a commit-graph with changed-path filters when the repository has none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from sessions.survival.fingerprints import Fingerprint, PendingFingerprint, blame_options
from sessions.git.blame import GitRunner
from sessions.git.facts import GitFactsError, _opened, _resolve
from sessions.survival.line_filter import FileFilter
from sessions.survival.cache import SurvivalCache
from sessions.survival.results import DAY, DEFAULT_HORIZONS, HorizonPoint, SurvivalResult, horizon_label
from sessions.survival.tracking import SessionIds, Tracker, existing_commits

__all__ = ["ensure_commit_graph", "measure"]


def measure(
    repo_path: str | os.PathLike[str],
    start: str | None = None,
    end: str | None = None,
    at: str = "HEAD",
    horizons: Sequence[float] = DEFAULT_HORIZONS,
    fingerprint: Fingerprint | None = None,
    now: float | None = None,
    *,
    file_filter: FileFilter | None = None,
    copies: bool = True,
    cache: SurvivalCache | None = None,
    allow_commit_graph: bool = False,
    max_workers: int | None = None,
) -> SurvivalResult:
    """Survival of the session ``start..end`` at ``at`` and at each horizon (blocks).

    ``fingerprint``: the session's stored fingerprint; its added lines are used as A and its
    commits need not exist any more (``start``/``end`` may then be omitted). Without one it is
    made from the repository (``start``/``end`` must exist). ``now`` (seconds since the epoch,
    default the clock) decides which horizons are reached. ``cache``: a result for the same
    (start, end, head) is returned as is, unless a horizon has come due since or it was measured
    with other options. ``allow_commit_graph``: write a commit-graph when the repository has none
    (a one-off cost that makes every later blame and walk faster).
    """
    now = time.time() if now is None else float(now)
    file_filter = file_filter or FileFilter()
    with _opened(repo_path) as r:
        root = r.working_tree_dir or r.git_dir
        if fingerprint is None:
            if end is None:
                raise GitFactsError("a session needs an end commit (or a stored fingerprint)")
            resolved = _resolve_all(r, [at, end] + ([] if start is None else [start]))
            head, end_sha = resolved[0], resolved[1]
            start_sha = resolved[2] if start is not None else None
        else:
            head = _resolve(r, at)
            start_sha, end_sha = fingerprint.start, fingerprint.end
            for given, stored, what in ((start, start_sha, "start"), (end, end_sha, "end")):
                if given is not None and stored is not None and not stored.startswith(given):
                    if _resolve(r, given) != stored:
                        raise ValueError(f"{what} {given} is not the fingerprint's {what} {stored}")
    horizons = tuple(horizons)
    options = {
        "blame": " ".join(blame_options(copies)),
        "filter": file_filter.signature(),
        "horizons": [horizon_label(d) for d in horizons],
    }
    key = (start_sha or "", end_sha, head)
    if cache is not None:
        cached = cache.get(key)
        if cached is not None and cached.options == options and not cached.stale(now):
            return cached

    runner = GitRunner(root)
    if allow_commit_graph:
        ensure_commit_graph(runner)
    if fingerprint is not None and _made_otherwise(fingerprint, copies, file_filter):
        # Made with other blame options or another file filter: made again while its commits
        # exist; once they are gone the stored one is all there is (its options are reported).
        shas = [c for c in (start_sha, end_sha) if c]
        if existing_commits(runner, shas) == set(shas):
            fingerprint = None
        else:
            options["fingerprint"] = dict(fingerprint.options)
    # Blames run in ``pool`` (bounded by the cores); the few other git calls run here meanwhile.
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 2) as pool:
        pending = None
        if fingerprint is None:
            pending = PendingFingerprint(runner, root, start_sha, end_sha, file_filter, copies, pool)
            session_paths = list(pending.paths)
            end_time = pending.end_time
        else:
            session_paths = list(fingerprint.files)
            end_time = fingerprint.end_time
        ids = SessionIds.of(pending if pending is not None else fingerprint)  # type: ignore[arg-type]
        tracker = Tracker(
            runner, pool, ids, start_sha, end_sha, session_paths, head, copies, file_filter,
            known_to_exist=fingerprint is None,
        )
        points: dict[str, HorizonPoint] = {}
        heads = [head]
        for days in horizons:
            due = int(end_time + days * DAY)
            point = points[horizon_label(days)] = HorizonPoint(days=days, due=due, reached=now >= due)
            if not point.reached:
                point.reason = f"not yet: due {_iso(due)}"
                continue
            point.head = tracker.head_at(due)
            if point.head is None:
                point.reason = f"the branch has no commit at or before {_iso(due)}"
            else:
                heads.append(point.head)
        plans = [tracker.plan(h) for h in dict.fromkeys(heads)]
        fp = pending.result(patch_ids=False) if pending is not None else fingerprint
        assert fp is not None
        tracker.fingerprint = fp
        if pending is not None:
            tracker.reuse_end_blames(pending)
        tracker.submit_blames(plans)  # every head's blames at once; the rest runs meanwhile
        for plan in plans:
            tracker.decide(plan)
        # In the order the blames were submitted (oldest head first).
        found = tracker.finish(sorted(plans, key=lambda p: len(p.members)))

    main = found[head]
    for point in points.values():
        if point.head is None:
            continue
        at_point = found[point.head]
        point.ratio = at_point.ratio
        point.surviving = at_point.surviving
        point.method = at_point.method
        point.reverted = bool(at_point.reverting)
        point.reason = at_point.reason
    result = SurvivalResult(
        start=fp.start,
        end=fp.end,
        head=head,
        added=fp.added,
        surviving=main.surviving,
        ratio=main.ratio,
        method=main.method,
        reverted=bool(main.reverting),
        reverting_commits=main.reverting,
        horizons={label: p.ratio for label, p in points.items()},
        horizon_points=points,
        per_file=main.per_file,
        moved_elsewhere=main.moved,
        excluded=dict(fp.excluded),
        mapped=main.mapped,
        reason=main.reason,
        measured_at=now,
        options=options,
    )
    if cache is not None:
        cache.put(key, result)
    return result


def ensure_commit_graph(runner: GitRunner) -> bool:
    """Write a commit-graph (with changed-path filters) when the repository has none; True if written."""
    paths = runner.text(
        "rev-parse", "--git-path", "objects/info/commit-graph",
        "--git-path", "objects/info/commit-graphs/commit-graph-chain",
    ).splitlines()
    for p in paths:
        if os.path.exists(p if os.path.isabs(p) else os.path.join(runner.cwd, p)):
            return False
    try:
        runner.run("commit-graph", "write", "--reachable", "--changed-paths")
    except GitFactsError:  # read-only repository, say: the measure works without, only slower
        return False
    return True


def _made_otherwise(fingerprint: Fingerprint, copies: bool, file_filter: FileFilter) -> bool:
    made = fingerprint.options
    return made.get("blame") != " ".join(blame_options(copies)) or made.get("filter") != file_filter.signature()


def _resolve_all(repo: Any, revs: list[str]) -> list[str]:
    """Full shas of the commits ``revs`` name: one ``git rev-parse`` for all of them; when one is
    unknown, git_facts' resolution names it."""
    if all(isinstance(r, str) and r and not r.startswith("-") for r in revs):
        try:
            out = repo.git.rev_parse(*(f"{r}^{{commit}}" for r in revs), "--", env={"GIT_OPTIONAL_LOCKS": "0"})
            shas = [line for line in out.split() if line != "--"]
            if len(shas) == len(revs) and all(len(x) in (40, 64) for x in shas):
                return shas
        except Exception:  # noqa: BLE001 - any failure: resolve one by one for a clear message
            pass
    return [_resolve(repo, r) for r in revs]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
