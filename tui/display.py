"""How the cockpit writes times on screen: how long a task ran, times of day, attempts; and how a pane
marks a stream. Counts, states, tokens and cost are written by :mod:`engine.formatting`."""
from __future__ import annotations

import time

# The prefix a pane puts before a line of each stream (a Log has no per-line style).
STREAM_PREFIX = {"engine": "│ ", "stderr": "! "}


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


def clock_time(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def attempts_text(attempts: int) -> str:
    return "no attempt yet" if attempts == 0 else f"attempt {attempts}"
