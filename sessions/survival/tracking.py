"""Finding a session's lines at later heads of one branch: the git reads and blames behind
:func:`sessions.survival.measure.measure` (one :class:`Tracker` per measure call).

Performance (bench/survival.py): every blame is the git CLI in a subprocess, run from a thread
pool bounded by the cores, range-limited (``^start H``) and limited with ``-L`` to the lines whose
hash is one of the session's (a file without any is not blamed; blame stops walking as soon as
those lines have found their commits). A file unchanged between two heads (or since the session's
end) is blamed once. Lines moved to other files are looked for only when some are missing from the
session's files, and only in files changed by the same later commits. Line hashes of blobs are
cached by object id for the process. Everything else is a handful of git calls a session
(one path-limited log finds renames, later commits and their messages; one first-parent log
places the horizons); patch-ids are read only when history was rewritten or a later commit has
the shape of a revert.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from sessions.survival.fingerprints import (
    FileChangeKind,
    Fingerprint,
    PendingFingerprint,
    blame_options,
    parse_raw_log,
)
from sessions.git.blame import Blame, GitRunner
from sessions.survival.line_filter import FileFilter, line_hash, line_hashes, meaningful
from sessions.survival.results import FileSurvival, RevertingCommit

__all__ = ["SessionIds", "Tracker", "existing_commits"]

_RENAME_STATUS = re.compile(r"R\d*")
_REVERTS = re.compile(r"This reverts commit ([0-9a-fA-F]{7,64})")


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
class SessionIds:
    """The session's commits and patch-ids, from a stored fingerprint or one being made (whose
    patch-ids are read only if asked for)."""

    commits: tuple[str, ...]
    start_time: int | None
    commit_changes: dict[str, list[FileChangeKind]]
    source: Fingerprint | PendingFingerprint

    @classmethod
    def of(cls, source: Fingerprint | PendingFingerprint) -> "SessionIds":
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


class Tracker:
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
        ids: SessionIds,
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
        exists = set(shas) if known_to_exist else existing_commits(runner, shas)
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


def _head_at(runner: GitRunner, at: str, due: int) -> str | None:
    """The last first-parent commit of ``at`` whose committer time is at or before ``due``."""
    out = runner.text("rev-list", "-1", "--first-parent", f"--until={due}", at, "--").strip()
    return out or None


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


def existing_commits(runner: GitRunner, shas: list[str]) -> set[str]:
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
