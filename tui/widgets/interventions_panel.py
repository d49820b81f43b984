"""The session's interventions (time, task, type, text), read back from the store after each action."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from sessions.store.store import Store
from tui.display import clock_time


class InterventionsPanel(DataTable[object]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", zebra_stripes=True)
        self._last_id = 0

    def on_mount(self) -> None:
        for label in ("time", "task", "type", "text"):
            self.add_column(label, key=label)

    async def reload(self, store: Store, session_id: int) -> int:
        """Add the interventions recorded since the last reload; how many there are in all."""
        rows = await store.interventions(session_id)
        for row in rows:
            if row.id > self._last_id:
                self.add_row(clock_time(row.at), row.task_key or "(run)", Text(row.type), Text(row.text),
                             key=str(row.id))
                self._last_id = row.id
        self.scroll_end(animate=False)
        return len(rows)
