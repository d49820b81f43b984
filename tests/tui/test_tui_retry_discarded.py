"""``r`` on a failed task whose work was discarded in the review: it starts over from a fresh worktree, its
pane no longer says "discarded", and the review shows the new attempt's work, undecided. ``r`` on one whose
work was accepted says why it does not run again."""
from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from engine.states import TaskState
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, intervention_types
from tests.helpers.tui_pilot import Notices, until
from tui.screens.review import DiscardDialog, ReviewScreen

__all__ = ["cockpit"]  # the fixture, used by name
S = TaskState


async def test_r_after_a_discard_runs_the_task_afresh_and_the_review_shows_the_new_work(
        cockpit, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    app = await cockpit([
        {"id": "fix", "prompt": f'n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo "$n" > {counter}; '
                               f'echo "attempt $n" > fix.txt; [ "$n" -ge 2 ]'},
        {"id": "kept", "prompt": "echo kept > kept.txt; exit 4"},
    ])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["fix"] is S.FAILED and screen.states["kept"] is S.FAILED,
                    "both failed")
        first = app.live.engine.tasks["fix"].last_result
        pane = screen.panes["fix"]
        pane.focus()
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loaded, "the review")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiscardDialog), "the discard dialog")
        await pilot.press(*"wrong approach", "enter")
        await until(pilot, lambda: pane.decision == "discarded", "the pane marked discarded")
        assert not Path(first.worktree).exists()
        await pilot.press("m")  # what a message would do, said before anything is typed
        assert pane.message_line.placeholder == ("Enter retries fix (failed) from a fresh worktree with your "
                                                 "message as feedback, Escape leaves")
        await pilot.press("escape")
        await until(pilot, lambda: screen.focused is pane, "back in the pane")

        await pilot.press("r")
        await until(pilot, lambda: screen.model.attempts.get("fix") == 2 and screen.states["fix"] is S.SUCCEEDED,
                    "the retry succeeded")
        assert pane.decision == "" and "discarded" not in str(pane.border_subtitle)
        assert Path(first.worktree, "fix.txt").read_text() == "attempt 2\n"
        assert not notices.find("Cannot retry")

        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loaded, "the new review")
        review = app.screen
        table = review.query_one("#review-files", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["fix.txt"]
        facts = str(review.query_one("#review-facts", Static).render())
        assert "already" not in facts and "2 attempts" in facts
        await pilot.press("a")
        await until(pilot, lambda: pane.decision == "accepted", "the new work accepted")

        # accepted work does not run again: r says why, the line says so before anything is typed
        kept = screen.panes["kept"]
        kept.focus()
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loaded, "kept's review")
        await pilot.press("a")
        await until(pilot, lambda: kept.decision == "accepted", "kept accepted")
        await pilot.press("r")
        await until(pilot, lambda: notices.find("task 'kept' was already accepted: its work is in your branch, "
                                                "so it does not run again; what remains needs a task of its own"),
                    "why kept does not run again")
        await pilot.press("m")
        await until(pilot, lambda: notices.find("kept was accepted: its work is in your branch, so it does not "
                                                "run again"), "why no message goes")
        assert screen.model.attempts.get("kept", 1) == 1
        assert await intervention_types(app) == ["retry"]
