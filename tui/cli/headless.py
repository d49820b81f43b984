"""The headless runner: progress lines as tasks change state, and a final table.

Imports nothing from Textual, so ``cockpit run --headless`` starts fast.
"""
from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import TextIO

from engine.durations import format_duration
from engine.event_dispatch import handler_table
from engine.formatting import STATE_MARK, cost_text, plural, tokens_text, usd
from engine.events import (
    BreakerChanged, BudgetReached, CheckFinished, EventBus, LogLines, QuestionAnswered, RunStarted, TaskResult,
    TaskRouted, TaskStateChanged,
)
from engine.checks import CheckResult
from engine.scheduler import Engine
from engine.states import TaskState

S = TaskState
# Ctrl+C, a kill, and the terminal closing (SIGHUP) all cancel every task and end the run as recorded.
_ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ProgressPrinter:
    """Consumes the event stream and prints one line per state change (and engine notes).

    Also one line per routing choice (``→ task  agent codex (round-robin): ...``), per check
    (``✓ task  check passed (3 passed)``) and per circuit-breaker change (``⚡ circuit breaker ...``).
    The engine's own lines that say the same for the task's pane are not repeated."""

    def __init__(self, out: TextIO, show_logs: bool = False) -> None:
        self.out = out
        self.show_logs = show_logs
        self.gone = False  # the terminal closed: print nothing more
        self.width = 12
        self.results: dict[str, TaskResult] = {}
        self.checks: dict[str, CheckResult] = {}  # each task's last check
        self._said: set[tuple[str, str]] = set()  # (task, engine line) told by an event's own line

    async def consume(self, bus: EventBus) -> None:
        handlers = handler_table(self)
        async for event in bus.subscribe():
            handlers[type(event)](event)

    def on_run_started(self, event: RunStarted) -> None:
        self.width = max([4] + [len(t.id) for t in event.tasks])
        self._print(f"run {event.run_id}: {len(event.tasks)} tasks in {event.repo} "
                    f"from {event.base_commit[:10]}")
        limits = [usd(event.budget_usd, 2) if event.budget_usd is not None else "",
                  f"{event.budget_tokens:,} tokens" if event.budget_tokens is not None else ""]
        if any(limits):
            self._print(f"session budget: {' and '.join(x for x in limits if x)}")

    def on_state(self, event: TaskStateChanged) -> None:
        if event.new in (S.READY, S.PENDING):
            return
        reason = f"  {event.reason}" if event.reason and event.reason != str(event.new) else ""
        self._print(f"{STATE_MARK[event.new]} {event.task_id:<{self.width}} {event.new.value:<9}{reason}",
                    at=event.at)

    def on_budget(self, event: BudgetReached) -> None:
        if event.scope == "session":  # a task's own budget is told by its engine line
            self._print(f"{event.describe()}: no new task starts; the waiting tasks are skipped", at=event.at)

    def on_result(self, event: TaskResult) -> None:
        self.results[event.task_id] = event

    def on_routed(self, event: TaskRouted) -> None:
        self._print(f"→ {event.task_id:<{self.width}} agent {event.profile} ({event.strategy}): {event.reason}",
                    at=event.at)
        self._said.add((event.task_id, f"agent {event.profile} chosen ({event.strategy}): {event.reason}"))

    def on_check(self, event: CheckFinished) -> None:
        result = self.checks[event.task_id] = event.result
        mark = "✓" if result.ok else "✗"
        self._print(f"{mark} {event.task_id:<{self.width}} check     {result.describe()}", at=event.at)
        self._said.add((event.task_id, f"check {result.describe()}"))

    def on_breaker(self, event: BreakerChanged) -> None:
        self._print(f"⚡ {event.describe()}", at=event.at)

    def on_answered(self, event: QuestionAnswered) -> None:
        if not event.answer.allow:  # what an agent was refused, and why (its policy answered for you)
            self._print(f"✗ {event.task_id:<{self.width}} denied    {event.question.describe()}: "
                        f"{event.answer.reason}", at=event.at)

    def on_lines(self, event: LogLines) -> None:
        if event.stream == "engine" or (self.show_logs and event.stream != "engine"):
            for line in event.lines:
                if event.stream == "engine" and (event.task_id, line) in self._said:
                    self._said.discard((event.task_id, line))
                    continue
                self._print(f"  {event.task_id:<{self.width}} {line}", at=event.at)

    def _print(self, text: str, at: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(at or time.time()))
        self.say(f"{stamp}  {text}")

    def say(self, text: str) -> None:
        """Print a line; once the terminal is gone (it closed: SIGHUP), nothing more is printed and the
        run goes on to its end, recorded."""
        if self.gone:
            return
        try:
            print(text, file=self.out, flush=True)
        except OSError:
            self.gone = True


