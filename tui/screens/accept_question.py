"""The question an accept asks when the task's branch holds work of dependencies that are not accepted:
bring in only the task's own commits, bring in its dependencies with it, or cancel.

A discarded dependency comes in only when its box is ticked, by name. Dismisses with an
:class:`AcceptChoice`, or None (cancel).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Static

from engine.formatting import diff_size_text
from sessions.decisions import TaskFacts
from sessions.git.incoming import Incoming

__all__ = ["AcceptChoice", "AcceptQuestion"]


@dataclass(frozen=True)
class AcceptChoice:
    mode: str  # "merge" | "own" | "with-deps" (see sessions.decisions)
    include: tuple[str, ...] = ()  # discarded dependencies to bring in all the same


def _brings(incoming: Incoming | None, key: str) -> str:
    if incoming is None:
        return ""
    files = incoming.of(key)
    return diff_size_text(sum(f.file.added or 0 for f in files), sum(f.file.removed or 0 for f in files), len(files))


class AcceptQuestion(ModalScreen[AcceptChoice | None]):
    CSS_PATH = "accept_question.tcss"
    BINDINGS = [
        Binding("o", "own", "Own commits", id="accept.own",
                tooltip="Copy only this task's own commits onto your branch"),
        Binding("w", "with_deps", "With dependencies", id="accept.with_deps",
                tooltip="Bring in the dependencies' work too (a discarded one only when ticked)"),
        Binding("escape", "cancel", "Cancel", id="accept.cancel", tooltip="Accept nothing"),
    ]

    def __init__(self, task_id: str, pending: list[TaskFacts], incoming: Incoming | None,
                 source_text: Callable[[str], str]) -> None:
        super().__init__()
        self.task_id = task_id
        self.pending = pending
        self.incoming = incoming
        self.source_text = source_text

    def compose(self) -> ComposeResult:
        with Vertical(id="accept-question"):
            yield Label(Content.from_markup("Accept task [b]$task[/b]?", task=self.task_id), id="accept-title")
            yield Static(Content(
                "Its branch also holds work of tasks it depends on that is not in your branch:"), classes="explain")
            for dep in self.pending:
                brings = _brings(self.incoming, dep.key) or "nothing left to bring"
                yield Static(Content(f"  {self.source_text(dep.key)}: {brings}"), classes="pending")
            own = _brings(self.incoming, self.task_id)
            yield Static(Content(f"This task's own commits: {own or 'nothing to bring'}"), classes="explain")
            for dep in self.pending:
                if dep.decision == "discarded":
                    yield Checkbox(f"With its dependencies, also bring in {dep.key} (discarded)",
                                   id=f"include-{dep.key}", name=dep.key)
            with Horizontal(id="accept-buttons"):
                yield Button("Only its own commits (o)", variant="primary", id="accept-own")
                yield Button("With its dependencies (w)", id="accept-with-deps")
                yield Button("Cancel (esc)", id="accept-cancel")

    def on_mount(self) -> None:
        self.query_one("#accept-own", Button).focus()

    @on(Button.Pressed, "#accept-own")
    def action_own(self) -> None:
        self.dismiss(AcceptChoice("own"))

    @on(Button.Pressed, "#accept-with-deps")
    def action_with_deps(self) -> None:
        include = tuple(box.name for box in self.query(Checkbox) if box.value and box.name)
        self.dismiss(AcceptChoice("with-deps", include))

    @on(Button.Pressed, "#accept-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
