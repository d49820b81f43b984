"""Git-measured survival: of the lines a session added, the share still attributed to it later.

``measure(repo, start, end, at="HEAD")`` blocks (callers in async code run it in a thread).

What is counted
  A (``added``) is the session's fingerprint (:mod:`sessions.fingerprints`): the meaningful lines
  (:mod:`sessions.line_filter`) of counted files that ``git blame -w -M -C start..end`` attributes to
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

Ratio None rules
  * the session added no meaningful lines (``added == 0``): nothing can survive, 0/0 is not a rate;
  * ``method == "lost"``;
  * a horizon not reached yet (``now < end_time + horizon``): not yet measurable;
  * a horizon before which the branch has no commit.
``ewr_git`` sums only the sessions with a ratio.

Horizons: for each horizon (days), H is the last first-parent commit of ``at`` whose committer time
is at or before ``end_time + horizon``; the key is ``"1d"``, ``"7d"``, ``"30d"``.

Performance (bench/survival.py): every blame is the git CLI in a subprocess, run from a thread
pool bounded by the cores, range-limited (``^start H``) and limited with ``-L`` to the lines whose
hash is one of the session's (a file without any is not blamed; blame stops walking as soon as
those lines have found their commits). A file unchanged between two heads (or since the session's
end) is blamed once. Lines moved to other files are looked for only when some are missing from the
session's files, and only in files changed by the same later commits. Line hashes of blobs are
cached by object id for the process. Everything else is a handful of git calls a session
(one path-limited log finds renames, later commits and their messages; one first-parent log
places the horizons); patch-ids are read only when history was rewritten or a later commit has
the shape of a revert. ``allow_commit_graph`` writes a commit-graph with changed-path filters
when the repository has none.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from sessions.fingerprints import (
    FileChangeKind,
    Fingerprint,
    PendingFingerprint,
    blame_options,
    parse_raw_log,
)
from sessions.git_blame import Blame, GitRunner
from sessions.git_facts import GitFactsError, _opened, _resolve
from sessions.line_filter import FileFilter, line_hash, line_hashes, meaningful

__all__ = [
    "DEFAULT_HORIZONS",
    "METHODS",
    "DictCache",
    "FileSurvival",
    "HorizonPoint",
    "JsonFileCache",
    "RevertingCommit",
    "SurvivalCache",
    "SurvivalResult",
    "ensure_commit_graph",
    "ewr_git",
    "horizon_label",
    "measure",
]

DEFAULT_HORIZONS: tuple[float, ...] = (1, 7, 30)
DAY = 86_400
METHODS = ("blame", "patch-id", "content", "lost")
RESULT_VERSION = 1

_RENAME_STATUS = re.compile(r"R\d*")
_REVERTS = re.compile(r"This reverts commit ([0-9a-fA-F]{7,64})")


def horizon_label(days: float) -> str:
    return f"{days:g}d"


# --------------------------------------------------------------------------- results


@dataclass
class FileSurvival:
    path: str  # at the session's end
    path_at_head: str | None  # where its lines are at head after renames; None when it is gone
    added: int
    surviving: int  # found in that file (lines moved to other files count in moved_elsewhere)


@dataclass
class RevertingCommit:
    sha: str
    reverts: list[str]  # the session commits it reverts
    how: str  # "message" | "patch-id"


@dataclass
class HorizonPoint:
    days: float
    due: int  # end_time + days, seconds since the epoch
    reached: bool
    head: str | None = None
    ratio: float | None = None
    surviving: int | None = None
    method: str | None = None
    reverted: bool | None = None
    reason: str | None = None


@dataclass
class SurvivalResult:
    start: str | None
    end: str
    head: str  # the commit the main figure was taken at (``at`` resolved)
    added: int
    surviving: int
    ratio: float | None
    method: str  # "blame" | "patch-id" | "content" | "lost"
    reverted: bool
    reverting_commits: list[RevertingCommit]
    horizons: dict[str, float | None]  # {"1d": ratio | None, ...}
    horizon_points: dict[str, HorizonPoint]
    per_file: list[FileSurvival]
    moved_elsewhere: int = 0  # surviving lines found in files other than their own
    excluded: dict[str, str] = field(default_factory=dict)  # files left out of A, and why
    mapped: dict[str, str] = field(default_factory=dict)  # session commit -> its copy at head
    reason: str | None = None  # why ratio is None, or what the method means here
    measured_at: float = 0.0  # the ``now`` of the measure
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = RESULT_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SurvivalResult":
        data = dict(data)
        if data.pop("version", None) != RESULT_VERSION:
            raise ValueError("survival result of another version")
        data["reverting_commits"] = [RevertingCommit(**r) for r in data["reverting_commits"]]
        data["horizon_points"] = {k: HorizonPoint(**v) for k, v in data["horizon_points"].items()}
        data["per_file"] = [FileSurvival(**f) for f in data["per_file"]]
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SurvivalResult":
        return cls.from_dict(json.loads(text))

    def stale(self, now: float) -> bool:
        """True when a horizon that was not reached when this was measured is reached by ``now``."""
        return any(not p.reached and now >= p.due for p in self.horizon_points.values())


def ewr_git(results: Iterable[SurvivalResult]) -> tuple[float | None, int]:
    """Git-measured effective work rate: Σ surviving / Σ added over the sessions with a ratio.

    Returns (rate, how many sessions counted); (None, 0) when none has a ratio.
    """
    added = surviving = count = 0
    for result in results:
        if result.ratio is None or result.added <= 0:
            continue
        added += result.added
        surviving += result.surviving
        count += 1
    return (surviving / added if added else None), count


# --------------------------------------------------------------------------- cache


class SurvivalCache(Protocol):
    """Where measured results are kept, keyed by (start sha or "", end sha, head sha)."""

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None: ...

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None: ...


class DictCache:
    """In memory."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], SurvivalResult] = {}

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None:
        return self.data.get(key)

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None:
        self.data[key] = result