def check_text(check: CheckResult | None) -> str:
    """``✓ 3 passed``, ``✗ 1 failed, 2 passed``, ``✗ timed out``; ``-`` when no check ran."""
    if check is None:
        return "-"
    if check.counts is not None:
        return f"{'✓' if check.ok else '✗'} {check.counts.describe()}"
    return "✓ passed" if check.ok else ("✗ timed out" if check.timed_out else "✗ failed")


def final_table(engine: Engine, results: dict[str, TaskResult], checks: dict[str, CheckResult] | None = None) -> str:
    """One row per task. An ``agent`` column (the profile that ran it) when the engine chose some
    profiles, a ``check`` column (its last check's counts) when some task has a check, a ``denied``
    column (its agent's requests refused) when some were."""
    routed = any(run.spec.agents for run in engine.tasks.values())
    checked = any(run.spec.check for run in engine.tasks.values())
    denied = engine.asks.denied  # requests of the agents that were refused, by task
    rows = [("task", "state") + (("agent",) if routed else ()) + (("check",) if checked else ())
            + ("time", "attempts", "added", "removed") + (("denied",) if denied else ()) + ("tokens", "cost")]
    left = 2 + routed + checked  # the columns aligned left
    for tid, run in engine.tasks.items():
        result = results.get(tid)
        usage = run.usage()
        rows.append((
            (tid, run.state.value) + ((run.profile or "-",) if routed else ())
            + ((check_text((checks or {}).get(tid)),) if checked else ())
            + (format_duration(run.elapsed()) if run.attempts else "-",
               str(run.attempts), str(result.added) if result else "-", str(result.removed) if result else "-")
            + ((str(denied.get(tid, 0)),) if denied else ())
            + (tokens_text(usage.total, usage.tokens_known, usage.approximate), cost_text(usage.cost_usd, "-"))
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    usages = [run.usage() for run in engine.tasks.values()]
    if any(u.total or u.cost_usd is not None for u in usages):
        known = sum(1 for u in usages if u.cost_usd is not None)
        unknown = sum(1 for u in usages if u.cost_usd is None and u.total)
        cost = usd(engine.spent_usd) if known else "cost unknown"
        if known and unknown:
            cost += f" (cost unknown for {plural(unknown, 'task')})"
        lines.append(f"total: {engine.spent_tokens:,} tokens, {cost}")
    return "\n".join(lines)


async def run_headless(engine: Engine, out: TextIO | None = None, show_logs: bool = False) -> int:
    """Run the engine to the end, printing progress; 0 when every task succeeded, else 1."""
    out = out or sys.stdout
    printer = ProgressPrinter(out, show_logs)
    consumer = asyncio.create_task(printer.consume(engine.bus))
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_interrupt() -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            engine.cancel()
            printer.say("\ninterrupted: cancelling every task (Ctrl+C again does the same, it is under way)")

    for sig in _ENDING:
        loop.add_signal_handler(sig, on_interrupt)
    try:
        states = await engine.run()
    finally:
        for sig in _ENDING:
            loop.remove_signal_handler(sig)
    await consumer
    printer.say("")
    printer.say(final_table(engine, printer.results, printer.checks))
    kept = [r.worktree for r in printer.results.values() if r.worktree]
    if kept:
        printer.say(f"\nthe tasks' work is on branches cockpit/{engine.run_id}/<task>; "
                    f"worktrees under {kept[0].rsplit('/', 1)[0]}")
    ok = all(state is S.SUCCEEDED for state in states.values())
    return 0 if ok and not interrupted else 1
