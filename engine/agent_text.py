"""What the engine lets through of an agent's text: safe for a terminal, and without secrets.

An agent's output is untrusted. The engine passes every line a task writes (and an attempt's final
message, and a failed check's output that joins the next prompt) through one :class:`AgentText` before
it enters the event stream, so the store, the panes, the headless printer and the exports all get text
that can neither drive the user's terminal (:mod:`engine.terminal_text`) nor hold a secret
(:mod:`engine.redact`). A private key block can span batches: where each stream of each task is inside
one is remembered.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.redact import Redactor
from engine.terminal_text import safe_lines, safe_text


class AgentText:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.redactor = Redactor.from_environ(environ)
        self._in_key: set[tuple[str, str]] = set()  # (task, stream) inside a private key block

    def lines(self, task_id: str, stream: str, lines: Sequence[str]) -> Sequence[str]:
        """``lines`` of one stream of one task, safe and redacted (the same object when nothing changed)."""
        lines = safe_lines(lines)
        where = (task_id, stream)
        inside = where in self._in_key
        lines, inside_after = self.redactor.lines(lines, inside)
        if inside_after != inside:
            if inside_after:
                self._in_key.add(where)
            else:
                self._in_key.discard(where)
        return lines

    def text(self, text: str) -> str:
        """One text (a final message, a prompt), safe and redacted; its lines may be many."""
        if not text:
            return text
        out, _ = self.redactor.lines(safe_text(text).split("\n"))
        return "\n".join(out)
