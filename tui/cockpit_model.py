"""The cockpit's bookkeeping, without Textual: what it knows of each task and what it still has to say.

The cockpit screen hands every engine event to a :class:`CockpitModel` and draws from it on its own
clock: the model keeps each task's state and attempts as the events told them, the newest prompt,
route and check of each task, which tasks changed since the last draw, and the notices not said
yet (several tasks that got to the same state between two draws make one notice). It decides the
words of the run's status line, when the end of the session is offered, and what the task info
screen and the end dialog say. Being plain, it is driven by tests as it is, without a screen.
"""
from __future__ import annotations

import shlex
from typing import Callable, Collection, Mapping

from engine.continuation import FOLLOW_UP
from engine.events import BudgetReached, CheckFinished, PromptSent, TaskRouted, TaskStateChanged
from engine.states import TaskState
from engine.task_run import TaskRun
from engine.formatting import plural, resume_text, state_word

S = TaskState

# States that deserve the developer's attention: a notification and the terminal bell.
# (severity, text for one task, text for several tasks that got there within one draw)
NOTICE = {
    S.SUCCEEDED: ("information", "{task} succeeded", "{tasks} succeeded"),
    S.FAILED: ("error", "{task} failed ({reason})", "{tasks} failed"),
    S.TIMED_OUT: ("error", "{task} timed out ({reason})", "{tasks} timed out"),
    S.PAUSED: ("warning", "{task} is paused: waiting for you (p resumes it)",
               "{tasks} are paused: waiting for you"),
    S.BUDGET_EXCEEDED: ("error", "{task} was stopped: {reason}", "{tasks} were stopped at their budget"),
}


def command_line(argv: tuple[str, ...]) -> str:
    """A check's argv as the user wrote it (``bash -c LINE`` shows as LINE)."""
    if len(argv) == 3 and argv[:2] == ("bash", "-c"):
        return argv[2]
    return shlex.join(argv)


