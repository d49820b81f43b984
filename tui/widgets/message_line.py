"""A pane's own input line: what the developer writes to the task's agent.

The line opens under the pane's log (``m``, or Enter in the enlarged pane, which always shows it). Its
placeholder says, before anything is typed, what Enter will do: send to the running agent, or retry
the ended task with the text as feedback. ↑ and ↓ go through the messages sent to this task before
(a short history); Escape goes back to the pane and keeps what was typed.
"""
from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

HISTORY = 20  # messages kept per task for ↑


class MessageLine(Input):
    """Posts :class:`MessageLine.Send` on Enter (the screen clears it once the message is taken)."""

    BINDINGS = [
        Binding("up", "history(-1)", "Earlier", show=False, id="message.earlier",
                tooltip="The message sent before this one (to this task)"),
        Binding("down", "history(1)", "Later", show=False, id="message.later",
                tooltip="The message sent after this one, or what was being typed"),
        Binding("escape", "leave", "Back", id="message.leave",
                tooltip="Back to the pane; what was typed stays in the line"),
    ]

    class Send(Message):
        def __init__(self, line: "MessageLine", text: str) -> None:
            super().__init__()
            self.line = line
            self.text = text

    class Left(Message):
        def __init__(self, line: "MessageLine") -> None:
            super().__init__()
            self.line = line

    def __init__(self, task_id: str) -> None:
        super().__init__(classes="message-line", select_on_focus=False)
        self.task_id = task_id
        self.history: list[str] = []
        self._at = 0  # the place in the history ↑/↓ shows; len(history): what is being typed
        self._typed = ""

    def remember(self, text: str) -> None:
        """A message that was taken: kept for ↑, and the line emptied."""
        if not self.history or self.history[-1] != text:
            self.history.append(text)
            del self.history[:-HISTORY]
        self._at = len(self.history)
        self._typed = ""
        self.value = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._at == len(self.history):
            self._typed = self.value
        self._at = max(0, min(len(self.history), self._at + step))
        self.value = self._typed if self._at == len(self.history) else self.history[self._at]
        self.cursor_position = len(self.value)

    def action_leave(self) -> None:
        self.post_message(self.Left(self))

    async def action_submit(self) -> None:
        text = self.value.strip()
        if text:
            self.post_message(self.Send(self, text))
