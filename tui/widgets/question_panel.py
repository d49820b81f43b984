"""What an agent asks, shown at the foot of its pane until it is answered.

The text comes from the agent (a command, a path, the change it wants to make): it is untrusted, so it
is shown as plain text (no markup), with control characters replaced and the preview cut to a few
lines. The keys that answer are the cockpit's (:mod:`tui.bindings`); the panel names them, and only
those the agent's options allow.
"""
from __future__ import annotations

import re
import time
from typing import Callable

from rich.text import Text
from textual.widgets import Static

from engine.asks import Question

PREVIEW_LINES = 6
LINE_WIDTH = 400  # characters of one preview line kept (the pane wraps or cuts the rest)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """``text`` with tabs as spaces and every other control character (escape sequences too) replaced."""
    return _CONTROL.sub("\ufffd", text.replace("\t", "    "))


def waited_text(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole}s" if whole < 60 else f"{whole // 60}m{whole % 60:02d}s"


def answer_keys(question: Question) -> str:
    """The keys that answer ``question``, as the agent's options allow."""
    keys = []
    if question.offers("allow_once") or question.offers("allow_always"):
        keys.append("y allow once")
    if question.offers("allow_always") or question.offers("allow_once"):
        keys += ["a always (task)", "s always (session)"]
    keys.append("d deny…")
    return " · ".join(keys)


class QuestionPanel(Static):
    """One question of the pane's task (the oldest, when it asks several: ``more`` says how many).

    Every pane holds one from the start, hidden (made without a question) until its agent asks: a
    question is then shown at once, in the same loop turn as it arrives, with nothing to mount first.
    """

    def __init__(self, question: Question | None = None, more: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(classes="question-panel")
        self.question = question
        self.more = more
        self.clock = clock  # wall time, for how long the agent has waited
        self.display = question is not None

    def on_mount(self) -> None:
        self.refresh_text()

    def show(self, question: Question, more: int) -> None:
        self.question, self.more = question, more
        self.refresh_text()
        self.display = True

    def refresh_text(self) -> None:
        """Draw the panel (again: the time waited changes every second)."""
        if self.question is not None:
            self.update(self.render_question(self.clock()))

    def render_question(self, now: float) -> Text:
        q = self.question
        assert q is not None
        r = q.request
        text = Text()
        text.append("? waiting for you", style="bold reverse")
        text.append(f" {waited_text(now - q.asked_at)}", style="bold")
        if self.more:
            text.append(f"  (+{self.more} more)", style="dim")
        text.append("\n")
        what = r.command if r.command is not None else ", ".join(r.paths) or r.title
        text.append(plain(f"{r.tool}: {' '.join((what or '').split())}"[:LINE_WIDTH]), style="bold")
        if q.outside:
            text.append("  outside the worktree", style="bold red")
        text.append("\n")
        if r.reason:
            text.append(plain(r.reason)[:LINE_WIDTH] + "\n", style="italic")
        if r.preview and r.preview != r.command:
            lines = r.preview.splitlines() or [""]
            for line in lines[:PREVIEW_LINES]:
                text.append("  " + plain(line)[:LINE_WIDTH] + "\n", style="dim")
            if len(lines) > PREVIEW_LINES:
                text.append(f"  … {len(lines) - PREVIEW_LINES} more lines\n", style="dim")
        text.append(answer_keys(q), style="bold")
        return text
