"""Fingerprint of a session: what it committed, in a form that outlives the commits themselves.

A :class:`Fingerprint` holds the session's commits, the patch-id of each (and of its inverse, which
is what a revert has), the paths each changes and how (a patch-id can only match a commit
changing the same paths the same way, an inverse patch one changing them the mirrored way: only
those are ever patch-id'd later), and for every file the hashes of the meaningful lines the session added with
their counts. It is plain JSON: stored when a session ends or is imported, it lets the survival
measure trace the work after a rebase, a squash merge or a cherry-pick, even once the original
commits are garbage-collected.

*Lines the session added* (the measure's denominator A) are those that
``git blame --porcelain -w -M [-C] start..end`` attributes to a commit of ``start..end``: the same
blame options as the survival blame later, so that a line the session only re-indented, or moved
within its file or (with ``-C``) from another file it touched, is not counted as the session's
work, and the survival of an untouched session is exactly 1.0. Lines of ``start`` or older are
boundary lines: not the session's. Only meaningful lines of counted files count
(:mod:`sessions.survival.line_filter`).

The commits are every commit of ``start..end`` (``git rev-list``), not only the first-parent chain:
when the session merges a task branch, blame attributes the lines to the branch's commits, and
those are the session's work too. Merge commits have no patch-id.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sessions.git.blame import Blame, GitRunner
from sessions.git.facts import GitFactsError, _opened, _resolve, files_changed
from sessions.survival.line_filter import FileFilter, attribute_reasons, line_hash, meaningful

__all__ = [
    "FINGERPRINT_VERSION",
    "FileChangeKind",
    "Fingerprint",
    "blame_options",
    "session_fingerprint",
]

FINGERPRINT_VERSION = 1
HASH_NAME = "blake2b-8/no-whitespace"

FileChangeKind = tuple[str, str]  # (path, "A" added | "M" modified | "D" deleted), no renames


def blame_options(copies: bool) -> tuple[str, ...]:
    """Blame options of the measure: ignore whitespace, follow moves (and copies across files)."""
    return ("-w", "-M", "-C") if copies else ("-w", "-M")


@dataclass
class Fingerprint:
    """What a session committed; JSON round-trips with :meth:`to_json` / :meth:`from_json`."""

    start: str | None  # full sha of the session's start (None: from the root)
    end: str
    start_time: int | None  # committer time of start, seconds since the epoch
    end_time: int  # committer time of end
    commits: tuple[str, ...]  # every commit of start..end, oldest first
    patch_ids: dict[str, str]  # commit -> patch-id (non-merge commits with a non-empty patch)
    reverse_patch_ids: dict[str, str]  # commit -> patch-id of its inverse patch (a revert's)
    commit_changes: dict[str, list[FileChangeKind]]  # commit -> [(path, A|M|D)] (no renames)
    files: dict[str, dict[str, int]]  # path at end -> {line hash: count} of added meaningful lines
    excluded: dict[str, str] = field(default_factory=dict)  # path at end -> why it does not count
    options: dict[str, Any] = field(default_factory=dict)  # how it was made (blame, filter, hash)
    version: int = FINGERPRINT_VERSION

    @property
    def added(self) -> int:
        """How many meaningful lines the session added (the measure's denominator)."""
        return sum(sum(counts.values()) for counts in self.files.values())

    def hashes(self) -> Counter[str]:
        """Every added line hash with its count, over all files."""
        total: Counter[str] = Counter()
        for counts in self.files.values():
            total.update(counts)
        return total

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "start": self.start,
            "end": self.end,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "commits": list(self.commits),
            "patch_ids": dict(self.patch_ids),
            "reverse_patch_ids": dict(self.reverse_patch_ids),
            "commit_changes": {c: [list(x) for x in f] for c, f in self.commit_changes.items()},
            "files": {path: dict(counts) for path, counts in self.files.items()},
            "excluded": dict(self.excluded),
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fingerprint":
        version = int(data.get("version", 0))
        if version != FINGERPRINT_VERSION:
            raise ValueError(f"fingerprint version {version}, this one reads {FINGERPRINT_VERSION}")
        try:
            return cls(
                start=data["start"],
                end=data["end"],
                start_time=None if data["start_time"] is None else int(data["start_time"]),
                end_time=int(data["end_time"]),
                commits=tuple(data["commits"]),
                patch_ids=dict(data["patch_ids"]),
                reverse_patch_ids=dict(data["reverse_patch_ids"]),
                commit_changes={
                    c: [(str(p), str(k)) for p, k in f] for c, f in data["commit_changes"].items()
                },
                files={p: {h: int(n) for h, n in c.items()} for p, c in data["files"].items()},
                excluded=dict(data.get("excluded", {})),
                options=dict(data.get("options", {})),
                version=version,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a session fingerprint: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Fingerprint":
        return cls.from_dict(json_object(text, "a session fingerprint"))

    def line_counts(self) -> Counter[int]:
        """Every added line hash (as an integer, as :func:`line_hashes` gives) with its count."""
        found: Counter[int] = Counter()
        for counts in self.files.values():
            for h, n in counts.items():
                found[int(h, 16)] += n
        return found


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """``text`` read as a JSON object; ValueError naming ``what`` it is not."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not {what}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not {what}: not a JSON object")
    return data


# --------------------------------------------------------------------------- making one


def session_fingerprint(
    repo: str | os.PathLike[str],
    start: str | None,
    end: str,
    *,
    file_filter: FileFilter | None = None,
    copies: bool = True,
    max_workers: int | None = None,
) -> Fingerprint:
    """Fingerprint of the session ``start..end`` of ``repo`` (blocks; blames run in parallel)."""
    with _opened(repo) as r:
        root = r.working_tree_dir or r.git_dir
        end_sha = _resolve(r, end)
        start_sha = None if start is None else _resolve(r, start)
    runner = GitRunner(root)
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 2) as pool:
        return PendingFingerprint(runner, root, start_sha, end_sha, file_filter or FileFilter(), copies, pool).result()


def range_revs(start: str | None, tip: str) -> list[str]:
    """Revision arguments for "after start, up to tip" (from the root when start is None)."""
    return [tip] if start is None else [f"^{start}", tip]


class PendingFingerprint:
    """A fingerprint being made: the cheap facts at once, the blames submitted to ``pool``.

    The survival measure submits its own blames to the same pool while these run, then calls
    :meth:`result`.
    """

    def __init__(
        self,
        runner: GitRunner,
        root: str,
        start: str | None,
        end: str,
        file_filter: FileFilter,
        copies: bool,
        pool: Executor,
        keep: set[str] | None = None,
    ) -> None:
        self.runner = runner
        self.start = start
        self.end = end
        self.filter = file_filter
        self.copies = copies
        revs = range_revs(start, end)
        self.commit_changes = _commit_changes(runner, revs)
        if keep is not None:  # only these commits' lines are the work measured
            self.commit_changes = {c: f for c, f in self.commit_changes.items() if c in keep}
        self.commits = list(self.commit_changes)
        times = _commit_times(runner, [c for c in (start, end) if c])
        self.start_time = times.get(start) if start else None
        self.end_time = times[end]
        self.excluded: dict[str, str] = {}
        self.oids: dict[str, str] = {}  # blob of each counted file at end
        self.paths = self._counted_paths(root)
        self._revs = revs
        self._ids: dict[bool, dict[str, str]] = {}
        options = blame_options(copies) + (("--root",) if start is None else ())
        self.blames: dict[str, Future[Blame]] = {
            path: pool.submit(runner.blame, path, revs, options) for path in self.paths
        }

    def _counted_paths(self, root: str) -> list[str]:
        """Files of the session's net change that may hold added lines and are not left out."""
        candidates: list[str] = []
        changes = [c for c in files_changed(root, self.start, self.end) if c.change != "deleted"]
        by_attributes = attribute_reasons(self.runner, [c.path for c in changes])
        for change in changes:
            if change.path in by_attributes:  # the repository's own word comes first
                self.excluded[change.path] = by_attributes[change.path]
                continue
            if change.binary:
                self.excluded[change.path] = "binary"
                continue
            if not change.added:
                continue
            reason = self.filter.path_reason(change.path)
            if reason:
                self.excluded[change.path] = reason
                continue
            candidates.append(change.path)
        for path, (kind, oid, body) in zip(candidates, self.runner.objects([f"{self.end}:{p}" for p in candidates])):
            if kind is None:
                continue
            reason = ("submodule" if kind == "commit" else "not a file") if kind != "blob" else None
            reason = reason or self.filter.content_reason(body)
            if reason:
                self.excluded[path] = reason
            else:
                self.oids[path] = oid
        return [p for p in candidates if p not in self.excluded]

    def patch_ids(self, reverse: bool = False) -> dict[str, str]:
        """Patch-ids of the session's commits (of their inverse patches with ``reverse``); read
        when first asked: the survival measure needs them only when history was rewritten or a
        later commit could be a revert."""
        if reverse not in self._ids:
            ids = self.runner.patch_ids(self._revs, None, reverse)
            self._ids[reverse] = {c: pid for c, pid in ids.items() if c in self.commit_changes}
        return self._ids[reverse]

    def result(self, patch_ids: bool = True) -> Fingerprint:
        """The fingerprint, once its blames are done (without ``patch_ids``: with the patch-ids
        read so far only, for a caller that reads them through :meth:`patch_ids`)."""
        session = set(self.commits)
        files: dict[str, dict[str, int]] = {}
        for path, future in self.blames.items():
            counts = added_lines(future.result(), session)
            if counts:
                files[path] = dict(counts)
        return Fingerprint(
            start=self.start,
            end=self.end,
            start_time=self.start_time,
            end_time=self.end_time,
            commits=tuple(self.commits),
            patch_ids=self.patch_ids() if patch_ids else dict(self._ids.get(False, {})),
            reverse_patch_ids=self.patch_ids(True) if patch_ids else dict(self._ids.get(True, {})),
            commit_changes={c: f for c, f in self.commit_changes.items() if f},
            files=files,
            excluded=dict(sorted(self.excluded.items())),
            options={
                "blame": " ".join(blame_options(self.copies)),
                "filter": self.filter.signature(),
                "hash": HASH_NAME,
            },
        )


def added_lines(blame: Blame, commits: set[str]) -> Counter[str]:
    """Hashes (with counts) of the meaningful lines ``blame`` attributes to one of ``commits``."""
    counts: Counter[str] = Counter()
    for sha, content in blame.lines:
        if sha in commits and meaningful(content):
            counts[line_hash(content)] += 1
    return counts


def _commit_changes(runner: GitRunner, revs: list[str]) -> dict[str, list[FileChangeKind]]:
    """The commits of ``revs``, oldest first, each with the paths it changes (merges: none)."""
    out = runner.run(
        "log", "--reverse", "-z", "--raw", "--no-abbrev", "--no-renames", "--format=%x1e%H%x1d", *revs, "--"
    )
    return {sha: changes for sha, (_, changes) in parse_raw_log(out).items()}


def parse_raw_log(out: bytes) -> dict[str, tuple[bytes, list[FileChangeKind]]]:
    """Parse ``git log -z --raw --no-renames --format=%x1e%H<more>%x1d``: for each commit, what
    the format printed after the sha (and a unit separator), and the paths it changes."""
    found: dict[str, tuple[bytes, list[FileChangeKind]]] = {}
    for record in out.split(b"\x1e")[1:]:
        head, _, body = record.partition(b"\x1d")
        sha, _, more = head.partition(b"\x1f")
        tokens = body.split(b"\0")
        changes: list[FileChangeKind] = []
        i = 0
        while i < len(tokens):
            # ":<mode> <mode> <oid> <oid> <status>" then the path (no renames: just one path)
            token = tokens[i].lstrip(b"\n")
            if token.startswith(b":") and i + 1 < len(tokens):
                kind = token.rsplit(b" ", 1)[-1][:1].decode()
                changes.append((tokens[i + 1].decode("utf-8", "surrogateescape"), _KINDS.get(kind, "M")))
                i += 2
            else:
                i += 1
        found[sha.decode()] = (more, sorted(changes))
    return found


_KINDS = {"A": "A", "D": "D", "M": "M", "T": "M"}


def _commit_times(runner: GitRunner, shas: Iterable[str]) -> dict[str, int]:
    shas = list(dict.fromkeys(shas))
    out = runner.text("log", "--no-walk=unsorted", "--format=%H %ct", *shas, "--")
    times: dict[str, int] = {}
    for line in out.splitlines():
        sha, _, ct = line.partition(" ")
        times[sha] = int(ct)
    missing = [s for s in shas if s not in times]
    if missing:
        raise GitFactsError(f"commit {missing[0]} not found")
    return times
