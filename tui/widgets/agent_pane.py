"""One task's live pane: two header lines (state, elapsed time, attempts; agent, tokens and cost),
its log (a tool call's line rewritten in place as its status changes), the agent's plan, when it
has one, as a checklist under the log, and its own input line for messages to the agent
(:mod:`tui.widgets.message_line`).

Lines are not written as they come: :meth:`AgentPane.add_lines` only appends them to a bounded
buffer (the last ``max_lines``), and the cockpit calls :meth:`AgentPane.flush` every ~80 ms for the
panes that are visible, so each visible pane costs ONE ``Log.write_lines`` call per flush however
many lines arrived, and a hidden pane costs nothing but its buffer.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.markup import escape
from textual.reactive import Reactive
from textual.widgets import Label, Log, Static

from engine.states import TaskState
from engine.terminal_text import plain_lines
from engine.formatting import state_word
from tui.display import STREAM_PREFIX, attempts_text
from tui.line_wrap import wrap_lines
from tui.widgets.message_line import MessageLine
from tui.widgets.question_panel import QuestionPanel

DEFAULT_MAX_LINES = 1000

S = TaskState
# The CSS class of each state: states that look alike share one, so most changes restyle nothing.
STATE_CLASS = {
    S.PENDING: "-waiting", S.READY: "-waiting", S.RUNNING: "-running", S.PAUSED: "-paused",
    S.SUCCEEDED: "-succeeded", S.FAILED: "-failed", S.TIMED_OUT: "-failed", S.BUDGET_EXCEEDED: "-failed",
    S.CANCELLED: "-stopped", S.SKIPPED: "-stopped",
}


class PaneLog(Log, can_focus=False):
    """The pane's log: not focusable itself (the pane is), scrolled with the mouse.

    A pane never scrolls sideways: long lines wrap to its width (:mod:`tui.line_wrap`), and when the
    width changes (the pane enlarged or restored, the terminal resized) the lines it holds are wrapped
    again from the lines as written, which it keeps (the last ``max_lines``). So it does not measure
    its lines' width: ``Log`` would start a thread for that on every write, and each new widest line
    would change its virtual size, which costs a relayout of the whole screen.
    """

    def __init__(self, max_lines: int, classes: str = "") -> None:
        super().__init__(max_lines=max_lines, classes=classes)
        self.written: deque[str] = deque(maxlen=max_lines)  # the lines as written, newest last
        self._wrapped_at = 0  # the width the rows on show were wrapped at
        self._total = 0  # lines ever written
        self._key_at: dict[str, int] = {}  # a keyed line's absolute index (see add_lines)

    def add_lines(self, lines: list[str], keys: list[str] | None = None) -> None:
        """Write ``lines``, wrapped to the log's width (the lines on show too, if the width changed since
        they were wrapped and its resize has not been handled yet).

        ``keys`` (one per line, "" for none): a line whose key was written before and is still kept
        replaces that line where it stands (a tool call's status changed) instead of being added."""
        added = lines
        replaced = False
        if keys is not None and any(keys):
            added = []
            for line, key in zip(lines, keys):
                base = self._total - len(self.written)  # the absolute index of written[0]
                at = self._key_at.get(key, -1) if key else -1
                if at >= base:
                    self.written[at - base] = line
                    replaced = True
                    continue
                self.written.append(line)
                added.append(line)
                if key:
                    self._key_at[key] = self._total
                self._total += 1
            if len(self._key_at) > 4 * self.written.maxlen:  # type: ignore[operator]
                base = self._total - len(self.written)
                self._key_at = {k: i for k, i in self._key_at.items() if i >= base}
        else:
            self.written.extend(lines)
            self._total += len(lines)
        width = self.scrollable_content_region.width
        if replaced or (width != self._wrapped_at and len(self.written) > len(added)):
            self._rewrap(width)
        else:
            self._wrapped_at = width
            full = len(self.lines) >= self.max_lines  # type: ignore[operator]
            self.write_lines(wrap_lines(added, width))
            if full:
                # Rows left the top and every row on show moved up, but Log refreshes only the rows it
                # appended (below the view, the size and the scroll position unchanged): the pane
                # would show the same rows for ever. Paint all of it (~10 ms for a full pane).
                self.refresh()

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._wrapped_at and self.written:
            self._rewrap(width)

    def _rewrap(self, width: int) -> None:
        """Show every line kept, wrapped to ``width``."""
        self._wrapped_at = width
        self.clear()
        self.write_lines(wrap_lines(self.written, width))

    # The virtual size grows with every write until the log is full. The log fills its pane whatever
    # its content, so a change needs no relayout of the screen (Widget's reactive asks for one):
    # only the scrollbar is updated, and the lines repainted.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)

    def _update_size(self, updates: int, lines: list[str]) -> None:  # Log's width measuring: not needed
        return

    def on_mount(self) -> None:
        # Follow the tail, also when the pane changes size (enlarged, restored, terminal resized),
        # until the user scrolls up; scrolling back to the bottom follows again.
        self.anchor()


class AgentPane(Vertical, can_focus=True):
    """The live view of one task. Focus it (Tab, arrows, click) to act on its task."""

    ALLOW_MAXIMIZE = True

    def __init__(self, task_id: str, title: str, agent: str, max_lines: int = DEFAULT_MAX_LINES) -> None:
        super().__init__(classes=STATE_CLASS[TaskState.PENDING])
        self.task_id = task_id
        self.title = title
        self.agent = agent
        self.max_lines = max_lines
        self.state = TaskState.PENDING
        self.attempts = 0
        self.lines_taken = 0  # every line ever given to the pane (shown or not)
        self._pending: deque[str] = deque(maxlen=max_lines)  # the newest lines not drawn yet
        self._pending_keys: deque[str] | None = None  # their keys, once a keyed line came (see add_lines)
        self.plan: tuple[str, ...] = ()  # the agent's plan, a checklist (shown under the log)
        self._shown: dict[str, str] = {}
        self._result = ""  # exit code and size of the work, once an attempt ended
        self._decision = ""  # accepted / discarded, once reviewed
        self._title_text = escape(f"{task_id} · {title}" if title and title != task_id else task_id)
        self.border_title = self._title_text

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-header"):
            yield Label(state_word(self.state), classes="pane-state")
            yield Label("-", classes="pane-elapsed")
            yield Label(attempts_text(0), classes="pane-attempts")
        with Horizontal(classes="pane-header"):
            yield Label(escape(self.agent), classes="pane-agent")
            yield Label("", classes="pane-usage")
        yield PaneLog(max_lines=self.max_lines, classes="pane-log")
        yield Static("", classes="pane-plan", markup=False)
        yield MessageLine(self.task_id)
        yield QuestionPanel()  # hidden until the agent asks

    @property
    def log_widget(self) -> PaneLog:
        return self.query_one(PaneLog)

    @property
    def message_line(self) -> MessageLine:
        return self.query_one(MessageLine)

    @property
    def question_panel(self) -> QuestionPanel:
        return self.query_one(QuestionPanel)

    def open_line(self, hint: str) -> None:
        """Show the input line with ``hint`` (what Enter will do) and give it the focus."""
        line = self.message_line
        line.placeholder = hint
        self.add_class("-talking")
        line.focus()

    def close_line(self) -> None:
        """Back to the pane; the line stays on show while it holds text (nothing typed is lost)."""
        if not self.message_line.value:
            self.remove_class("-talking")
        self.focus()

    # ------------------------------------------------------------------ lines
    def add_lines(self, stream: str, lines: Iterable[str], key: str = "") -> None:
        """Buffer lines (the newest ``max_lines`` are kept); nothing is drawn until :meth:`flush`.

        A ``key`` (see :class:`engine.events.LogLines`) makes the line replace the one of the same key
        where it stands; the ``plan`` stream is the agent's checklist, shown under the log."""
        # no colour either: Log would write its escapes to the terminal raw
        lines = plain_lines(lines if isinstance(lines, (list, tuple)) else list(lines))
        if stream == "plan":
            self.set_plan(tuple(lines))
            return
        prefix = STREAM_PREFIX.get(stream)
        if prefix is not None:
            lines = [prefix + line for line in lines]
        if key and self._pending_keys is None:
            self._pending_keys = deque([""] * len(self._pending), maxlen=self.max_lines)
        self._pending.extend(lines)
        if self._pending_keys is not None:
            self._pending_keys.extend([key] * len(lines))  # type: ignore[arg-type]
        self.lines_taken += len(lines)  # type: ignore[arg-type]

    def set_plan(self, lines: tuple[str, ...]) -> None:
        if lines == self.plan:
            return
        self.plan = lines
        panel = self.query_one(".pane-plan", Static)
        panel.update(Text("\n".join(lines)))  # an agent's text: never read as markup
        panel.set_class(bool(lines), "-shown")

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> int:
        """Write the buffered lines with one ``write_lines`` call; how many were written.

        When more lines arrived than the pane holds, the buffer holds the last ``max_lines`` of
        them, and writing those pushes every older line out of the log: what the pane shows is
        always a contiguous tail of the task's output (the whole log is in the database). The log
        is never cleared, since ``Log.clear`` resets its width and costs two relayouts.
        """
        if not self._pending:
            return 0
        lines = list(self._pending)
        self._pending.clear()
        keys = None
        if self._pending_keys is not None:
            keys = list(self._pending_keys)
            self._pending_keys.clear()
        self.log_widget.add_lines(lines, keys)
        return len(lines)

    # ----------------------------------------------------------------- header
    def _set(self, cls: str, text: str) -> None:
        """Update a header label; they have fixed widths (.tcss), so no relayout is needed."""
        if self._shown.get(cls) != text:
            self._shown[cls] = text
            self.query_one(f".{cls}", Label).update(text, layout=False)

    def set_state(self, state: TaskState, attempts: int) -> None:
        old, new = STATE_CLASS.get(self.state, "-stopped"), STATE_CLASS.get(state, "-stopped")
        if new != old:
            self.remove_class(old, update=False)
            self.add_class(new, update=False)
            # Restyle the two nodes the state class styles (cockpit.tcss), not the pane's whole subtree:
            # eight tasks starting at once would otherwise restyle ~90 widgets.
            self.app.stylesheet.update_nodes([self, self.query_one(".pane-state", Label)], animate=False)
        self.state = state
        self.attempts = max(self.attempts, attempts)
        self._set("pane-state", state_word(state))
        self._set("pane-attempts", attempts_text(self.attempts))

    def set_waiting(self, waiting: bool) -> None:
        """Its agent waits for the developer's answer: the title says so, the border is the warning's."""
        if waiting == self.has_class("-asking"):
            return
        # the class styles the pane's border alone (cockpit.tcss): restyle the pane, not its subtree,
        # whose widgets (the log above all) would all be drawn again for nothing
        self.set_class(waiting, "-asking", update=False)
        self.app.stylesheet.update_nodes([self], animate=False)
        self.border_title = self._title_text + (" · [b]waiting for you[/b]" if waiting else "")

    def set_elapsed(self, text: str) -> None:
        self._set("pane-elapsed", text)

    def set_usage(self, text: str) -> None:
        self._set("pane-usage", text)

    def set_result(self, text: str) -> None:
        self._result = text
        self._show_subtitle()

    @property
    def decision(self) -> str:
        """accepted / discarded once the developer decided on the task's work, else ""."""
        return self._decision

    def set_decision(self, decision: str) -> None:
        """The developer's decision on the task's work (accepted / discarded), shown after the result."""
        self._decision = decision
        self._show_subtitle()

    def _show_subtitle(self) -> None:
        self.border_subtitle = escape(" · ".join(t for t in (self._result, self._decision) if t))
