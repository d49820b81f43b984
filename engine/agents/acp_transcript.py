"""What an ACP agent reports, made into pane lines.

- Message chunks are joined: a line is shown once it is complete (or when the agent turns to something
  else: a thought, a tool call, the end of its turn), never one chunk per line.
- Thoughts are set apart: their lines start with ``· `` (as the other agents' thinking does).
- Each tool call is ONE line, keyed by its id: every change of its status, title or files makes the
  line again under the same key, and the pane rewrites it in place (the store keeps each version).
  An id announced twice is an update, not a second call.
- The plan is the whole checklist each time, under the key ``plan`` on its own stream.

Agent text is untrusted: control characters and escape sequences are removed here (colour too: a line's
length and the tool line's layout are judged on what is shown), and a line longer than :data:`LINE_LIMIT`
is cut; the engine's :class:`~engine.agent_text.AgentText` then takes secrets out of every line emitted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.terminal_text import plain

LINE_LIMIT = 4000
DETAIL_LIMIT = 160
PLAN_KEY = "plan"
_STATUS_MARK = {"pending": "○", "in_progress": "◐", "completed": "✓", "failed": "✗"}
_PLAN_MARK = {"pending": "☐", "in_progress": "◐", "completed": "☑"}

# (stream, lines, key): key "" for lines that are simply added
Emit = Callable[[str, list[str], str], None]


def _cut(line: str, limit: int = LINE_LIMIT) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class ToolCall:
    """What is known of one tool call so far (updates replace what they carry)."""

    id: str
    title: str = ""
    kind: str = ""
    status: str = "pending"
    paths: list[str] = field(default_factory=list)
    detail: str = ""  # the first line of a failure's text

    def line(self) -> str:
        mark = _STATUS_MARK.get(self.status, "○")
        title = _cut(" ".join(plain(self.title).split()), DETAIL_LIMIT) or self.kind or "tool"
        text = f"{mark} {title}"
        if self.kind and self.kind not in ("other", "think") and self.kind not in title.lower():
            text += f" [{self.kind}]"
        shown = [p for p in self.paths if p and p not in title]
        if shown:
            more = f" +{len(shown) - 3}" if len(shown) > 3 else ""
            text += " · " + ", ".join(shown[:3]) + more
        if self.status == "failed" and self.detail:
            text += f": {self.detail}"
        return text


class Transcript:
    """Turns session updates (the package's pydantic models) into lines for ``emit``."""

    def __init__(self, emit: Emit, workdir: str) -> None:
        self._emit = emit
        self._roots = tuple(dict.fromkeys(r.rstrip(os.sep) + os.sep for r in (workdir, os.path.realpath(workdir))))
        self._buffers: dict[str, str] = {"message": "", "thought": ""}
        self._message_id: str | None = None
        self.tools: dict[str, ToolCall] = {}
        self.final_message = ""  # the text of the agent's last message
        self._last_message: list[str] = []
        self.plan: list[str] = []

    # ------------------------------------------------------------------ updates
    def update(self, update: Any) -> None:
        kind = getattr(update, "session_update", "")
        if kind == "agent_message_chunk":
            self._chunk("message", update)
        elif kind == "agent_thought_chunk":
            self._chunk("thought", update)
        elif kind in ("tool_call", "tool_call_update"):
            self.tool(update)
        elif kind == "plan":
            self.flush()
            self._plan(update)

    def _chunk(self, which: str, update: Any) -> None:
        other = "thought" if which == "message" else "message"
        if self._buffers[other]:
            self._flush_one(other)
        message_id = getattr(update, "message_id", None)
        if which == "message" and message_id is not None and message_id != self._message_id:
            if self._buffers["message"]:
                self._flush_one("message")
            self._message_id = message_id
            self._last_message = []
        content = getattr(update, "content", None)
        text = getattr(content, "text", None)
        if not isinstance(text, str):
            kind = getattr(content, "type", "content")
            text = f"[{kind}]"
        buffered = self._buffers[which] + text
        complete, newline, rest = buffered.rpartition("\n")
        if newline:
            self._lines(which, complete.split("\n"))
        self._buffers[which] = rest
        if len(rest) > LINE_LIMIT:  # a line that never ends is shown in pieces
            self._lines(which, [rest])
            self._buffers[which] = ""

    def flush(self) -> None:
        """Show what is left of an unfinished message or thought."""
        for which in ("thought", "message"):
            if self._buffers[which]:
                self._flush_one(which)

    def start_turn(self) -> None:
        """What the agent said between turns (some agents talk back to a mode change) stays apart."""
        self.flush()
        self._last_message = []

    def end_turn(self) -> None:
        self.flush()
        self.final_message = "\n".join(self._last_message).strip()
        self._last_message = []
        self._message_id = None

    def _flush_one(self, which: str) -> None:
        text, self._buffers[which] = self._buffers[which], ""
        self._lines(which, [text])

    def _lines(self, which: str, lines: list[str]) -> None:
        cleaned = [_cut(plain(line.rstrip("\r"))) for line in lines]
        if which == "thought":
            shown = [f"· {line}" for line in cleaned if line.strip()]
        else:
            shown = cleaned
            self._last_message.extend(cleaned)
        if shown:
            self._emit("agent", shown, "")

    # ------------------------------------------------------------------ tool calls
    def tool(self, update: Any) -> ToolCall:
        """A tool call announced or updated (or the one a permission request is about); its state."""
        self.flush()
        self._last_message = []  # the final message is what the agent says after its last tool call
        tool_id = plain(str(getattr(update, "tool_call_id", "") or "?"))[:200]
        call = self.tools.get(tool_id)
        created = call is None
        if call is None:
            call = self.tools[tool_id] = ToolCall(tool_id)
        before = call.line()
        title = getattr(update, "title", None)
        if isinstance(title, str) and title.strip():
            call.title = title
        kind = getattr(update, "kind", None)
        if kind:
            call.kind = str(kind)
        status = getattr(update, "status", None)
        if status:
            call.status = str(status)
        paths = [self._path(loc.path) for loc in (getattr(update, "locations", None) or [])
                 if isinstance(getattr(loc, "path", None), str)]
        for item in getattr(update, "content", None) or []:
            if getattr(item, "type", "") == "diff" and isinstance(getattr(item, "path", None), str):
                paths.append(self._path(item.path))
            elif call.status == "failed" or status == "failed":
                text = getattr(getattr(item, "content", None), "text", None)
                if isinstance(text, str) and text.strip():
                    call.detail = _cut(" ".join(plain(text).split()), DETAIL_LIMIT)
        for path in paths:
            if path not in call.paths:
                call.paths.append(path)
        line = call.line()
        if created or line != before:
            self._emit("agent", [line], f"tool:{tool_id}")
        return call

    def open_tools(self) -> list[ToolCall]:
        """Tool calls not reported as ended (some agents never report the end of one that failed)."""
        return [c for c in self.tools.values() if c.status in ("pending", "in_progress")]

    def _path(self, path: str) -> str:
        for root in self._roots:
            if path.startswith(root):
                return plain(path[len(root):]) or "."
        return plain(path)

    # ------------------------------------------------------------------ plan
    def _plan(self, update: Any) -> None:
        lines = []
        for entry in getattr(update, "entries", None) or []:
            mark = _PLAN_MARK.get(str(getattr(entry, "status", "")), "☐")
            lines.append(f"{mark} {_cut(' '.join(plain(str(getattr(entry, 'content', ''))).split()), DETAIL_LIMIT)}")
        if lines != self.plan:
            self.plan = lines
            self._emit("plan", lines or ["(the plan is empty)"], PLAN_KEY)
