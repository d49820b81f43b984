"""The grid of agent panes: columns and row height follow the terminal size and the number of tasks.

At least 36 columns per pane (1–2 columns on 80 columns, 3 on 120, 4 from 160), rows no lower than
``MIN_PANE_HEIGHT`` and as high as the space allows; the panes that do not fit scroll. The rows are
as even as they can be, and the panes of a shorter last row are wider: the grid has no hole.
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
    columns = math.ceil(panes / rows)  # rows as even as they can be: 5 panes make 3 + 2, not 4 + 1
    rows_that_fit = max(1, height // MIN_PANE_HEIGHT)
    pane_height = max(MIN_PANE_HEIGHT, height // min(rows, rows_that_fit))
    return columns, pane_height


class PaneGrid(VerticalScroll, can_focus=False, inherit_bindings=False):
    """Holds the :class:`AgentPane` widgets in a grid. It has none of the scroll keys of a scrolling
    container: the arrows move between panes (the cockpit's), and the grid follows the focus."""

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
        panes = self.panes
        columns, pane_height = grid_shape(len(panes), width, height)
        cells, placed = grid_cells(len(panes), columns)
        if columns != self.columns or self.styles.grid_size_columns != cells:
            self.columns = columns
            self.styles.grid_size_columns = cells
            for pane, (_, _, span) in zip(panes, placed):
                pane.styles.column_span = span
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
        target = nearest_pane(panes.index(pane), len(panes), self.columns, direction)
        return None if target is None else panes[target]


def grid_cells(count: int, columns: int) -> tuple[int, list[tuple[int, int, int]]]:
    """How ``count`` panes fill a grid ``columns`` wide with no hole: (cells a row, then per pane its row,
    first cell and cells). A shorter last row's panes are wider, so together they fill the row too."""
    columns = max(1, min(columns, count))
    last = count - (math.ceil(count / columns) - 1) * columns  # panes in the last row
    cells = columns * last // math.gcd(columns, last)
    placed = []
    for index in range(count):
        row, column = divmod(index, columns)
        span = cells // (last if index >= count - last else columns)
        placed.append((row, column * span, span))
    return cells, placed


def nearest_pane(index: int, count: int, columns: int, direction: str) -> int | None:
    """The pane an arrow moves to from pane ``index``: up and down go to the pane of the row above or
    below nearest to its middle; left and right go on to the row before or after at a row's end.
    None only at the grid's top or bottom (or the first and last pane)."""
    if direction in ("left", "right"):
        target = index + (-1 if direction == "left" else 1)
        return target if 0 <= target < count else None
    _, placed = grid_cells(count, columns)
    row, first, span = placed[index]
    middle = first + span / 2
    target_row = row + (-1 if direction == "up" else 1)
    candidates = [(abs(f + s / 2 - middle), i) for i, (r, f, s) in enumerate(placed) if r == target_row]
    return min(candidates)[1] if candidates else None