class CockpitModel:
    """What the cockpit knows of the run, fed by the engine's events (``on_*``) and read to draw.

    ``tasks`` is the engine's live view of the tasks (``Engine.tasks``): the model reads from it only
    what no event carries (whether an automatic retry is on its way, the work of the last attempt).
    ``continue_refusal`` is the engine's :meth:`~engine.scheduler.Engine.continue_refusal`: why a message
    cannot continue the conversation of a task that has ended (None: it can).
    """

    def __init__(self, run_id: str, tasks: Mapping[str, TaskRun],
                 continue_refusal: Callable[[str], str | None] | None = None) -> None:
        self.run_id = run_id
        self.tasks = tasks
        self.continue_refusal = continue_refusal or (lambda task_id: "the run cannot continue a conversation")
        self.decisions: dict[str, str] = {}  # the developer's decision on each task's work, once made
        self.states: dict[str, TaskState] = {task_id: S.PENDING for task_id in tasks}
        self.attempts: dict[str, int] = {task_id: 0 for task_id in tasks}
        self.prompts: dict[str, PromptSent] = {}  # the newest effective prompt of each task, when changed
        self.routes: dict[str, TaskRouted] = {}  # the profile the engine chose, for routed tasks
        self.checks: dict[str, CheckFinished] = {}  # the newest check result of each task
        self.budget_reached = ""  # the session's budget, once reached
        self.run_finished = False
        self.bus_closed = False
        self.ending = False  # the session is being ended: nothing more is offered
        self.status_changed = False  # the run's status line needs drawing again
        self.restyle: set[str] = set()  # tasks whose state changed since the last draw
        self._notices: dict[TaskState, list[tuple[str, str]]] = {}  # state -> [(task, reason)]
        self._end_offered = False
        self._ended_why: dict[str, str] = {}  # how each task's last attempt ended, for the next one's rule
        self._follow_ups: set[str] = set()  # tasks made ready again by the developer's follow-up

    # --------------------------------------------------------------- events
    def on_state(self, event: TaskStateChanged) -> str:
        """Take a change of state; the rule to draw in the task's log before a new attempt's lines
        (its number and why it runs), else ""."""
        task_id = event.task_id
        if task_id not in self.states:
            return ""
        self.states[task_id] = event.new
        self.attempts[task_id] = max(self.attempts[task_id], event.attempt)
        self.restyle.add(task_id)
        if event.new in NOTICE:
            self._notices.setdefault(event.new, []).append((task_id, event.reason or state_word(event.new)))
        if event.new.terminal:
            self._ended_why[task_id] = event.reason or state_word(event.new)
        elif event.new is S.READY:
            if event.reason == FOLLOW_UP:
                self._follow_ups.add(task_id)
            else:
                self._follow_ups.discard(task_id)
        elif event.new is S.RUNNING and event.old is not S.PAUSED and event.attempt > 1:
            ended = self._ended_why.get(task_id, "")
            why = ("automatic retry" if event.old is not S.READY
                   else "your follow-up" if task_id in self._follow_ups else "retried by you")
            return f"──── attempt {event.attempt} · {why}" + (f" after: {ended}" if ended else "") + " ────"
        return ""

    def take_state(self, task_id: str, state: TaskState, attempts: int) -> None:
        """A state known otherwise than by an event (the engine's, for a run that started earlier)."""
        self.states[task_id] = state
        self.attempts[task_id] = max(self.attempts[task_id], attempts)

    def on_prompt(self, event: PromptSent) -> None:
        self.prompts[event.task_id] = event

    def on_routed(self, event: TaskRouted) -> None:
        self.routes[event.task_id] = event

    def on_check(self, event: CheckFinished) -> None:
        self.checks[event.task_id] = event

    def on_budget(self, event: BudgetReached) -> bool:
        """Whether it is the session's budget (which the status line then shows)."""
        if event.scope != "session":
            return False
        self.budget_reached = event.describe()
        self.status_changed = True
        return True

    def on_run_finished(self) -> None:
        self.run_finished = True
        self.status_changed = True

    # ------------------------------------------------------------- reading
    def take_notices(self) -> list[tuple[str, str]]:
        """The notices not said yet, one (severity, text) per kind of news, and forget them."""
        said = []
        for state, items in self._notices.items():
            severity, one, several = NOTICE[state]
            if len(items) == 1:
                said.append((severity, one.format(task=items[0][0], reason=items[0][1])))
            else:
                said.append((severity, several.format(tasks=", ".join(task for task, _ in items))))
        self._notices.clear()
        return said

    @property
    def has_notices(self) -> bool:
        return bool(self._notices)

    def settled_count(self) -> int:
        """Tasks that have ended and wait for no automatic retry."""
        tasks = self.tasks
        return sum(1 for tid, s in self.states.items() if s.terminal and not tasks[tid].retry_pending)

    def run_status(self, run_paused: bool, waiting_for_you: int = 0) -> str:
        """The run's status line: what runs, waits and has settled, the agents waiting for the developer's
        answer, and the run's own state."""
        counts: dict[TaskState, int] = {}
        for state in self.states.values():
            counts[state] = counts.get(state, 0) + 1
        parts = [f"run {self.run_id}"]
        if waiting_for_you:  # first: it is what the developer must act on, and it stays on a narrow screen
            parts.append(f"{waiting_for_you} agent{'s' if waiting_for_you != 1 else ''} WAITING FOR YOU (w)")
        for state in (S.RUNNING, S.PAUSED, S.READY):
            if counts.get(state):
                parts.append(f"{counts[state]} {state_word(state)}")
        parts.append(f"{self.settled_count()}/{len(self.states)} settled")
        if self.budget_reached:
            parts.append(self.budget_reached.upper())
        if self.run_finished:
            parts.append("run ended")
        elif run_paused:
            parts.append("RUN PAUSED")
        return " · ".join(parts)

    def should_offer_end(self) -> bool:
        """True once when every task has settled, unless ending: a retry after it does not ask again
        (the key that ends is in the footer)."""
        done = bool(self.states) and self.settled_count() == len(self.states)
        if not done or self._end_offered or self.ending:
            return False
        self._end_offered = True
        return True

    def unfinished(self) -> int:
        return sum(1 for run in self.tasks.values() if not run.state.terminal)

    def unreviewed(self, decided: Collection[str]) -> list[str]:
        """The ended tasks whose work (files changed on their branch) is not among ``decided``."""
        return [task_id for task_id, run in self.tasks.items()
                if run.state.terminal and run.last_result is not None and run.last_result.files
                and task_id not in decided]

    def end_detail(self, decided: Collection[str]) -> str:
        """What the dialog that ends the session says will happen."""
        left = self.unfinished()
        detail = f"{plural(left, 'task')} still running will be cancelled." if left else "Every task has ended."
        unreviewed = self.unreviewed(decided)
        if unreviewed:
            detail += (f" Not reviewed yet: {', '.join(unreviewed)} (v reviews a task now; later, "
                       "cockpit review does).")
        return detail

    def message_mode(self, task_id: str) -> tuple[str, str]:
        """What a message typed to the task's agent would do, said before it is typed: ("send", hint)
        when its agent takes one now, ("continue", hint) when the task ended and its agent's conversation
        can go on with it, ("retry", hint) when the task ended and a retry can carry it, else ("none", why
        not)."""
        run = self.tasks[task_id]
        state = run.state
        if state in (S.RUNNING, S.PAUSED):
            agent = run.agent
            if agent is not None and not getattr(agent, "accepts_messages", True):
                profile = run.profile or run.spec.agent
                if getattr(getattr(agent, "profile", None), "output", "") == "claude-stream-json":
                    return "none", (f"the agent of {task_id} (profile {profile}) is claude -p, which takes no "
                                    "message once started: the claude profile takes them")
                return "none", (f"the agent of {task_id} (profile {profile}) takes no message while it runs "
                                "(follow_up = \"stdin\" in its profile lets it)")
            # each hint says the key's action first: a pane's input line is narrow and cuts the rest
            return "send", f"Enter sends to the agent of {task_id}, ↑ earlier messages, Escape leaves"
        decision = self.decisions.get(task_id)
        why = None if run.retry_pending or not state.terminal else self.continue_refusal(task_id)
        if state.terminal and not run.retry_pending and why is None and not decision:
            return "continue", (f"Enter continues the conversation of {task_id} ({state_word(state)}) with your "
                                "message, a new attempt in its worktree; Escape leaves")
        if run.retry_pending or state in (S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED):
            if decision == "accepted" and not run.retry_pending:
                return "none", f"{task_id} was accepted: its work is in your branch, so it does not run again"
            fresh = " from a fresh worktree" if decision == "discarded" else ""  # its work was deleted
            return "retry", (f"Enter retries {task_id} ({state_word(state)}){fresh} with your message as "
                             "feedback, Escape leaves")
        if state is S.SUCCEEDED:
            if decision:
                return "none", f"{task_id} was {decision}: its conversation does not go on"
            return "none", f"{task_id} succeeded and its conversation cannot go on: {why}"
        if state is S.SKIPPED:
            return "none", f"{task_id} was skipped: it runs again once what it depends on is retried"
        return "none", f"{task_id} has not started yet: a message goes to a running agent"

    def task_facts(self, task_id: str) -> tuple[list[tuple[str, str]], str]:
        """The task info screen's facts (label, value; empty ones left out) and the prompt it shows."""
        run = self.tasks[task_id]
        sent = self.prompts.get(task_id)
        routed = self.routes.get(task_id)
        check = self.checks.get(task_id)
        facts = [
            ("Title", run.spec.title),
            ("Agent", routed.profile if routed else run.spec.agent),
            ("Routing", f"{routed.strategy}: {routed.reason}" if routed else ""),
            ("Role", run.spec.role or ""),
            ("Check", command_line(run.spec.check)),
            ("Last check", check.result.describe() if check else ""),
            ("Depends on", ", ".join(run.spec.depends_on)),
            ("Worktree", run.worktree.path if run.worktree else ""),
            ("Branch", run.worktree.branch if run.worktree else ""),
            ("Continue by hand", resume_text(run.agent_session[1], run.worktree.path if run.worktree else "")
             if run.agent_session else ""),
            ("Prompt", f"as sent to attempt {sent.attempt}" if sent else "as written in the plan"),
        ]
        return [f for f in facts if f[1]], sent.prompt if sent else run.spec.prompt
