"""An agent's pane on its own: keyed lines (a tool call's status) rewritten in place, the plan as a
checklist under the log, and the usage header for agents that report no tokens or rounded ones."""
from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from engine.formatting import usage_text
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
