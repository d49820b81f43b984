"""What a session's agents did, and what the developer did beside them, in a form that outlives the
commits: the record the survival measure counts from.

A cockpit session (its tasks ran on branches ``cockpit/<session>/<task>``) has one *part* per task:
the lines the task's own commits added on its branch (``start_commit..head_commit`` of the task:
its worktree started from the plan's base plus its dependencies' results, so what it inherited is
not its own; the commit of what the agent left uncommitted is), accepted or not. Beside them, the
*own* part: the commits the developer made on the branch during the session (the session's range
without the task commits, their copies by patch-id and merges), which never count in EWR(git).

A session not run by the cockpit (imported: one agent on the developer's branch) has one part, its
commit range; an :class:`AgentRule` may count only the commits marked as an agent's
(``Co-Authored-By:`` trailer or author), and the record names the rule used.

Each part is a :class:`~sessions.survival.fingerprints.Fingerprint`: commits, patch-ids, and per
file the hashes of the meaningful lines ``git blame -w -M -C`` gives to its commits at its tip.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sessions.git.blame import GitRunner
from sessions.survival.branch_log import commit_times
from sessions.git.facts import GitFactsError, _opened, _resolve
from sessions.survival.fingerprints import (
    FINGERPRINT_VERSION, Fingerprint, PendingFingerprint, json_object, range_revs,
)
from sessions.survival.commit_lines import CommitLines, totals
from sessions.survival.line_filter import FileFilter

__all__ = ["AgentRule", "SessionWork", "TaskBranch", "take_work", "OWN", "RANGE"]

WORK_VERSION = 2
OWN = "(own)"
RANGE = "(range)"
EVERY_COMMIT = "every commit of the session's range"
TASK_BRANCHES = "the tasks' own commits on their branches"


@dataclass(frozen=True)
class AgentRule:
    """Which commits of an imported session's range are an agent's: a ``Co-Authored-By:`` trailer
    matching ``trailer``, or an author ("Name <email>") matching ``author`` (regular expressions,
    searched, case-insensitive). Neither set: every commit."""

    trailer: str | None = None
    author: str | None = None

    def describe(self) -> str:
        said = []
        if self.trailer:
            said.append(f"a Co-Authored-By trailer matching {self.trailer!r}")
        if self.author:
            said.append(f"an author matching {self.author!r}")
        return "commits with " + " or ".join(said) if said else EVERY_COMMIT

    @property
    def everything(self) -> bool:
        return not (self.trailer or self.author)

    def matches(self, author: str, trailers: Sequence[str]) -> bool:
        if self.author and re.search(self.author, author, re.IGNORECASE):
            return True
        if self.trailer and any(re.search(self.trailer, t, re.IGNORECASE) for t in trailers):
            return True
        return False


@dataclass(frozen=True)
class TaskBranch:
    """A task as the store holds it: where its own commits are."""

    key: str
    start: str | None  # where its worktree started (base plus dependencies)
    head: str | None  # its branch's last commit (leftovers committed)


@dataclass
class SessionWork:
    kind: str  # "tasks" (a cockpit session) | "range" (imported)
    rule: str  # how the agents' commits were told apart, in words
    start: str | None
    end: str
    end_time: int  # committer time of ``end``: the horizons count from it
    parts: dict[str, Fingerprint]  # task key (or RANGE) -> its work
    own: Fingerprint | None = None  # the developer's own commits during the session ("tasks")
    missing: dict[str, str] = field(default_factory=dict)  # task key -> why it has no part

    def all_commits(self) -> set[str]:
        found = {c for p in self.parts.values() for c in p.commits}
        if self.own is not None:
            found.update(self.own.commits)
        return found

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": WORK_VERSION,
                "kind": self.kind,
                "rule": self.rule,
                "start": self.start,
                "end": self.end,
                "end_time": self.end_time,
                "parts": {k: p.to_dict() for k, p in self.parts.items()},
                "own": None if self.own is None else self.own.to_dict(),
                "missing": dict(self.missing),
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> "SessionWork":
        data = json_object(text, "a session's work")
        version = data.get("version")
        if version == FINGERPRINT_VERSION and "parts" not in data:
            # Recorded before tasks were told apart: the whole range, every commit.
            fp = Fingerprint.from_dict(data)
            return cls("range", EVERY_COMMIT, fp.start, fp.end, fp.end_time, {RANGE: fp})
        if version != WORK_VERSION:
            raise ValueError(f"session work version {version}, this one reads {WORK_VERSION}")
        try:
            return cls(
                kind=str(data["kind"]),
                rule=str(data["rule"]),
                start=data["start"],
                end=str(data["end"]),
                end_time=int(data["end_time"]),
                parts={str(k): Fingerprint.from_dict(v) for k, v in data["parts"].items()},
                own=None if data.get("own") is None else Fingerprint.from_dict(data["own"]),
                missing={str(k): str(v) for k, v in data.get("missing", {}).items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a session's work: {exc}") from None


# --------------------------------------------------------------------------- taking it


def take_work(
    repo: str | os.PathLike[str],
    start: str | None,
    end: str,
    tasks: Sequence[TaskBranch] | None,
    *,
    rule: AgentRule | None = None,
    file_filter: FileFilter | None = None,
    max_workers: int | None = None,
) -> SessionWork:
    """The work of a session (blocks; blames run in parallel).

    ``tasks`` None: an imported session, measured over ``start..end`` under ``rule``. Otherwise a
    cockpit session: one part per task with commits of its own (a task without a branch, or whose
    commits are gone, is listed in ``missing``), and the developer's own commits of ``start..end``.
    """
    with _opened(repo) as r:
        root = r.working_tree_dir or r.git_dir
        end_sha = _resolve(r, end)
        start_sha = None if start is None else _resolve(r, start)
    runner = GitRunner(root)
    file_filter = file_filter or FileFilter()
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count() or 2) as pool:
        if tasks is None:
            rule = rule or AgentRule()
            keep = None if rule.everything else _ruled(runner, start_sha, end_sha, rule)
            pending = PendingFingerprint(runner, root, start_sha, end_sha, file_filter, True, pool, keep=keep)
            fp = pending.result()
            return SessionWork("range", rule.describe(), start_sha, end_sha, fp.end_time, {RANGE: fp})
        parts: dict[str, PendingFingerprint] = {}
        missing: dict[str, str] = {}
        for task in tasks:
            if not task.head or not task.start:
                missing[task.key] = "the task left no branch"
                continue
            if task.head == task.start:
                continue  # committed nothing: no part, nothing to count
            try:
                parts[task.key] = PendingFingerprint(
                    runner, root, task.start, task.head, file_filter, True, pool
                )
            except GitFactsError as exc:
                missing[task.key] = f"its commits are not in the repository ({exc})"
        done = {key: p.result() for key, p in parts.items()}
        task_commits = {c for p in done.values() for c in p.commits}
        task_ids = {pid for p in done.values() for pid in p.patch_ids.values()}
        own = None
        if start_sha != end_sha:
            in_range = _on_the_branch(runner, start_sha, end_sha)
            ids = runner.patch_ids(range_revs(start_sha, end_sha)) if task_ids else {}
            mine = {
                c for c, parents in in_range.items()
                if len(parents) < 2 and c not in task_commits and ids.get(c) not in task_ids
            }
            mine -= _squashes(runner, mine, list(done.values()))
            own = PendingFingerprint(runner, root, start_sha, end_sha, file_filter, True, pool, keep=mine).result()
        end_time = commit_times(runner, [end_sha])[end_sha]
        return SessionWork("tasks", TASK_BRANCHES, start_sha, end_sha, end_time, done, own, missing)


def _on_the_branch(runner: GitRunner, start: str | None, end: str) -> dict[str, tuple[str, ...]]:
    """The commits made on the developer's branch itself during the session (its first-parent
    chain), with their parents: what merges brought in (a task's branch, another session's
    accepted work) is not the developer's own."""
    out = runner.text("log", "--first-parent", "--format=%H %P", *range_revs(start, end), "--")
    return {sha: tuple(parents) for sha, *parents in (line.split() for line in out.splitlines())}


