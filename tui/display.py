"""How the cockpit writes values on screen: states, durations, tokens and cost, times of day."""
from __future__ import annotations

import time

from engine.states import TaskState

S = TaskState

STATE_MARK = {
    S.PENDING: "·", S.READY: "·", S.RUNNING: "▶", S.PAUSED: "‖", S.SUCCEEDED: "✓", S.FAILED: "✗",
    S.TIMED_OUT: "⏱", S.CANCELLED: "■", S.SKIPPED: "↷", S.BUDGET_EXCEEDED: "$",
}
_WORD = {S.TIMED_OUT: "timed out", S.BUDGET_EXCEEDED: "over budget"}
STATE_WIDTH = 11  # the longest state word ("over budget")

# The prefix a pane puts before a line of each stream (a Log has no per-line style).
STREAM_PREFIX = {"engine": "│ ", "stderr": "! "}


def state_word(state: TaskState) -> str:
    return _WORD.get(state) or state.value.replace("_", " ")


def state_cell(state: TaskState) -> str:
    return f"{STATE_MARK.get(state, '·')} {state_word(state)}"


def elapsed_text(seconds: float, attempts: int) -> str:
    """``-`` before the first attempt, then ``12s``, ``3m05s``, ``1h02m``."""
    if attempts == 0 and seconds <= 0:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def count_text(n: int) -> str:
    """``950``, ``12.3k``, ``4.1M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def usage_text(tokens: int, cost_usd: float | None) -> str:
    """Tokens and cost when known; ``cost unknown`` when there are tokens but no price."""
    if tokens == 0 and cost_usd is None:
        return ""
    parts = [f"{count_text(tokens)} tok"] if tokens else []
    parts.append("cost unknown" if cost_usd is None else f"${cost_usd:.2f}")
    return " · ".join(parts)


def clock_time(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def attempts_text(attempts: int) -> str:
    return "no attempt yet" if attempts == 0 else f"attempt {attempts}"
