"""An agent's pane on its own: keyed lines (a tool call's status) rewritten in place, the plan as a
checklist under the log, the usage header for agents that report no tokens or rounded ones; a full
pane keeps showing what comes next, and agent text is shown as text."""
from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from engine.formatting import usage_text
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, gates  # noqa: F401  (fixtures)
from tests.helpers.events import wait_for_file
from tests.helpers.tui_pilot import until
from tui.widgets.agent_pane import AgentPane

CSS = Path(__file__).resolve().parents[2] / "tui" / "screens" / "cockpit.tcss"


class PaneApp(App[None]):
    CSS_PATH = str(CSS)

    def compose(self) -> ComposeResult:
        yield AgentPane("t", "A task", "codex-acp", max_lines=5)


async def test_a_keyed_line_is_rewritten_where_it_stands() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(AgentPane)
        pane.add_lines("agent", ["Looking at the code"])
        pane.add_lines("agent", ["○ npm test [execute]"], "tool:1")
        pane.add_lines("agent", ["the tests run"])
        pane.flush()
        pane.add_lines("agent", ["◐ npm test [execute]"], "tool:1")
        pane.add_lines("agent", ["○ Write a.txt [edit]"], "tool:2")
        pane.add_lines("agent", ["✓ Write a.txt [edit]"], "tool:2")  # updated before it was ever drawn
        pane.flush()
        await pilot.pause()
        assert pane.log_widget.lines == [
            "Looking at the code", "◐ npm test [execute]", "the tests run", "✓ Write a.txt [edit]",
        ]
        pane.add_lines("agent", ["a", "b", "c"])  # pushes the tool's line out of the pane (5 lines kept)
        pane.flush()
        pane.add_lines("agent", ["✓ npm test [execute]"], "tool:1")  # no longer shown: added at the end
        pane.flush()
        await pilot.pause()
        assert pane.log_widget.lines == ["the tests run", "✓ Write a.txt [edit]", "a", "b", "c",
                                         "✓ npm test [execute]"][-5:]


async def test_the_plan_is_a_checklist_under_the_log() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(AgentPane)
        plan = pane.query_one(".pane-plan", Static)
        assert not plan.display  # no plan, no room taken
        pane.add_lines("plan", ["◐ Read the code", "☐ Write the fix"], "plan")
        await pilot.pause()
        assert plan.display and str(plan.render()) == "◐ Read the code\n☐ Write the fix"
        pane.add_lines("plan", ["☑ Read the code", "◐ Write the fix"], "plan")
        await pilot.pause()
        assert str(plan.render()) == "☑ Read the code\n◐ Write the fix"
        assert pane.log_widget.lines == []  # the plan is not in the log


def test_usage_text_says_what_is_unknown_or_rounded() -> None:
    assert usage_text(0, None, known=False) == "tokens unknown · cost unknown"
    assert usage_text(0, 0.25, known=False) == "tokens unknown · $0.25"
    assert usage_text(1256, 0.0002, approximate=True) == "≈1.3k tok · $0.00"
    assert usage_text(1256, None) == "1.3k tok · cost unknown"
    assert usage_text(0, None) == ""
    assert usage_text(0, None, known=False, context=(12000, 200000)) == "tokens unknown · cost unknown · ctx 6%"


async def test_a_full_pane_shows_the_line_after_a_burst(cockpit, gates: Path) -> None:
    """3,000 lines fill the pane (1,000 rows); a line printed after them is on screen, not only in
    the log's lines (the screenshot is drawn as the terminal is)."""
    app = await cockpit([{"id": "chatty", "prompt":
                          f"for i in $(seq 1 3000); do echo \"line number $i\"; done\n"
                          f"{wait_for_file(gates / 'chatty')}; echo AFTER-THE-BURST; sleep 30"}])
    async with app.run_test(size=SIZE) as pilot:
        pane = cockpit_of(app).panes["chatty"]
        await until(pilot, lambda: "line number 3000" in pane.log_widget.lines, "the burst in the pane")
        (gates / "chatty").touch()
        await until(pilot, lambda: "AFTER-THE-BURST" in pane.log_widget.lines, "the line after the burst")
        await pilot.pause()
        assert "AFTER-THE-BURST" in app.export_screenshot()


async def test_control_sequences_and_colour_never_reach_the_screen_raw() -> None:
    """Text from the store or an agent that is not made safe on its way in is made so here too."""
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(AgentPane)
        pane.add_lines("stdout", ["\x1b[31mred\x1b[0m text", "title \x1b]0;x\x07 gone"])
        pane.flush()
        await pilot.pause()
        assert list(pane.log_widget.lines) == ["red text", "title  gone"]
        pane.add_lines("plan", ["☐ [bold]not markup[/bold] \x1b]0;x\x07"], "plan")
        await pilot.pause()
        assert str(pane.query_one(".pane-plan", Static).render()) == "☐ [bold]not markup[/bold] "
