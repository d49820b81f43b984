"""Keys that never surprise: arrows to the nearest pane, j/k, a grid with no hole, cancel that asks, and
the help screen's whole binding ids; at 80x24 and 160x45."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from engine.states import TaskState
from tests.helpers.cockpit_app import cockpit, cockpit_of, gates, intervention_types, wait_intervention  # noqa: F401
from tests.helpers.events import wait_for_file
from tests.helpers.tui_pilot import until
from tui.bindings import COCKPIT_BINDINGS
from tui.screens.dialogs import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.widgets.pane_grid import grid_cells, grid_shape, nearest_pane

S = TaskState
SIZES = [(80, 24), (160, 45)]


def test_five_panes_fill_two_even_rows_and_arrows_always_find_one() -> None:
    assert grid_shape(5, 160, 40)[0] == 3  # 3 + 2, not 4 + 1
    cells, placed = grid_cells(5, 3)
    assert cells == 6 and placed == [(0, 0, 2), (0, 2, 2), (0, 4, 2), (1, 0, 3), (1, 3, 3)]
    assert nearest_pane(2, 5, 3, "down") == 4  # the right-hand pane below, not nothing
    assert nearest_pane(0, 5, 3, "down") == 3
    assert nearest_pane(4, 5, 3, "up") in (1, 2)
    assert nearest_pane(2, 5, 3, "right") == 3 and nearest_pane(3, 5, 3, "left") == 2  # on to the next row
    assert nearest_pane(0, 5, 3, "up") is None and nearest_pane(4, 5, 3, "down") is None
    for count in range(1, 13):
        for columns in range(1, 5):
            cells, placed = grid_cells(count, columns)
            rows: dict[int, int] = {}
            for row, first, span in placed:
                assert first == rows.get(row, 0)  # each pane starts where the last ended
                rows[row] = first + span
            assert set(rows.values()) == {cells}  # every row filled to the end
            for index in range(count):
                row = placed[index][0]
                if any(r == row + 1 for r, _, _ in placed):
                    assert nearest_pane(index, count, columns, "down") is not None


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_arrows_and_j_k_reach_every_pane_in_view(cockpit, gates: Path, size: tuple[int, int]) -> None:
    app = await cockpit([{"id": f"t{i}", "prompt": wait_for_file(gates / "never")} for i in range(5)], max_parallel=5)
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: all(s is S.RUNNING for s in screen.states.values()), "all running")
        panes = screen.grid.panes
        assert screen.focused is panes[0]
        seen = [screen.focused_pane().task_id]
        for _ in range(4):
            await pilot.press("j")
            seen.append(screen.focused_pane().task_id)
        assert seen == ["t0", "t1", "t2", "t3", "t4"]
        await pilot.press("j")
        assert screen.focused_pane().task_id == "t0"  # round the grid
        await pilot.press("k")
        assert screen.focused_pane().task_id == "t4"
        for key in ("up", "down", "left", "right", "down", "down"):
            before = screen.focused_pane()
            await pilot.press(key)
            await pilot.pause()
            pane = screen.focused_pane()
            grid = screen.grid.content_region
            assert pane.region.y >= grid.y and pane.region.y < grid.bottom, f"{key}: {pane.task_id} out of view"
            if key in ("up", "left") and before is not panes[0] and screen.grid.columns > 1:
                assert pane is not before
        widths = {pane.region.width for pane in panes[:3]} if screen.grid.columns == 3 else set()
        if widths:  # 160 columns: three panes then two wider ones, the row filled
            assert panes[4].region.right == panes[2].region.right and panes[3].region.width > max(widths)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_cancel_of_a_running_task_asks_first(cockpit, gates: Path, size: tuple[int, int]) -> None:
    app = await cockpit([{"id": "busy", "prompt": wait_for_file(gates / "never")}])
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["busy"] is S.RUNNING, "running")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # kept
        await pilot.pause()
        assert screen.states["busy"] is S.RUNNING and await intervention_types(app) == []
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await wait_intervention(app, "cancel", 1)
        await until(pilot, lambda: screen.states["busy"] is S.CANCELLED, "cancelled")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_the_help_shows_whole_binding_ids(cockpit, gates: Path, size: tuple[int, int]) -> None:
    app = await cockpit([{"id": "t", "prompt": "true"}])
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        assert str(table.columns[table.ordered_columns[1].key].label) == "binding id"
        ids = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert {b.id for b in COCKPIT_BINDINGS} <= set(ids)
        text = app.export_screenshot()
        for binding_id in ids[:5]:  # the rows on show at any size
            assert binding_id in text, binding_id  # whole, not cut at the edge


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_the_footer_keeps_the_keys_that_end_leave_help_and_review(cockpit, gates: Path,
                                                                       size: tuple[int, int]) -> None:
    from textual.widgets._footer import FooterKey

    app = await cockpit([{"id": "t", "prompt": wait_for_file(gates / "never")}])
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["t"] is S.RUNNING, "running")
        shown = {key.action for key in screen.query(FooterKey)
                 if key.region.width and key.region.right <= size[0]}
        assert {"end_session", "quit_cockpit", "help", "review"} <= shown, shown
        text = app.export_screenshot()
        assert "palette" not in text  # the hint that hid keys (and left a stray character) is gone
