"""The developer's decisions on a session's tasks: what accepting one would bring in, accepting it, and
discarding it, on a session that is running (through :class:`~sessions.live_session.LiveSession`, which
adds the engine's own checks) or one that has ended (``cockpit review``, ``accept``, ``discard``).

A task's branch holds its dependencies' work, merged in before it started. So accepting it:

* ``"merge"`` (the default) merges its branch, and is refused with :class:`NeedsChoice` while any
  dependency (direct or not) is not accepted: that work would come in unseen;
* ``"own"`` copies only its own commits onto the branch (:mod:`sessions.git.pick`);
* ``"with-deps"`` brings in the dependencies not accepted yet with it, each recorded as accepted
  (``via`` this task). A discarded dependency comes in only when it is named in ``include``; when one is
  left out, the chosen tasks' own commits are copied, dependencies first, instead of a merge.

Every git step is checked before anything changes, and a refusal (CommandError; ReviewError for git's)
records nothing. How each accepted task's work came in is stored with it (:class:`Acceptance`).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import CommandError
from sessions.git.incoming import Incoming, OwnRange, incoming
from sessions.git.merge import AcceptResult, accept, check_task_worktree, discard, remove_task_worktree
from sessions.git.pick import PickResult, pick
from sessions.store.rows import Acceptance, TaskRow
from sessions.store.store import Store

__all__ = ["ACCEPT_MODES", "Accepted", "Decisions", "NeedsChoice", "TaskFacts", "status_word"]

ACCEPT_MODES = ("merge", "own", "with-deps")
_NOT_ENDED = ("pending", "ready", "running", "paused")


@dataclass(frozen=True)
class TaskFacts:
    """What deciding on a task needs to know of it."""

    key: str
    title: str
    depends_on: tuple[str, ...]
    state: str
    branch: str
    worktree: str
    start_commit: str
    head_commit: str
    decision: str | None
    run_id: str | None = None
    decision_reason: str = ""
    agent: str = ""
    attempts: int = 0
    tokens: int = 0  # input, output and cache tokens
    cost_usd: float | None = None
    final_message: str = ""
    tokens_known: bool = True  # False: the agent reported no billed tokens (``tokens`` is not a count)
    tokens_approximate: bool = False
    agent_session: str = ""  # its agent's own session (a Claude Code session id), newest
    resume_command: str = ""  # the command that continues it by hand, in its worktree

    @property
    def own(self) -> OwnRange:
        return OwnRange(self.key, self.start_commit, self.head_commit)

    @classmethod
    def of(cls, row: TaskRow) -> "TaskFacts":
        return cls(row.key, row.title, row.depends_on, row.state, row.branch or "", row.worktree or "",
                   row.start_commit or "", row.head_commit or "", row.decision, row.run_id,
                   row.decision_reason or "", row.agent, row.attempts,
                   row.tokens_in + row.tokens_out + row.cache_write + row.cache_read, row.cost_usd,
                   row.final_message or "", row.tokens_known, row.tokens_approximate, row.agent_session or "",
                   row.resume_command or "")


def status_word(task: TaskFacts) -> str:
    """How a dependency's work stands: "accepted", "discarded" or "not reviewed"."""
    return task.decision or "not reviewed"


class NeedsChoice(CommandError):
    """Accepting a task would bring in work of dependencies that are not accepted: the developer must
    choose its own commits only, or with its dependencies."""

    def __init__(self, key: str, pending: list[TaskFacts]) -> None:
        self.key = key
        self.pending = pending
        super().__init__(
            f"task {key!r} holds work of {self.names()} that is not in your branch: accept only its own "
            "commits, or with its dependencies"
        )

    def names(self) -> str:
        return ", ".join(f"{t.key} ({status_word(t)})" for t in self.pending)


