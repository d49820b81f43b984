"""Tidying a repository after its sessions: which task branches and worktrees go, which stay, and why.

A task the developer decided on (accepted: its work is merged; discarded: it is unwanted) needs its
branch and worktree no more. An undecided task's stay, unless the developer names it (its branch,
``run/task``, its run or its session). Whatever is removed, what it would lose is said first: commits
that no branch kept holds (with the command that brings the branch back), and a worktree whose edits
were never committed is never removed. The tasks of a session that a cockpit is running are left
alone whatever is named.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import UserError
from engine.formatting import plural
from engine.worktrees import BRANCH_PREFIX
from sessions.git.leftovers import TaskRef, commits_only_on, remove_task_ref, task_refs, uncommitted
from sessions.liveness import is_live
from sessions.store.rows import SessionRow
from sessions.store.store import Store

DECIDED = ("accepted", "discarded")


@dataclass
class Leftover:
    """One task branch (and its worktree), what is known of its task, and what cleaning does with it."""

    ref: TaskRef
    session: SessionRow | None = None
    decision: str = ""  # accepted | discarded | "" (undecided, or a branch the store does not know)
    remove: bool = False
    why: str = ""  # why it is kept, or what removing it costs
    lost_commits: int = 0  # commits of its branch that no kept branch, remote branch or tag holds
    error: str = ""  # what went wrong removing it

    @property
    def label(self) -> str:
        return self.session.label if self.session else "-"


@dataclass
class CleanPlan:
    root: Path
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def removed(self) -> list[Leftover]:
        return [item for item in self.leftovers if item.remove]

    @property
    def kept(self) -> list[Leftover]:
        return [item for item in self.leftovers if not item.remove]


async def plan_clean(store: Store, root: Path, names: list[str]) -> CleanPlan:
    """What ``cockpit clean [NAME...]`` removes and keeps; a name that matches nothing is a UserError."""
    refs = await asyncio.to_thread(task_refs, root)
    known: dict[str, tuple[SessionRow, str]] = {}  # branch -> (session, decision), oldest session first
    runs: dict[str, SessionRow] = {}  # run id -> its session
    for row in reversed(await store.list_sessions(root)):
        for task in await store.tasks(row.id):
            if task.branch:
                known[task.branch] = (row, task.decision or "")
        for run in await store.runs(row.id):  # a run's tasks are known before their branches are recorded
            runs[run.id] = row
    order = {branch: n for n, branch in enumerate(known)}
    plan = CleanPlan(root)
    for ref in sorted(refs, key=lambda r: (order.get(r.branch, len(order)), r.branch)):
        session, decision = known.get(ref.branch, (runs.get(ref.run_id), ""))
        plan.leftovers.append(Leftover(ref, session, decision if decision in DECIDED else ""))
    named = _named(plan.leftovers, names)
    live = {item.session.id for item in plan.leftovers
            if item.session is not None and item.session.status == "active" and is_live(store.path, item.session.id)}
    for item in plan.leftovers:
        if item.session is not None and item.session.id in live:
            item.why = f"session {item.label} is running"
        elif item.decision or id(item) in named:
            item.remove = True
        else:
            item.why = "undecided" if item.session is not None else "no session of this repository knows it"
    for item in plan.removed:
        dirty = await asyncio.to_thread(uncommitted, item.ref.worktree) if item.ref.worktree else []
        if dirty:
            item.remove = False
            shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
            item.why = f"uncommitted changes to {shown} in {item.ref.worktree}: commit or revert them first"
    leaving = {item.ref.branch for item in plan.removed if item.ref.sha}
    counts = await asyncio.to_thread(commits_only_on, root, sorted(leaving), leaving)
    for item in plan.removed:
        item.lost_commits = counts.get(item.ref.branch, 0)
        if item.lost_commits:
            n = item.lost_commits
            item.why = (f"{plural(n, 'commit')} on no other branch (git branch {item.ref.branch} "
                        f"{item.ref.sha[:12] if item.ref.sha else ''} brings it back)")
    return plan


def _named(leftovers: list[Leftover], names: list[str]) -> set[int]:
    """The leftovers the names choose: a branch (``cockpit/`` may be left out), ``run/task``, a run id,
    or a session (id or label). Every name must choose at least one."""
    chosen: set[int] = set()
    for name in names:
        bare = name.removeprefix(BRANCH_PREFIX).strip("/")
        hits = [item for item in leftovers
                if bare in (item.ref.branch[len(BRANCH_PREFIX):], item.ref.run_id)
                or (item.session is not None and name in (item.session.label, str(item.session.id)))]
        if not hits:
            raise UserError(f"{name!r} names no cockpit branch, run or session with something left to clean "
                            "(cockpit clean --dry-run lists them)")
        chosen |= {id(item) for item in hits}
    return chosen


def apply_clean(plan: CleanPlan) -> None:
    """Remove what the plan removes (blocking: run it in a thread); failures are kept in ``error``."""
    for item in plan.removed:
        item.error = remove_task_ref(plan.root, item.ref)


def describe_clean(plan: CleanPlan, done: bool) -> list[str]:
    """The lines ``cockpit clean`` prints: one per branch, then the totals."""
    if not plan.leftovers:
        return [f"nothing to clean: no cockpit branch or worktree in {plan.root}"]
    lines = []
    width = max(len(item.ref.branch) for item in plan.leftovers)
    for item in plan.leftovers:
        what = "worktree and branch" if item.ref.worktree and item.ref.sha else "worktree" if item.ref.worktree \
            else "branch"
        if item.remove:
            verb = "FAILED" if item.error else ("removed" if done else "remove")
        else:
            verb = "keep"
        detail = item.error or item.why
        lines.append(f"{verb:<7} {item.ref.branch:<{width}}  {item.label:<11} {item.decision or '-':<9} {what}"
                     + (f": {detail}" if detail else ""))
    removed = [item for item in plan.removed if not item.error]
    worktrees = sum(1 for item in removed if item.ref.worktree)
    branches = sum(1 for item in removed if item.ref.sha)
    verb = "removed" if done else "would remove"
    tail = f"{verb} {plural(worktrees, 'worktree')} and {branches} branch{'' if branches == 1 else 'es'}"
    kept = plan.kept
    if kept:
        tail += f"; kept {len(kept)}"
        undecided = [item for item in kept if item.why in ("undecided", "no session of this repository knows it")]
        if undecided:
            tail += f" (name one to remove it: cockpit clean {undecided[0].ref.branch})"
    failed = len(plan.removed) - len(removed)
    if failed:
        tail += f"; {failed} could not be removed"
    return lines + [tail]


def clean_exit_status(plan: CleanPlan) -> int:
    return 1 if any(item.error for item in plan.removed) else 0


def worktree_count_notice(count: int) -> str:
    """The one line said at the start of a run when earlier runs left worktrees."""
    return (f"{plural(count, 'worktree')} of earlier runs still here: "
            "cockpit clean lists them and removes those of decided tasks")
