"""What a pane shows, at 80x24 and 160x45: a rule between attempts with the attempt's number and why it
runs, the current attempt's status under it (not the last one's exit), and the worktree only in the
task info screen."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.states import TaskState
from tests.helpers.cockpit_app import cockpit, cockpit_of, gates  # noqa: F401  (fixtures)
from tests.helpers.events import wait_for_file
from tests.helpers.tui_pilot import until
from tui.screens.task_info import TaskInfoScreen

S = TaskState
SIZES = [(80, 24), (160, 45)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_attempts_are_ruled_apart_and_the_footer_is_the_current_attempts(cockpit, gates: Path,
                                                                               size: tuple[int, int]) -> None:
    gate = gates / "second"
    app = await cockpit([{"id": "t", "retries": 1, "prompt":
                          f'echo "try $COCKPIT_ATTEMPT"; [ "$COCKPIT_ATTEMPT" = 1 ] && exit 4; {wait_for_file(gate)}'}])
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["t"]
        log = pane.log_widget
        await until(pilot, lambda: "try 2" in log.written, "the automatic retry")
        written = list(log.written)
        rule = "──── attempt 2 · automatic retry after: exit 4 ────"
        assert written.index("try 1") < written.index(rule) < written.index("try 2"), written
        assert screen.states["t"] is S.RUNNING
        assert "exit 4" not in str(pane.border_subtitle)  # attempt 1's result is not attempt 2's status
        assert not any("worktree" in line for line in written)
        gate.touch()
        await until(pilot, lambda: "exit 0" in str(pane.border_subtitle), "attempt 2's result")

        pane.focus()
        await pilot.press("i")
        info = await until(pilot, lambda: isinstance(app.screen, TaskInfoScreen) and app.screen, "task info")
        facts = dict(info.facts)
        run = screen.engine.tasks["t"]
        assert facts["Worktree"] == run.worktree.path and facts["Branch"] == run.worktree.branch