@dataclass(frozen=True)
class Accepted:
    """What an accept did: the git outcome, and every task recorded as accepted (the task first)."""

    key: str
    mode: str
    outcome: AcceptResult | PickResult
    tasks: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # dependencies whose work did not come in ("docs (discarded)")

    def describe(self) -> str:
        text = self.outcome.describe()
        others = [k for k in self.tasks if k != self.key]
        if others:
            text += f"; also accepted: {', '.join(others)}"
        if self.left_out:
            text += f"; left out: {', '.join(self.left_out)}"
        return text


class Decisions:
    """Accept and discard the tasks of one session (the newest run's row of each task key).

    A running session gives ``fresh``, which puts what its engine knows now (state, branch, commits)
    over the stored rows (the event writer updates them a moment later), and ``guard``, called with
    ``("accept" | "discard", key)`` before a decision, raising CommandError for what only the run knows.
    """

    def __init__(self, store: Store, session_id: int, repo: str | Path, label: str,
                 fresh: Callable[[TaskFacts], TaskFacts] | None = None,
                 guard: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.session_id = session_id
        self.repo = Path(repo)
        self.label = label
        self.fresh = fresh
        self.guard = guard
        self._busy = False  # one decision at a time: two could race for the same dependency

    # ----------------------------------------------------------------------------- reading
    async def tasks(self) -> dict[str, TaskFacts]:
        newest: dict[str, TaskFacts] = {}
        for row in await self.store.tasks(self.session_id):
            facts = TaskFacts.of(row)
            newest[row.key] = self.fresh(facts) if self.fresh else facts
        return newest

    async def task(self, key: str) -> TaskFacts:
        tasks = await self.tasks()
        if key not in tasks:
            raise CommandError(f"no task {key!r} in session {self.label}")
        return tasks[key]

    @staticmethod
    def dependencies(tasks: dict[str, TaskFacts], key: str) -> list[TaskFacts]:
        """Every task whose work ``key``'s branch holds (dependencies of dependencies too), deps first."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(k: str) -> None:
            for dep in tasks[k].depends_on if k in tasks else ():
                if dep not in seen:
                    seen.add(dep)
                    visit(dep)
                    order.append(dep)

        visit(key)
        return [tasks[k] for k in order if k in tasks]

    async def pending(self, key: str) -> list[TaskFacts]:
        """The dependencies of ``key`` whose work is not accepted (discarded or not reviewed), deps first."""
        tasks = await self.tasks()
        return [t for t in self.dependencies(tasks, key) if t.decision != "accepted"]

    async def incoming(self, key: str) -> Incoming:
        """What accepting ``key`` with a merge would bring into the checkout's branch, each file marked
        by the tasks (itself or dependencies not accepted) whose own commits changed it."""
        tasks = await self.tasks()
        task = self._reviewable(tasks, key)
        pending = [t.own for t in self.dependencies(tasks, key) if t.decision != "accepted"]
        return await asyncio.to_thread(incoming, self.repo, task.own, pending)

    # ---------------------------------------------------------------------------- deciding
    def _reviewable(self, tasks: dict[str, TaskFacts], key: str) -> TaskFacts:
        if key not in tasks:
            raise CommandError(f"no task {key!r} in session {self.label}")
        task = tasks[key]
        if task.state in _NOT_ENDED:
            raise CommandError(f"task {key!r} is {task.state}: only a task that has ended can be reviewed")
        if not task.branch or not task.head_commit:
            raise CommandError(f"task {key!r} left no branch to review")
        return task

    def _undecided(self, task: TaskFacts) -> None:
        if task.decision:
            raise CommandError(f"task {task.key!r} was already {task.decision}")

    @property
    def busy(self) -> bool:
        """A task is being accepted or discarded now."""
        return self._busy

    def _claim(self) -> None:
        if self._busy:
            raise CommandError("another task is being accepted or discarded; try again in a moment")
        self._busy = True

    async def accept(self, key: str, mode: str = "merge", include: Collection[str] = ()) -> Accepted:
        """Accept ``key`` (see the module's docstring for ``mode`` and ``include``); records every task
        whose work came in. CommandError (NeedsChoice, ReviewError) says why not, nothing changed."""
        if mode not in ACCEPT_MODES:
            raise CommandError(f"unknown way to accept {mode!r}; expected one of {', '.join(ACCEPT_MODES)}")
        if self.guard:
            self.guard("accept", key)
        self._claim()
        try:
            return await self._accept(key, mode, set(include))
        finally:
            self._busy = False

    async def _accept(self, key: str, mode: str, include: set[str]) -> Accepted:
        tasks = await self.tasks()
        task = self._reviewable(tasks, key)
        self._undecided(task)
        pending = [t for t in self.dependencies(tasks, key) if t.decision != "accepted"]
        discarded = {t.key for t in pending if t.decision == "discarded"}
        if include and mode != "with-deps":
            raise CommandError("only an accept with its dependencies can bring in discarded work")
        unknown = sorted(include - discarded)
        if unknown:
            raise CommandError(
                f"{', '.join(unknown)}: not a discarded dependency of {key!r}"
                + (f" (its discarded dependencies: {', '.join(sorted(discarded))})" if discarded else "")
            )
        if mode == "merge" and pending:
            raise NeedsChoice(key, pending)
        if mode == "own":
            return await self._pick(task, [], pending)
        chosen = [t for t in pending if t.decision is None or t.key in include] if mode == "with-deps" else []
        if len(chosen) < len(pending):
            return await self._pick(task, chosen, [t for t in pending if t not in chosen])
        for dep in chosen:  # their worktrees go too: hand edits there must not be lost
            await asyncio.to_thread(check_task_worktree, self.repo, dep.worktree)
        outcome = await asyncio.to_thread(accept, self.repo, task.branch, task.worktree, self._message(task))
        how = Acceptance("merge", outcome.into, outcome.merge_commit)
        for dep in chosen:
            await asyncio.to_thread(remove_task_worktree, self.repo, dep.worktree)
        records = [(key, how)] + [(dep.key, replace(how, via=key)) for dep in chosen]
        await self.store.set_accepted(self.session_id, records)
        return Accepted(key, mode, outcome, tuple(k for k, _ in records))

    async def _pick(self, task: TaskFacts, deps: list[TaskFacts], left_out: list[TaskFacts]) -> Accepted:
        order = [*deps, task]
        outcome = await asyncio.to_thread(
            pick, self.repo, [t.own for t in order], [t.worktree for t in order if t.worktree]
        )
        copies = {p.key: p.copies for p in outcome.picked}
        records = []
        for t in order:
            made = [c for _, c in copies.get(t.key, ()) if c]
            records.append((t.key, Acceptance("picked", outcome.into, made[-1] if made else None,
                                              None if t is task else task.key, tuple(copies.get(t.key, ())))))
        await self.store.set_accepted(self.session_id, records)
        return Accepted(task.key, "own" if not deps else "with-deps", outcome, tuple([task.key] + [d.key for d in deps]),
                        tuple(f"{t.key} ({status_word(t)})" for t in left_out))

    def _message(self, task: TaskFacts) -> str:
        run = f", run {task.run_id}" if task.run_id else ""
        return (f"Accept task {task.key}: {task.title or task.key}\n\n"
                f"Session Cockpit session {self.label}{run}, branch {task.branch}.")

    async def discard(self, key: str, reason: str = "") -> None:
        """Delete the task's worktree and branch and record it discarded (with the reason)."""
        if self.guard:
            self.guard("discard", key)
        self._claim()
        try:
            tasks = await self.tasks()
            task = self._reviewable(tasks, key)
            self._undecided(task)
            await asyncio.to_thread(discard, self.repo, task.branch, task.worktree)
            await self.store.set_decision(self.session_id, key, "discarded", reason.strip())
        finally:
            self._busy = False
