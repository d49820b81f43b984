"""The grid of agent panes: columns and row height follow the terminal size and the number of tasks.

At least 36 columns per pane (1–2 columns on 80 columns, 3 on 120, 4 from 160), rows no lower than
``MIN_PANE_HEIGHT`` and as high as the space allows; the panes that do not fit scroll.
"""
from __future__ import annotations

import math

from textual.containers import VerticalScroll
from textual.events import Resize
from textual.message import Message

from tui.widgets.agent_pane import AgentPane

MIN_PANE_WIDTH = 36
MIN_PANE_HEIGHT = 8
MAX_COLUMNS = 4


def grid_shape(panes: int, width: int, height: int) -> tuple[int, int]:
    """(columns, pane height) for ``panes`` panes in ``width`` x ``height`` cells."""
    panes = max(1, panes)
    columns = max(1, min(MAX_COLUMNS, panes, width // MIN_PANE_WIDTH))
    rows = math.ceil(panes / columns)
    rows_that_fit = max(1, height // MIN_PANE_HEIGHT)
    pane_height = max(MIN_PANE_HEIGHT, height // min(rows, rows_that_fit))
    return columns, pane_height


class PaneGrid(VerticalScroll, can_focus=False):
    """Holds the :class:`AgentPane` widgets in a grid."""

    class Arranged(Message):
        """The grid has its shape for the terminal's size (posted once, after the first layout)."""

    columns = 1
    _arranged = False

    @property
    def panes(self) -> list[AgentPane]:
        return list(self.query_children(AgentPane))

    def on_resize(self, event: Resize) -> None:
        self.relayout()

    def relayout(self) -> None:
        region = self.scrollable_content_region
        width, height = region.width or self.size.width, region.height or self.size.height
        if width <= 0 or height <= 0:
            return
        columns, pane_height = grid_shape(len(self.panes), width, height)
        if columns != self.columns or self.styles.grid_size_columns != columns:
            self.columns = columns
            self.styles.grid_size_columns = columns
        self.styles.grid_rows = str(pane_height)
        if not self._arranged:
            self._arranged = True
            self.call_after_refresh(self.post_message, self.Arranged())

    def is_pane_visible(self, pane: AgentPane) -> bool:
        """Whether ``pane`` is on screen now (not scrolled out, not behind an enlarged pane)."""
        maximized = self.screen.maximized
        if maximized is not None:
            return maximized is pane
        return pane.region.overlaps(self.scrollable_content_region)

    def neighbour(self, pane: AgentPane, direction: str) -> AgentPane | None:
        panes = self.panes
        index = panes.index(pane)
        step = {"left": -1, "right": 1, "up": -self.columns, "down": self.columns}[direction]
        target = index + step
        if 0 <= target < len(panes):
            return panes[target]
        return None
