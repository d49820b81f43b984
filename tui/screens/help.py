"""The help screen: every key of the cockpit (as remapped by the user's keymap) and what it does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from tui.bindings import HELP_BINDINGS


@dataclass(frozen=True)
class HelpRow:
    keys: str
    name: str
    tooltip: str
    binding_id: str


def help_rows(screen_bindings: Iterable[Binding], active: dict[str, Binding], key_display) -> list[HelpRow]:
    """One row per binding; ``active`` maps binding ids to the bindings in force (keymap applied)."""
    rows: dict[str, list[str]] = {}
    meta: dict[str, Binding] = {}
    for binding in screen_bindings:
        assert binding.id, f"binding {binding.key} -> {binding.action} has no id"
        meta.setdefault(binding.id, binding)
        current = active.get(binding.id, binding)
        keys = rows.setdefault(binding.id, [])
        for key in current.key.split(","):
            shown = key_display(Binding(key.strip(), current.action, key_display=None))
            if binding.key_display and key.strip() == binding.key:
                shown = binding.key_display
            if shown not in keys:
                keys.append(shown)
    return [HelpRow(" / ".join(rows[i]), meta[i].description, meta[i].tooltip, i) for i in rows]


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = HELP_BINDINGS

    def __init__(self, rows: list[HelpRow], title: str = "Keys of the cockpit") -> None:
        super().__init__()
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Label(self.title_text, id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Label("Remap any key in keymap.toml (binding id = \"key\"); Ctrl+P lists every command.",
                        id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        # the id before the long description: whole on any width, as the keymap needs it
        table.add_columns("key", "binding id", "action", "what it does")
        for row in self.rows:
            table.add_row(Text(row.keys), Text(row.binding_id), Text(row.name), Text(row.tooltip),
                          key=row.binding_id)

    def action_close(self) -> None:
        self.dismiss(None)