def _ruled(runner: GitRunner, start: str | None, end: str, rule: AgentRule) -> set[str]:
    """The commits of ``start..end`` that ``rule`` says are an agent's."""
    out = runner.text(
        "log", "-z", "--format=%H%n%an <%ae>%n%(trailers:key=Co-authored-by,valueonly,separator=%x1f)",
        *range_revs(start, end), "--",
    )
    keep: set[str] = set()
    for record in out.split("\0"):  # a commit's fields hold no NUL, nor an author a newline
        sha, _, rest = record.partition("\n")
        author, _, trailers = rest.partition("\n")
        if sha and rule.matches(author, [t.strip() for t in trailers.split("\x1f") if t.strip()]):
            keep.add(sha)
    return keep


def _squashes(runner: GitRunner, commits: set[str], parts: list[Fingerprint]) -> set[str]:
    """The commits of ``commits`` that bring a task's lines in by content (a squash merge, a
    rebase that changed the patch): the task's work, not the developer's."""
    if not commits or not parts:
        return set()
    wanted = [p.line_counts() for p in parts]
    found: set[str] = set()
    for sha, lines in CommitLines(runner).of(sorted(commits)).items():
        added = totals(lines)[0]
        if any(copies_content(added, w, sum(w.values())) for w in wanted if w):
            found.add(sha)
    return found


def copies_content(added: Counter[int], wanted: Counter[int], total: int) -> bool:
    """Whether a commit adding the lines ``added`` (hash -> count) brings in a part's lines
    ``wanted`` (``total`` of them) by content: it adds at least half of them, or at least two of
    them that make up at least half of what it adds."""
    overlap = sum(min(n, wanted[h]) for h, n in added.items() if h in wanted)
    return bool(overlap) and (2 * overlap >= total or (overlap >= 2 and 2 * overlap >= sum(added.values())))
