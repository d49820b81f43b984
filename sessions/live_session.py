"""A session the developer is running now: the engine, its record, and every human action on it.

The TUI talks to this object only. Each command goes to the engine and, when the engine took it,
is recorded as an intervention (time, task, type, text). Accepting or discarding a task's work is
recorded as the task's decision.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from engine.asks import Answer, Question
from engine.durations import format_duration
from engine.errors import CommandError
from engine.scheduler import Engine
from engine.states import TaskState
from sessions.lifecycle import OpenSession, RecordedRun, finish_session, status_for
from sessions.decisions import Accepted, Decisions, TaskFacts
from sessions.store.store import Store
from sessions.store.rows import SessionRow

INTERVENTION_TYPES = ("pause", "resume", "cancel", "retry", "message", "note", "redirect", "fix", "clarify",
                      "reset_breaker", "permission")


class LiveSession:
    def __init__(self, store: Store, session: OpenSession, engine: Engine, plan_path: str | None) -> None:
        self.store = store
        self.session = session
        self.engine = engine
        self.recorder = RecordedRun(store, session, engine, plan_path)
        self._run: asyncio.Task[dict[str, TaskState]] | None = None
        self._recording: set[asyncio.Task[None]] = set()  # answers being written as interventions
        self.decisions = Decisions(store, session.row.id, session.repo, session.row.label, fresh=self._fresh,
                                   guard=self._guard)

    def _fresh(self, facts: TaskFacts) -> TaskFacts:
        """The engine's view of a task of this run, over its stored row (written a moment later)."""
        run = self.engine.tasks.get(facts.key)
        if run is None:
            return facts
        usage = run.usage()
        result = run.last_result
        return replace(
            facts, state="pending" if run.retry_pending else run.state.value, title=run.spec.title,
            depends_on=tuple(run.spec.depends_on), agent=run.profile or run.spec.agent, attempts=run.attempts,
            tokens=usage.total, cost_usd=usage.cost_usd, run_id=self.engine.run_id,
            **({} if run.agent_session is None else dict(
                agent_session=run.agent_session[0], resume_command=run.agent_session[1])),
            **({} if result is None else dict(
                branch=result.branch, worktree=result.worktree, start_commit=result.start_commit,
                head_commit=result.head_commit, final_message=result.final_message,
            )),
        )

    def _guard(self, action: str, task_id: str) -> None:
        """CommandError unless the task of this run has ended (and waits for no automatic retry), and,
        to be discarded, no task waits to start from its work."""
        run = self.engine.tasks.get(task_id)
        if run is None:
            raise CommandError(f"no task {task_id!r} in this run")
        if run.retry_pending:
            raise CommandError(f"task {task_id!r} is waiting for an automatic retry: review it once it has ended")
        if not run.state.terminal:
            raise CommandError(f"task {task_id!r} is {run.state}: only a task that has ended can be reviewed")
        waiting = [child.id for child in run.dependents if child.state in (TaskState.PENDING, TaskState.READY)]
        if action == "discard" and waiting:
            raise CommandError(
                f"task {', '.join(repr(w) for w in waiting)} will start from the work of {task_id!r}; "
                "discard it once they have started or been cancelled"
            )

    @property
    def row(self) -> SessionRow:
        return self.session.row

    @property
    def repo(self) -> Path:
        return self.session.repo

    async def start(self) -> None:
        """Start recording, then the run; the run stays open for retries until :meth:`end`."""
        await self.recorder.start()
        self._run = asyncio.create_task(self.engine.run(stay_open=True))

    @property
    def running(self) -> bool:
        return self._run is not None and not self._run.done()

    async def _record(self, task_id: str | None, kind: str, text: str) -> None:
        await self.store.add_intervention(self.row.id, task_id, kind, text)

    async def pause(self, task_id: str | None = None) -> None:
        self.engine.pause(task_id)
        await self._record(task_id, "pause", f"paused {'task ' + task_id if task_id else 'the run'}")

    async def resume(self, task_id: str | None = None) -> None:
        self.engine.resume(task_id)
        await self._record(task_id, "resume", f"resumed {'task ' + task_id if task_id else 'the run'}")

    async def cancel(self, task_id: str | None = None) -> None:
        self.engine.cancel(task_id)
        await self._record(task_id, "cancel", f"cancelled {'task ' + task_id if task_id else 'every task'}")

    async def retry(self, task_id: str, message: str | None = None) -> None:
        """Run an ended task again; ``message`` (the developer's) goes into its next prompt.

        Once its work is discarded (worktree and branch deleted), it starts over from a fresh worktree and
        its new work waits for a decision of its own: the discard stays on record in the retry's
        intervention. Once its work is accepted it does not run again (CommandError): a second copy of the
        work would come in on top of the first."""
        run = self.engine.tasks.get(task_id)
        discarded: TaskFacts | None = None
        if run is not None and run.state.terminal and not run.retry_pending:
            facts = await self.decisions.task(task_id)
            if facts.decision == "accepted":
                raise CommandError(f"task {task_id!r} was already accepted: its work is in your branch, so it "
                                   "does not run again; what remains needs a task of its own")
            if self.decisions.busy:  # checked after the await: nothing awaits between here and the engine
                raise CommandError("a task is being accepted or discarded; try again in a moment")
            discarded = facts if facts.decision == "discarded" else None
        self.engine.retry(task_id, message, fresh=discarded is not None)
        text = f"retried task {task_id}"
        if discarded is not None:
            await self.store.clear_decision(self.row.id, task_id)
            why = f": {discarded.decision_reason}" if discarded.decision_reason else ""
            text += f" from a fresh worktree (the work of its earlier attempt was discarded{why})"
        await self._record(task_id, "retry", text + (f" with the message: {message}" if message else ""))

    async def reset_breaker(self, profile: str) -> None:
        """Close the open circuit breaker of ``profile``: the tasks held for it start (CommandError when
        it is not open). Recorded as an intervention of the run (no task)."""
        self.engine.reset_breaker(profile)
        await self._record(None, "reset_breaker", f"reset the circuit breaker of profile {profile}")

    async def send(self, task_id: str, text: str) -> None:
        """A follow-up message; to a task that has ended, it continues its agent's conversation in a new
        attempt, unless the developer decided on its work already. CommandError (with the reason) when it
        cannot go."""
        run = self.engine.tasks.get(task_id)
        if run is not None and run.state.terminal and not run.retry_pending:
            decision = (await self.decisions.task(task_id)).decision
            if decision:
                where = ("is in your branch" if decision == "accepted"
                         else "was deleted with its worktree and branch")
                raise CommandError(f"task {task_id!r} was already {decision}: its work {where}, so its "
                                   "conversation does not go on; what remains needs a task of its own")
            if self.decisions.busy:  # checked after the await: nothing awaits between here and the engine
                raise CommandError("a task is being accepted or discarded; try again in a moment")
        await self.engine.send(task_id, text)
        await self._record(task_id, "message", text)

    def answer(self, question_id: str, kind: str, scope: str = "once", reason: str = "") -> Answer:
        """The developer's answer to an agent's question (``kind``: allow_once, allow_always, reject_once,
        reject_always; ``scope`` of an always: task or session; ``reason`` goes back with a denial).

        The agent has it when this returns (the agent is blocked until then: no await before it). It is
        recorded as an intervention of type ``permission`` (the tool, the decision, its scope and how long
        the agent waited) in the background: :meth:`recorded` waits for that. CommandError when the
        question is no longer waiting."""
        question = next((q for q in self.engine.asks.waiting() if q.id == question_id), None)
        answer = self.engine.answer(question_id, kind, scope, reason)
        if question is not None:
            waited = max(0.0, time.time() - question.asked_at)
            record = asyncio.get_running_loop().create_task(
                self._record(question.task_id, "permission", permission_text(question, answer, waited)))
            self._recording.add(record)
            record.add_done_callback(self._recording.discard)
        return answer

    async def recorded(self) -> None:
        """Until every answer given so far is in the store."""
        if self._recording:
            await asyncio.gather(*list(self._recording))

    async def note(self, task_id: str | None, kind: str, text: str) -> None:
        """An intervention the developer writes down by hand."""
        if not text.strip():
            raise CommandError("a note needs some text")
        await self._record(task_id, kind.strip() or "note", text.strip())

    async def accept(self, task_id: str, mode: str = "merge", include: tuple[str, ...] = ()) -> Accepted:
        """Bring an ended task's work into the checkout's branch (``mode``: see :mod:`sessions.decisions`);
        records the decisions. CommandError (NeedsChoice; ReviewError for git's refusals) says why not,
        with nothing changed."""
        return await self.decisions.accept(task_id, mode, include)

    async def discard(self, task_id: str, reason: str = "") -> None:
        """Delete an ended task's worktree and branch; records the decision with the reason."""
        await self.decisions.discard(task_id, reason)

    async def end(self, status: str | None = None) -> SessionRow:
        """Stop what still runs, persist everything, and close the session (status from the outcome)."""
        interrupted = False
        if self.running:
            if any(not r.state.terminal for r in self.engine.tasks.values()):
                self.engine.cancel()
                interrupted = True
            self.engine.close()
            assert self._run is not None
            await self._run
        await self.recorder.wait()
        await self.recorded()
        states = {tid: run.state for tid, run in self.engine.tasks.items()}
        return await finish_session(self.store, self.session, status or status_for(states, interrupted))


_SCOPE = {"once": "once", "task": "always (this task)", "session": "always (this session)"}


def permission_text(question: Question, answer: Answer, waited: float) -> str:
    """``Bash: rm -rf build: denied once after 12.0s (use git clean)``: the intervention's text."""
    text = f"{question.describe()}: {answer.decision} {_SCOPE.get(answer.scope, answer.scope)} after {format_duration(waited)}"
    return f"{text} ({answer.reason})" if answer.reason else text
