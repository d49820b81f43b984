"""The developer's branch as the survival measure reads it: one ``git log`` of ``at``'s history after
a lower bound, with each commit's parents, time and the paths it changes (messages are read when
asked, :meth:`BranchLog.messages`).

From it, without more git calls:

* the first-parent chain of ``at`` (where the horizon heads are: the last chain commit at or before
  a due time);
* which commits are in the history of a chain commit (each commit's *arrival*: the position on the
  chain of the first chain commit whose history holds it);
* the *blame key* of a file at a chain commit: the newest chain commit at or before it whose change
  against its first parent touches the file. ``git blame`` hands every line of a file to the first
  parent whose blob is the same one, so the blame of a file at a chain commit is the blame at its
  key: one blame serves every head where the file has not changed since;
* the files lines could have moved to: ``git blame -C`` finds a moved or copied line only in the
  files the moving commit also changes, so the lines of a set of files can only be, later, in the
  files that later commits changed together with one of them (followed from commit to commit).

Merges list the paths they change against their first parent (``--diff-merges=first-parent``);
side-branch commits list their own. Renames are a deletion and an addition (``--no-renames``).
"""

from __future__ import annotations

import bisect
import heapq
import os
from collections.abc import Iterable
from dataclasses import dataclass

from sessions.git.blame import GitRunner
from sessions.git.facts import GitFactsError
from sessions.survival.fingerprints import parse_raw_log
from sessions.survival.commit_lines import CommitLines

__all__ = ["BranchLog", "LogCommit", "commit_times", "ensure_commit_graph"]


@dataclass(slots=True)
class LogCommit:
    sha: str
    parents: tuple[str, ...]
    time: int  # committer time
    changes: tuple[tuple[str, str], ...]  # (path, "A" | "M" | "D"), sorted

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.changes]


def parse_log(out: bytes) -> list[LogCommit]:
    """``git log -z --raw --no-abbrev --no-renames --format=%x1e%H%x1f%P%x1f%ct%x1d`` (only shas and
    numbers: nothing a commit's author could write breaks the records)."""
    found: list[LogCommit] = []
    for sha, (more, changes) in parse_raw_log(out).items():
        fields = more.split(b"\x1f", 1)
        parents, ct = (fields + [b""] * 2)[:2]
        found.append(LogCommit(
            sha=sha,
            parents=tuple(parents.decode().split()),
            time=int(ct or 0),
            changes=tuple(sorted(set(changes))),
        ))
    return found