class JsonFileCache:
    """A JSON file (read once, rewritten on every put); until the database holds these results."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.data: dict[str, dict[str, Any]] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.data = loaded
        except (OSError, ValueError):
            pass

    @staticmethod
    def _key(key: tuple[str, str, str]) -> str:
        return " ".join(key)

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None:
        found = self.data.get(self._key(key))
        if found is None:
            return None
        try:
            return SurvivalResult.from_dict(found)
        except (TypeError, ValueError, KeyError):
            return None

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None:
        self.data[self._key(key)] = result.to_dict()
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


# --------------------------------------------------------------------------- measure


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
        if _existing_commits(runner, shas) == set(shas):
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
        ids = _SessionIds.of(pending if pending is not None else fingerprint)  # type: ignore[arg-type]
        tracker = _Tracker(
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


def _head_at(runner: GitRunner, at: str, due: int) -> str | None:
    """The last first-parent commit of ``at`` whose committer time is at or before ``due``."""
    out = runner.text("rev-list", "-1", "--first-parent", f"--until={due}", at, "--").strip()
    return out or None


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


# --------------------------------------------------------------------------- tracking


@dataclass
class _Candidate:
    time: int
    message: str
    changes: list[FileChangeKind]  # without rename detection

    @property
    def files(self) -> list[str]:
        return [path for path, _ in self.changes]


@dataclass
class _Plan:
    head: str
    reachable: bool  # the session's end is in head's history
    members: set[str]  # the candidates (commits touching the session's files) in head's history
    targets: list[str]  # the session's files at head, under every name they had
    elsewhere: list[str]  # with -C: other files later commits changed together with them
    blames: dict[str, Future[Blame]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # targets that are files at head
    method: str = ""
    attribution: set[str] = field(default_factory=set)
    mapped: dict[str, str] = field(default_factory=dict)
    reverting: list[RevertingCommit] = field(default_factory=list)
    lost: set[int] = field(default_factory=set)  # hashes not found in the session's files


@dataclass
class _Found:
    method: str
    surviving: int
    ratio: float | None
    per_file: list[FileSurvival]
    moved: int
    reverting: list[RevertingCommit]
    mapped: dict[str, str]
    reason: str | None


@dataclass
class _SessionIds:
    """The session's commits and patch-ids, from a stored fingerprint or one being made (whose
    patch-ids are read only if asked for)."""

    commits: tuple[str, ...]
    start_time: int | None
    commit_changes: dict[str, list[FileChangeKind]]
    source: Fingerprint | PendingFingerprint

    @classmethod
    def of(cls, source: Fingerprint | PendingFingerprint) -> "_SessionIds":
        return cls(tuple(source.commits), source.start_time, source.commit_changes, source)

    @property
    def patch_ids(self) -> dict[str, str]:
        if isinstance(self.source, Fingerprint):
            return self.source.patch_ids
        return self.source.patch_ids()

    @property
    def reverse_ids(self) -> dict[str, str]:
        if isinstance(self.source, Fingerprint):
            return self.source.reverse_patch_ids
        return self.source.patch_ids(reverse=True)


class _Tracker:
    """Finds a session's lines at later heads of one branch (``at``); one per measure call.

    Everything that does not depend on the head is read once over "after the session's start, up
    to ``at``": the renames of the session's files, and the commits touching them (their
    messages, files and patch-ids). Each horizon head is a first-parent ancestor of ``at``, so its
    commits are a subset of these.
    """

    def __init__(
        self,
        runner: GitRunner,
        pool: Executor,
        ids: _SessionIds,
        start: str | None,
        end: str,
        paths: list[str],
        at: str,
        copies: bool,
        file_filter: FileFilter,
        known_to_exist: bool = False,
    ) -> None:
        self.runner = runner
        self.pool = pool
        self.ids = ids
        self.session = set(ids.commits)
        self.start = start
        self.end = end
        self.at = at
        self.copies = copies
        self.filter = file_filter
        self.fingerprint: Fingerprint | None = None  # set before finish()
        self.options = blame_options(copies) + (("--root",) if start is None else ())
        shas = [c for c in (start, end) if c]
        exists = set(shas) if known_to_exist else _existing_commits(runner, shas)
        self.end_exists = end in exists
        if start is None:
            self.lower: list[str] = []
        elif start in exists:
            self.lower = [f"^{start}"]
        else:  # start is gone too: "after the session's start" by date
            self.lower = [f"--since={ids.start_time}"] if ids.start_time else []
        self.names, self.candidates = self._follow(paths)
        self.all_names = sorted({n for names in self.names.values() for n in names})
        # The first-parent chain of ``at`` after the start, newest first, with commit times:
        # where the horizon heads are, and which commits each has in its history.
        chain = self.runner.text("log", "--first-parent", "--format=%H %ct", *self.lower, at, "--")
        self.chain = [(sha, int(ct)) for sha, ct in (line.split() for line in chain.splitlines())]
        self.position = {sha: i for i, (sha, _) in enumerate(self.chain)}
        self.linear = all(c in self.position for c in self.candidates)
        self._candidate_ids: dict[str, str] | None = None
        self._content_copies: list[str] | None = None
        self._copy_reverse_ids: dict[str, str] = {}
        self._all_hashes: set[int] = set()
        self._submitted: dict[tuple[str, str, tuple[tuple[int, int], ...]], tuple[set[str], Future[Blame]]] = {}
        self._at_end: dict[tuple[str, str], tuple[set[str], Future[Blame]]] = {}

    @property
    def candidate_ids(self) -> dict[str, str]:
        """Patch-ids of the candidates that could match a session commit or its inverse, read
        once (in the calling thread, while the pool blames).

        They match rewritten commits and spot inverse patches (reverts). A patch-id covers the
        paths of the patch, so an equal patch changes the same paths the same way, and an inverse
        one the mirrored way (added for deleted): only commits of one of those shapes are read.
        The session's own commits can be neither.
        """
        if self._candidate_ids is None:
            self._candidate_ids = self._patch_ids_of_shapes(self.ids.commit_changes.values())
        return self._candidate_ids

    def _patch_ids_of_shapes(self, shapes_of: Iterable[list[FileChangeKind]]) -> dict[str, str]:
        mirror = {"A": "D", "D": "A", "M": "M"}
        shapes: set[frozenset[FileChangeKind]] = set()
        for changes in shapes_of:
            if changes:
                shapes.add(frozenset(changes))
                shapes.add(frozenset((p, mirror[k]) for p, k in changes))
        asked = [
            sha
            for sha, cand in self.candidates.items()
            if sha not in self.session and frozenset(cand.changes) in shapes
        ]
        return self.runner.patch_ids(["--no-walk=unsorted", *asked]) if asked else {}

    def content_copies(self) -> list[str]:
        """Commits after the session's start (up to ``at``, touching its files, not its own) that
        add at least half of the session's lines: a squash merge, a re-application by hand.
        Oldest first. Read only when history was rewritten and patch-ids did not find it all."""
        if self._content_copies is None:
            fp = self.fingerprint
            assert fp is not None
            wanted = fp.hashes()
            others = self._ordered({c for c in self.candidates if c not in self.session})
            found: list[str] = []
            if others and fp.added:
                out = self.runner.run(
                    "log", "--stdin", "--no-walk=unsorted", "-p", "-U0", "--no-color", "--no-ext-diff",
                    "--no-textconv", "--no-renames", "--format=%x1e%H",
                    input="".join(f"{c}\n" for c in others).encode(),
                )
                for record in out.split(b"\x1e")[1:]:
                    sha, _, patch = record.partition(b"\n")
                    added = _added_lines(patch)
                    if 2 * sum(min(n, wanted[h]) for h, n in added.items() if h in wanted) >= fp.added:
                        found.append(sha.decode().strip())
            self._content_copies = self._ordered(set(found))
            # a revert of a copy has the copy's inverse patch
            self._copy_reverse_ids = (
                self.runner.patch_ids(["--no-walk=unsorted", *found], reverse=True) if found else {}
            )
            self._candidate_ids = {
                **self.candidate_ids,
                **self._patch_ids_of_shapes(self.candidates[c].changes for c in found),
            }
        return self._content_copies

    # ------------------------------------------------------------------ per branch

    def _follow(self, paths: list[str]) -> tuple[dict[str, set[str]], dict[str, _Candidate]]:
        """For each session file every name it had up to ``at`` (itself, and where renames took
        it), and the candidates: the non-merge commits after the session's start, up to ``at``,
        touching one of those names.

        One path-limited log of the session's files; only when one of them was deleted, a
        diff-tree with rename detection of the deleting commits, and a log of the new names.
        """
        names = {p: {p} for p in paths}
        candidates: dict[str, _Candidate] = {}
        known = set(paths)
        frontier = set(paths)
        checked: set[str] = set()
        while frontier:
            found = self._log(sorted(frontier))
            candidates.update(found)
            deleting = [
                sha
                for sha, cand in found.items()
                if sha not in checked and any(k == "D" and p in frontier for p, k in cand.changes)
            ]
            checked.update(deleting)
            frontier = set()
            if not deleting:
                break
            # Where did the deleted files go? One diff-tree for all those commits, with renames.
            raw = self.runner.run(
                "diff-tree", "--stdin", "-r", "-z", "-M", "--name-status", "--diff-filter=R",
                input="".join(f"{c}\n" for c in deleting).encode(),
            )
            tokens = raw.decode("utf-8", "surrogateescape").split("\0")
            i = 0
            while i < len(tokens):
                if _RENAME_STATUS.fullmatch(tokens[i]) and i + 2 < len(tokens):
                    old, new = tokens[i + 1], tokens[i + 2]
                    for group in names.values():
                        if old in group:
                            group.add(new)
                    if new not in known:
                        known.add(new)
                        frontier.add(new)
                    i += 3
                else:  # the commit id diff-tree prints before each commit's records
                    i += 1
        return names, candidates

    def _log(self, paths: list[str]) -> dict[str, _Candidate]:
        """Non-merge commits after the session's start, up to ``at``, touching one of ``paths``."""
        if not paths:
            return {}
        out = self.runner.run(
            "log", "--no-merges", "-z", "--raw", "--no-abbrev", "--full-diff", "--no-renames",
            "--format=%x1e%H%x1f%ct%x1f%B%x1d", *self.lower, self.at, "--", *paths,
        )
        found: dict[str, _Candidate] = {}
        for sha, (more, changes) in parse_raw_log(out).items():
            ct, _, message = more.partition(b"\x1f")
            found[sha] = _Candidate(int(ct), message.decode("utf-8", "replace"), changes)
        return found

    # ------------------------------------------------------------------ per head

    def _is_ancestor(self, commit: str, head: str) -> bool:
        code, _, _ = self.runner.status("merge-base", "--is-ancestor", commit, head)
        return code == 0

    def head_at(self, due: int) -> str | None:
        """The last first-parent commit of ``at`` whose committer time is at or before ``due``."""
        for sha, ct in self.chain:
            if ct <= due:
                return sha
        return _head_at(self.runner, self.at, due)  # before the session's start

    def _before(self, commit: str, head: str) -> bool | None:
        """Whether ``commit`` is in ``head``'s history, when both are on the chain; else None."""
        if commit in self.position and head in self.position:
            return self.position[commit] >= self.position[head]
        return None

    def _members(self, head: str) -> set[str]:
        """The candidates that are in ``head``'s history."""
        if head == self.at or not self.candidates:
            return set(self.candidates)
        if self.linear and head in self.position:  # all on the chain: older than head is in it
            return {c for c in self.candidates if self.position[c] >= self.position[head]}
        out = self.runner.text("rev-list", "--no-merges", *self.lower, head, "--", *self.all_names)
        return set(out.split()) & set(self.candidates)

    def plan(self, head: str) -> _Plan:
        """What to blame at ``head``: the session's files, and where moved lines may have gone."""
        members = self._members(head)
        if not self.end_exists:
            reachable = False
        elif self.end in self.candidates:  # members are exactly the candidates in head's history
            reachable = self.end in members
        else:
            before = self._before(self.end, head)
            reachable = self._is_ancestor(self.end, head) if before is None else before
        elsewhere = self._elsewhere(members, self.session)
        return _Plan(head, reachable, members, list(self.all_names), elsewhere)

    def decide(self, plan: _Plan) -> None:
        """How the session is found at the plan's head (method, rewritten copies) and what
        reverts it. Runs while the pool blames."""
        mapped: dict[str, str] = {}
        if plan.reachable:
            plan.method = "blame"
        else:
            commits, patch_ids = self.ids.commits, self.ids.patch_ids
            # Rewritten copies: a commit at head with the patch-id of a session commit.
            by_pid: dict[str, str] = {}
            for sha in self._ordered(plan.members):
                pid = self.candidate_ids.get(sha)
                if pid and pid not in by_pid:
                    by_pid[pid] = sha
            for commit in commits:
                pid = patch_ids.get(commit)
                if pid is None:
                    continue
                if commit in plan.members:
                    mapped[commit] = commit
                elif pid in by_pid:
                    mapped[commit] = by_pid[pid]
            with_patch = [c for c in commits if c in patch_ids]
            if with_patch and all(c in mapped for c in with_patch):
                plan.method = "patch-id"
            else:
                plan.method = "content"
                copies = [c for c in self.content_copies() if c in plan.members]
                if copies:  # a squash: it stands for every session commit not found otherwise
                    for commit in commits:
                        mapped.setdefault(commit, copies[0])
        plan.attribution = set(self.session) if plan.reachable else set(mapped.values())
        plan.mapped = mapped
        plan.reverting = self._reverts(plan.members, mapped, self.candidate_ids)

    def reuse_end_blames(self, pending: PendingFingerprint) -> None:
        """Offer the blames of the session's files at its end (made for its fingerprint) to the
        heads where such a file is unchanged since."""
        if self.lower != [f"^{self.start}"]:
            return
        at_end = {c for c in self.candidates if c in self.session}
        for path, future in pending.blames.items():
            oid = pending.oids.get(path)
            if oid:
                self._at_end[(path, oid)] = (at_end, future)

    def submit_blames(self, plans: list[_Plan]) -> None:
        """Submit to the pool the blames of the session's files at every head (first phase)."""
        assert self.fingerprint is not None
        self._all_hashes = {int(h, 16) for h in self.fingerprint.hashes()}
        # Oldest head first, so a later head can reuse the blame of a file nobody touched since.
        self._submit(sorted(plans, key=lambda p: len(p.members)), "targets", lambda plan: self._all_hashes)

    def _submit(self, plans: list[_Plan], which: str, wanted_of: Callable[[_Plan], set[int]]) -> None:
        """Blame, in the pool, the ``which`` files of each plan at its head; only the lines that
        may be the session's: meaningful lines whose hash is in ``wanted``. Blame then stops
        walking history once those lines have found their commits; a file without any such line
        is not blamed at all (nothing of the session can be there)."""
        specs = [(plan, path) for plan in plans for path in getattr(plan, which)]
        if not specs:
            return
        found = self.runner.objects([f"{plan.head}:{path}" for plan, path in specs], content=False)
        unread = sorted({oid for kind, oid, _ in found if kind == "blob" and _LINE_INDEX.get(oid) is None})
        if unread:
            for oid, (_, _, body) in zip(unread, self.runner.objects(unread)):
                _LINE_INDEX.put(oid, line_hashes(body))
        for (plan, path), (kind, oid, _) in zip(specs, found):
            if kind != "blob":
                continue
            plan.present.add(path)
            hashes = _LINE_INDEX.get(oid)
            if hashes is None:  # evicted meanwhile (another measure filled the cache)
                hashes = line_hashes(self.runner.objects([oid])[0][2])
            ranges = _line_ranges(hashes, wanted_of(plan))
            if not ranges:
                continue
            key = (path, oid, tuple(ranges))
            if which == "targets":
                # Same content and same history of the file: same blame. The whole-file blame at
                # the session's end holds every line the ranges ask for.
                reused = None
                for earlier in (self._submitted.get(key), self._at_end.get((path, oid))):
                    if earlier is not None and self._untouched(path, earlier[0], plan.members):
                        reused = earlier[1]
                        break
                if reused is not None:
                    plan.blames[path] = reused
                    continue
            future = self.pool.submit(
                self.runner.blame, path, [*self.lower, plan.head], self.options, ranges
            )
            plan.blames[path] = future
            if which == "targets":
                self._submitted[key] = (plan.members, future)

    def _untouched(self, path: str, before: set[str], after: set[str]) -> bool:
        """No commit touching ``path`` (one of the session's names) is in one history and not the
        other: the candidates are every non-merge commit touching those names."""
        return not any(path in self.candidates[c].files for c in before ^ after)

    def _ordered(self, members: set[str]) -> list[str]:
        # Oldest first, so a session commit maps to its first copy.
        return sorted(members, key=lambda s: (self.candidates[s].time, s))

    def _reverts(
        self, members: set[str], mapped: dict[str, str], cand_ids: dict[str, str]
    ) -> list[RevertingCommit]:
        """Commits at head (other than the session's and their copies) that revert one of them."""
        copies = {copy: original for original, copy in mapped.items()}
        known = {**{s: s for s in self.session}, **copies}  # any sha standing for a session commit
        inverse: dict[str, list[str]] = {}
        if any(sha not in known for sha in cand_ids):  # else no commit could be an inverse patch
            for commit, pid in self.ids.reverse_ids.items():
                inverse.setdefault(pid, []).append(commit)
        for copy, pid in self._copy_reverse_ids.items():  # inverse of a squash: of all it stands for
            inverse.setdefault(pid, []).extend(o for o, c in mapped.items() if c == copy)
        found: list[RevertingCommit] = []
        for sha in self._ordered(members):
            if sha in known:
                continue
            refs = _REVERTS.findall(self.candidates[sha].message)
            by_message = sorted(
                {
                    original
                    for ref in refs
                    for k in known
                    if k.startswith(ref.lower())
                    for original in ([known[k]] if k in self.session else [o for o, c in mapped.items() if c == k])
                }
            )
            if by_message:
                found.append(RevertingCommit(sha=sha, reverts=by_message, how="message"))
                continue
            pid = cand_ids.get(sha)
            if pid and pid in inverse:
                found.append(RevertingCommit(sha=sha, reverts=sorted(inverse[pid]), how="patch-id"))
        return found

    def _elsewhere(self, members: set[str], own: set[str]) -> list[str]:
        """With -C: the files that later commits at head created or changed together with one of
        the session's files. Blame -C finds lines moved between files changed in the same commit,
        so a line moved out of a session file can only have gone to one of these."""
        if not self.copies:
            return []
        names = set(self.all_names)
        extra: set[str] = set()
        for sha in members:
            if sha in own:
                continue
            changes = self.candidates[sha].changes
            if any(path in names and kind != "A" for path, kind in changes):
                extra.update(path for path, kind in changes if kind != "D" and path not in names)
        return sorted(p for p in extra if self.filter.path_reason(p) is None)

    def _counts(self, plan: _Plan) -> dict[str, Counter[str]]:
        """Per file, the hashes (with counts) of the meaningful lines blame gives the session."""
        start_time = self.ids.start_time
        at_head: dict[str, Counter[str]] = {}
        for path, future in plan.blames.items():
            blame = future.result()
            if plan.method == "content":
                relevant = {
                    sha
                    for sha, info in blame.commits.items()
                    if sha in plan.attribution
                    or (not info.boundary and (start_time is None or info.time >= start_time))
                }
            else:
                relevant = plan.attribution
            counts: Counter[str] = Counter()
            for sha, content in blame.lines:
                if sha in relevant and meaningful(content):
                    counts[line_hash(content)] += 1
            at_head[path] = counts
        return at_head

    def finish(self, plans: list[_Plan]) -> dict[str, _Found]:
        """Count what the blames found at every head, in the order they were submitted."""
        fp = self.fingerprint
        assert fp is not None
        wanted = fp.hashes()
        seen: dict[str, tuple[dict[str, Counter[str]], Counter[str]]] = {}
        second: list[_Plan] = []
        for plan in plans:
            at_head = self._counts(plan)
            everywhere: Counter[str] = Counter()
            for counts in at_head.values():
                everywhere.update(counts)
            seen[plan.head] = (at_head, everywhere)
            lost = wanted - everywhere
            if lost and plan.elsewhere:
                plan.lost = {int(h, 16) for h in lost}
                second.append(plan)
        if second:
            # Second phase: lines not found in the session's files may have moved to another
            # file; look for those only, in the files that could hold them (all heads at once).
            for plan in second:
                plan.blames = {}
            self._submit(second, "elsewhere", lambda plan: plan.lost)
            for plan in second:
                at_head, everywhere = seen[plan.head]
                for path, counts in self._counts(plan).items():
                    at_head[path] = counts
                    everywhere.update(counts)
        return {plan.head: self._found(plan, *seen[plan.head]) for plan in plans}

    def _found(self, plan: _Plan, at_head: dict[str, Counter[str]], everywhere: Counter[str]) -> _Found:
        fp = self.fingerprint
        assert fp is not None
        wanted = fp.hashes()
        surviving = sum(min(n, everywhere[h]) for h, n in wanted.items())
        per_file: list[FileSurvival] = []
        in_place = 0
        for path, added in sorted(fp.files.items()):
            names = [n for n in sorted(self.names.get(path, {path})) if n in plan.present]
            here: Counter[str] = Counter()
            for n in names:
                here.update(at_head.get(n, ()))
            kept = sum(min(n, here[h]) for h, n in added.items())
            in_place += kept
            moved_to = _main_name(path, names, at_head)
            per_file.append(
                FileSurvival(path=path, path_at_head=moved_to, added=sum(added.values()), surviving=kept)
            )
        moved = max(0, surviving - in_place)
        added_total = fp.added
        method = plan.method
        reason: str | None = None
        ratio: float | None = None
        if method == "content" and surviving == 0 and not plan.mapped:
            method = "lost"
            reason = (
                f"no commit of the session is in {plan.head[:12]}'s history, none was found there by "
                f"patch-id, and none of its {added_total} added lines was found there by content"
            )
        elif added_total == 0:
            reason = "the session added no meaningful lines"
        else:
            ratio = surviving / added_total
        return _Found(
            method=method,
            surviving=surviving,
            ratio=ratio,
            per_file=per_file,
            moved=moved,
            reverting=plan.reverting,
            mapped=plan.mapped,
            reason=reason,
        )


