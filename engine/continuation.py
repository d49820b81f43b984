"""A follow-up message to a task that has ended: whether its agent's conversation can go on, and why not.

The developer reads a task's work and writes to it again ("also handle the empty case"). When the task's
agent keeps a conversation beyond its attempt (Claude Code's session, resumed by id; an ACP agent's
session, reopened with ``session/resume`` or ``session/load`` when the agent offers it), the engine starts a
new attempt in the same worktree whose prompt is the message (:meth:`engine.scheduler.Engine.send`).
Otherwise, or when continuing would change work something else already took, it refuses with one line
that says why and what to do instead. (What only the sessions wing knows, an accept or a discard of the
task's work, is refused there.)
"""
from __future__ import annotations

import os

from engine.profiles import AgentProfile
from engine.states import TaskState
from engine.task_run import TaskRun

S = TaskState
FOLLOW_UP = "your follow-up message"  # the reason of the change to ready that a follow-up makes
_NEVER_RAN = (S.PENDING, S.READY, S.SKIPPED)
_RETRYABLE = (S.FAILED, S.TIMED_OUT, S.CANCELLED, S.BUDGET_EXCEEDED)


def refusal(run: TaskRun, profile: AgentProfile | None) -> str | None:
    """Why a follow-up cannot continue the conversation of ``run``, which has ended (None: it can)."""
    state = run.state
    if state in _NEVER_RAN or run.attempts == 0:
        return ("it has not run yet: a message goes to a running agent" if state is not S.SKIPPED
                else "it was skipped and never ran: it runs once what it depends on is retried")
    if not state.terminal:
        return f"it is {state}: the message goes into its running conversation"
    if run.retry_pending:
        return "it waits for an automatic retry: r starts it now, with your message"
    why = _agent_refusal(profile, run.memory or {})
    if why is not None:
        instead = ("retry it with your message instead (r)" if state in _RETRYABLE
                   else "review its work (v); what remains needs a task of its own")
        return f"{why}; {instead}"
    if run.worktree is not None and not os.path.isdir(run.worktree.path):
        return f"its worktree {run.worktree.path} is gone, and with it the work the conversation was about"
    started = [child.id for child in run.dependents
               if child.state is S.READY or child.in_flight or child.attempts or child.worktree is not None]
    if started:
        names = ", ".join(repr(c) for c in started)
        return (f"{'task' if len(started) == 1 else 'tasks'} {names} started (or {'is' if len(started) == 1 else 'are'} "
                "starting) from its work: continuing it would change work they do not have")
    return None


def _agent_refusal(profile: AgentProfile | None, memory: dict[str, object]) -> str | None:
    if profile is None:
        return "no agent profile ran it"
    kind = profile.kind
    if kind == "claude":
        from engine.agents.claude_sdk import can_resume

        if can_resume(memory):
            return None
        return "Claude Code never told it a session id (it ended before its conversation began)"
    name = f"profile {profile.name!r}"
    if kind == "shell":
        return f"its agent ({name}) runs a script once: there is no conversation to continue"
    if kind == "acp":
        from engine.agents.acp_agent import can_reopen

        if can_reopen(memory):
            return None
        return (f"its ACP agent ({name}) offers no way to reopen its session (session/resume or session/load), "
                "and that session ended with its process")
    if kind == "anthropic":
        return f"its API conversation ({name}) lived in its attempt and ended with it"
    return f"its agent ({name}) ran once as a program: there is no conversation to continue"