class BranchLog:
    """The commits of ``at``'s history not in ``lower``'s (oldest first), read with one ``git log``."""

    def __init__(self, runner: GitRunner, at: str, lower: Iterable[str] = (), since: int | None = None) -> None:
        self.at = at
        bounds = [f"^{c}" for c in lower]
        if since is not None:
            bounds.append(f"--since={since}")
        out = runner.run(
            "log", "--topo-order", "--reverse", "-z", "--raw", "--no-abbrev", "--no-renames",
            "--diff-merges=first-parent", "--format=%x1e%H%x1f%P%x1f%ct%x1d",
            *bounds, at, "--",
        )
        self.commits = parse_log(out)
        self.runner = runner
        self._messages: dict[str, str] = {}
        self._histories: dict[str, list[LogCommit]] = {}
        self._movers_read = False
        self._by_path: dict[str, list[int]] = {}
        for i, c in enumerate(self.commits):
            for path in c.paths:
                self._by_path.setdefault(path, []).append(i)
        self.by_sha = {c.sha: c for c in self.commits}
        # The first-parent chain of ``at``, oldest first.
        chain: list[str] = []
        sha: str | None = at if at in self.by_sha else None
        while sha is not None:
            chain.append(sha)
            parents = self.by_sha[sha].parents
            sha = parents[0] if parents and parents[0] in self.by_sha else None
        chain.reverse()
        self.chain = chain
        self.position = {sha: i for i, sha in enumerate(chain)}
        self.chain_times = [self.by_sha[s].time for s in chain]
        self.arrival = self._arrivals()
        # For each path, the chain positions whose first-parent change touches it (ascending).
        self.touched: dict[str, list[int]] = {}
        for i, sha in enumerate(chain):
            for path in self.by_sha[sha].paths:
                self.touched.setdefault(path, []).append(i)

    def _arrivals(self) -> dict[str, int]:
        arrival: dict[str, int] = {}
        for i, sha in enumerate(self.chain):
            arrival[sha] = i
            stack = list(self.by_sha[sha].parents[1:])
            while stack:
                x = stack.pop()
                if x in arrival or x not in self.by_sha:
                    continue
                arrival[x] = i
                stack.extend(self.by_sha[x].parents)
        return arrival

    # ------------------------------------------------------------------ questions

    def head_at(self, due: int) -> str | None:
        """The last chain commit whose committer time is at or before ``due`` (None: none in the log)."""
        best = None
        for sha, ct in zip(self.chain, self.chain_times):
            if ct <= due:
                best = sha
        return best

    def in_history(self, sha: str, head: str) -> bool | None:
        """Whether ``sha`` is in the history of the chain commit ``head``; None when the log cannot
        tell (``head`` off the chain, or ``sha`` older than the log)."""
        pos = self.position.get(head)
        if pos is None:
            return None
        arrived = self.arrival.get(sha)
        if arrived is None:
            return None
        return arrived <= pos

    def messages(self, shas: Iterable[str]) -> dict[str, str]:
        """The message of each commit (read once; NUL ends each one: no message holds a NUL)."""
        asked = list(dict.fromkeys(shas))
        unread = [c for c in asked if c not in self._messages]
        if unread:
            out = self.runner.run(
                "log", "--stdin", "--no-walk=unsorted", "-z", "--format=%H%n%B",
                input="".join(f"{c}\n" for c in unread).encode(),
            )
            for record in out.split(b"\0"):
                sha, _, message = record.partition(b"\n")
                if sha:
                    self._messages[sha.decode()] = message.decode("utf-8", "replace")
        return {c: self._messages.get(c, "") for c in asked}

    def history(self, head: str) -> list[LogCommit]:
        """The log's commits in ``head``'s history (``head`` on the chain), oldest first."""
        found = self._histories.get(head)
        if found is None:
            pos = self.position[head]
            found = self._histories[head] = [c for c in self.commits if self.arrival.get(c.sha, pos + 1) <= pos]
        return found

    def blame_key(self, path: str, head: str) -> str:
        """The commit whose blame of ``path`` is the blame at ``head`` (see the module's docstring)."""
        pos = self.position.get(head)
        if pos is None:
            return head
        touched = self.touched.get(path)
        if not touched:
            return self.chain[0]
        i = bisect.bisect_right(touched, pos)
        return self.chain[touched[i - 1]] if i else self.chain[0]

    def touching(self, paths: Iterable[str]) -> list[LogCommit]:
        """The log's commits changing one of ``paths``, oldest first (in log order)."""
        found: set[int] = set()
        for path in paths:
            found.update(self._by_path.get(path, ()))
        return [self.commits[i] for i in sorted(found)]

    def reach(self, paths: Iterable[str], after: int, wanted: set[int], lines: CommitLines) -> set[str]:
        """``paths``, and the files lines of theirs whose hash is in ``wanted`` can have been moved
        or copied to by a commit of the log (committed at ``after`` or later): ``git blame -C``
        finds a moved line only in a file the moving commit also changed, so a file is reached when
        a commit changing a reached file adds to it such a line; and so on, oldest commit first.
        Only commits changing two files or more can move lines between files."""
        if not self._movers_read:  # every mover's lines at once (one git call, or the kept ones)
            lines.of(c.sha for c in self.commits if len(c.changes) > 1)
            self._movers_read = True
        reached = set(paths)
        queue = [i for i in {i for p in reached for i in self._by_path.get(p, ())} if self._mover(i, after)]
        heapq.heapify(queue)
        seen = set(queue)
        while queue:
            at = heapq.heappop(queue)
            c = self.commits[at]
            for path, (added, _removed) in lines.of([c.sha])[c.sha].items():
                if path in reached or wanted.isdisjoint(added):
                    continue
                reached.add(path)
                for i in self._by_path.get(path, ()):  # the later commits changing it move them on
                    if i > at and i not in seen and self._mover(i, after):
                        seen.add(i)
                        heapq.heappush(queue, i)
        return reached

    def _mover(self, i: int, after: int) -> bool:
        c = self.commits[i]
        return len(c.changes) > 1 and c.time >= after


def commit_times(runner: GitRunner, shas: Iterable[str]) -> dict[str, int]:
    """Committer time of each of ``shas`` that is a commit of the repository (the others left out)."""
    shas = list(dict.fromkeys(shas))
    if not shas:
        return {}
    out = runner.run("cat-file", "--batch-check", input="".join(f"{s}\n" for s in shas).encode())
    there = [s for s, line in zip(shas, out.decode().splitlines()) if line.split()[1:2] == ["commit"]]
    if not there:
        return {}
    text = runner.text("log", "--no-walk=unsorted", "--format=%H %ct", *there, "--")
    return {sha: int(ct) for sha, ct in (line.split() for line in text.splitlines())}


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
