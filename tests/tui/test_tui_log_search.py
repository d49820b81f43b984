"""The log view's search highlights what it found, on the page on show, at 80x24 and 160x45."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable

from engine.states import TaskState
from tests.helpers.cockpit_app import cockpit, cockpit_of, gates  # noqa: F401  (fixtures)
from tests.helpers.tui_pilot import until
from tui.screens.log_view import HIT_STYLE, LogViewScreen

S = TaskState


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_search_hits_are_highlighted(cockpit, size: tuple[int, int]) -> None:
    app = await cockpit([{"id": "t", "prompt": "echo alpha beta; echo BETA gamma; echo delta"}])
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["t"] is S.SUCCEEDED, "t ended")
        await until(pilot, lambda: len(screen.panes["t"].log_widget.written) >= 3, "its lines")
        screen.panes["t"].focus()
        await pilot.press("l")
        view = await until(pilot, lambda: isinstance(app.screen, LogViewScreen) and app.screen.page and app.screen,
                           "the log view")
        await until(pilot, lambda: len(view.page) >= 3, "the lines stored")
        await pilot.press("slash", *"beta", "enter")
        await until(pilot, lambda: len(view.hits) == 2, "two hits")
        table = view.query_one("#lines", DataTable)
        cells = {str(table.get_row_at(i)[3]): table.get_row_at(i)[3] for i in range(table.row_count)}
        for line, start in (("alpha beta", 6), ("BETA gamma", 0)):
            spans = [(s.start, s.end, str(s.style)) for s in cells[line].spans]
            assert (start, start + 4, HIT_STYLE) in spans, (line, spans)
        assert cells["delta"].spans == []
        await pilot.press("slash", "ctrl+u", "enter")  # an empty search: no highlight left
        await until(pilot, lambda: not view.hits, "no hits")
        table = view.query_one("#lines", DataTable)
        assert all(not table.get_row_at(i)[3].spans for i in range(table.row_count))
