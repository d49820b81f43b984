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
from engine.events import BudgetReached, EventBus, LogLines, RunStarted, TaskResult, TaskStateChanged
from engine.output_formats import Usage
from engine.scheduler import Engine, usage_tokens
from engine.states import TaskState

S = TaskState
_MARK = {
    S.RUNNING: "▶", S.PAUSED: "‖", S.SUCCEEDED: "✓", S.FAILED: "✗", S.TIMED_OUT: "⏱",
    S.CANCELLED: "■", S.SKIPPED: "↷", S.READY: "·", S.PENDING: "·", S.BUDGET_EXCEEDED: "$",
}


class ProgressPrinter:
    """Consumes the event stream and prints one line per state change (and engine notes)."""

    def __init__(self, out: TextIO, show_logs: bool = False) -> None:
        self.out = out
        self.show_logs = show_logs
        self.width = 12
        self.results: dict[str, TaskResult] = {}

    async def consume(self, bus: EventBus) -> None:
        async for event in bus.subscribe():
            self.handle(event)

    def handle(self, event: object) -> None:
        if isinstance(event, RunStarted):
            self.width = max([4] + [len(t.id) for t in event.tasks])
            self._print(f"run {event.run_id}: {len(event.tasks)} tasks in {event.repo} "
                        f"from {event.base_commit[:10]}")
            limits = [f"${event.budget_usd:.2f}" if event.budget_usd is not None else "",
                      f"{event.budget_tokens:,} tokens" if event.budget_tokens is not None else ""]
            if any(limits):
                self._print(f"session budget: {' and '.join(x for x in limits if x)}")
        elif isinstance(event, TaskStateChanged):
            if event.new in (S.READY, S.PENDING):
                return
            reason = f"  {event.reason}" if event.reason and event.reason != str(event.new) else ""
            self._print(f"{_MARK[event.new]} {event.task_id:<{self.width}} {event.new.value:<9}{reason}",
                        at=event.at)
        elif isinstance(event, BudgetReached):
            if event.scope == "session":  # a task's own budget is told by its engine line
                self._print(f"{event.describe()}: no new task starts; the waiting tasks are skipped",
                            at=event.at)
        elif isinstance(event, TaskResult):
            self.results[event.task_id] = event
        elif isinstance(event, LogLines):
            if event.stream == "engine" or (self.show_logs and event.stream != "engine"):
                for line in event.lines:
                    self._print(f"  {event.task_id:<{self.width}} {line}", at=event.at)

    def _print(self, text: str, at: float | None = None) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(at or time.time()))
        print(f"{stamp}  {text}", file=self.out, flush=True)


def cost_text(usage: Usage) -> str:
    """``$0.0123``; ``-`` when the cost is unknown or nothing was spent."""
    return "-" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"


def tokens_text(usage: Usage) -> str:
    """Every token (input, output, cache write and read) as ``12,345``; ``-`` when none."""
    tokens = usage_tokens(usage)
    return f"{tokens:,}" if tokens else "-"


def final_table(engine: Engine, results: dict[str, TaskResult]) -> str:
    rows = [("task", "state", "time", "attempts", "added", "removed", "tokens", "cost")]
    for tid, run in engine.tasks.items():
        result = results.get(tid)
        usage = run.usage()
        rows.append((
            tid, run.state.value, format_duration(run.elapsed()) if run.attempts else "-",
            str(run.attempts), str(result.added) if result else "-", str(result.removed) if result else "-",
            tokens_text(usage), cost_text(usage),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    usages = [run.usage() for run in engine.tasks.values()]
    if any(usage_tokens(u) or u.cost_usd is not None for u in usages):
        known = sum(1 for u in usages if u.cost_usd is not None)
        unknown = sum(1 for u in usages if u.cost_usd is None and usage_tokens(u))
        cost = f"${engine.spent_usd:.4f}" if known else "cost unknown"
        if known and unknown:
            cost += f" (cost unknown for {unknown} task{'s' if unknown != 1 else ''})"
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
            print("\ninterrupted: cancelling every task (Ctrl+C again does the same, it is under way)",
                  file=out, flush=True)
            engine.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_interrupt)
    try:
        states = await engine.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    await consumer
    print("", file=out)
    print(final_table(engine, printer.results), file=out)
    kept = [r.worktree for r in printer.results.values() if r.worktree]
    if kept:
        print(f"\nthe tasks' work is on branches cockpit/{engine.run_id}/<task>; "
              f"worktrees under {kept[0].rsplit('/', 1)[0]}", file=out)
    ok = all(state is S.SUCCEEDED for state in states.values())
    return 0 if ok and not interrupted else 1