def _main_name(path: str, names: list[str], at_head: dict[str, Counter[str]]) -> str | None:
    """The name the file has at head: the one holding most of its lines, else any that exists."""
    if not names:
        return None
    if path in names and len(names) == 1:
        return path
    return max(names, key=lambda n: (sum(at_head.get(n, {}).values()), n != path, n))


def _added_lines(patch: bytes) -> Counter[str]:
    """Hashes (with counts) of the meaningful lines a ``git log -p`` patch adds."""
    counts: Counter[str] = Counter()
    in_hunk = False
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            in_hunk = False
        elif line.startswith(b"@@"):
            in_hunk = True
        elif in_hunk and line.startswith(b"+") and meaningful(line[1:]):
            counts[line_hash(line[1:])] += 1
    return counts


def _existing_commits(runner: GitRunner, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    out = runner.run("cat-file", "--batch-check", input="".join(f"{s}\n" for s in shas).encode())
    exists: set[str] = set()
    for sha, line in zip(shas, out.decode().splitlines()):
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "commit":
            exists.add(sha)
    return exists


def _line_ranges(hashes: Sequence[int], wanted: set[int], gap: int = 3) -> list[tuple[int, int]]:
    """1-based inclusive ranges of the lines whose hash is in ``wanted`` (0: not meaningful);
    runs closer than ``gap`` lines are joined: fewer -L options, same answer."""
    ranges: list[tuple[int, int]] = []
    for number, h in enumerate(hashes, 1):
        if h and h in wanted:
            if ranges and number - ranges[-1][1] <= gap:
                ranges[-1] = (ranges[-1][0], number)
            else:
                ranges.append((number, number))
    return ranges


class _LineIndexCache:
    """Line hashes of blobs by object id, least recently used out first. An object id names its
    content in any repository, so one cache serves every measure in the process (``cockpit stuck``
    measures many sessions at the same heads)."""

    def __init__(self, max_lines: int = 2_000_000) -> None:  # 8 bytes a line: 16 MB at most
        self.max_lines = max_lines
        self._data: OrderedDict[str, array[int]] = OrderedDict()
        self._lines = 0
        self._lock = threading.Lock()

    def get(self, oid: str) -> array[int] | None:
        with self._lock:
            found = self._data.get(oid)
            if found is not None:
                self._data.move_to_end(oid)
            return found

    def put(self, oid: str, hashes: array[int]) -> None:
        with self._lock:
            if oid in self._data:
                return
            self._data[oid] = hashes
            self._lines += len(hashes)
            while self._lines > self.max_lines and len(self._data) > 1:
                _, dropped = self._data.popitem(last=False)
                self._lines -= len(dropped)


_LINE_INDEX = _LineIndexCache()
