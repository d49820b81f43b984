"""The cockpit when an agent asks: the real Claude Code (on the stand-in Messages API) waits for a
permission; its pane, the task list and the run bar say so; ``w`` goes to it; ``d`` denies with a reason
the model is told, ``a`` allows the same for the task; every answer is an intervention. And an SVG
snapshot of a pane with a question."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Label

from engine.asks import DEFAULT_POLICY, AskOption, Question, Request
from engine.states import TaskState
from tests.helpers.anthropic_stub import text, tool_use
from tests.helpers.claude_code import MODEL, claude_stub, tool_results
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, gates, wait_intervention
from tests.helpers.events import wait_for_file
from tests.helpers.tui_pilot import Notices, until
from tui.screens.cockpit_asks import WAITING_CELL
from tui.widgets.agent_pane import AgentPane
from tui.widgets.question_panel import QuestionPanel

__all__ = ["claude_stub", "cockpit", "gates"]  # fixtures, used by name
S = TaskState
COCKPIT_TCSS = Path(__file__).resolve().parents[2] / "tui" / "screens" / "cockpit.tcss"


def use_stub_model(repo: Path) -> None:
    (repo / "cockpit.toml").write_text(f'[agents.claude]\nmodel = "{MODEL}"\n')


async def test_a_question_waits_in_its_pane_and_the_developer_denies_it_with_a_reason(
        cockpit, claude_stub, repo: Path, gates: Path) -> None:
    use_stub_model(repo)
    claude_stub.add(tool_use("Bash", command="make release", description="release"),
                    tool_use("Bash", command="make release-notes", description="notes"),
                    tool_use("Bash", command="make release-notes --all", description="notes"),
                    text("Nothing released."))
    app = await cockpit([{"id": "work", "prompt": wait_for_file(gates / "end")},
                         {"id": "ask", "agent": "claude", "prompt": "release it"}])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["ask"]
        await until(pilot, lambda: screen.asks.asking("ask"), "the question in its pane")
        panel = pane.query_one(QuestionPanel)
        assert "make release" in str(panel.render()) and "d deny" in str(panel.render())
        assert "waiting for you" in pane.border_title and pane.has_class("-asking")
        assert screen.table.get_cell("ask", "state") == WAITING_CELL
        status = screen.query_one("#run-status", Label)
        await until(pilot, lambda: "1 agent WAITING FOR YOU" in str(status.render()), "the run bar's count")
        assert notices.find("ask asks: Bash: make release")

        screen.panes["work"].focus()
        await pilot.press("y")  # the shell task asks nothing
        await until(pilot, lambda: notices.find("work asks nothing now (w goes"), "the notice")
        await pilot.press("w")
        assert screen.focused is pane

        await pilot.press("d")
        await pilot.press(*"not today")
        await pilot.press("enter")
        await wait_intervention(app, "permission", 1)
        # the next question: a allows the same command prefix for the rest of the task
        await until(pilot, lambda: "release-notes" in str(pane.query_one(QuestionPanel).render()), "question 2")
        await pilot.press("a")
        await wait_intervention(app, "permission", 2)
        await until(pilot, lambda: screen.engine.tasks["ask"].state is S.SUCCEEDED, "the task done")
        await until(pilot, lambda: not pane.query_one(QuestionPanel).display, "the panel hidden")
        assert not pane.has_class("-asking") and "waiting for you" not in pane.border_title
        await until(pilot, lambda: "WAITING" not in str(status.render()), "the count gone")

        live = app.live
        texts = [i.text for i in await live.store.interventions(live.row.id) if i.type == "permission"]
        assert texts[0].startswith("Bash: make release: denied once after ") and texts[0].endswith("(not today)")
        assert texts[1].startswith("Bash: make release-notes: allowed always (this task) after ")
        assert len(texts) == 2  # the third request was answered by the task's new rule, not by you
        denied = [r for b in claude_stub.bodies for r in tool_results(b) if r.get("is_error")]
        assert "not today" in str(denied[0]["content"])
        (gates / "end").touch()


class PaneWithQuestion(App[None]):
    """One agent pane as the cockpit draws it, with a question at its foot (fixed time and text)."""

    CSS_PATH = str(COCKPIT_TCSS)
    ASKED = 1735725600.0

    def compose(self) -> ComposeResult:
        yield AgentPane("deploy", "Ship the preview build", "claude")

    def on_mount(self) -> None:
        pane = self.query_one(AgentPane)
        pane.set_state(S.RUNNING, 1)
        pane.set_elapsed("1m05s")
        pane.set_usage("12.4k tok · $0.08")
        pane.add_lines("agent", ["I will build and upload the preview.", "→ Bash: npm run build",
                                 "← built in 14.2s", "→ Bash: ./scripts/upload.sh --env preview"])
        pane.flush()
        request = Request(
            "Bash", "execute", command="./scripts/upload.sh --env preview \x1b[31m",
            paths=("/srv/previews",), preview="./scripts/upload.sh --env preview\n# uploads dist/ to /srv/previews",
            reason="Path is outside allowed working directories",
            options=(AskOption("a", "allow_once"), AskOption("b", "allow_always"), AskOption("c", "reject_once")))
        question = Question("q1", "deploy", 1, "claude", request, ("/srv/previews",), self.ASKED)
        pane.set_waiting(True)
        panel = pane.question_panel
        panel.clock = lambda: self.ASKED + 83
        panel.show(question, 1)


def test_snapshot_of_a_pane_with_a_question(snap_compare) -> None:
    assert snap_compare(PaneWithQuestion(), terminal_size=(90, 24))


def test_the_panel_shows_no_control_sequence_of_the_agent() -> None:
    request = Request("Bash", "execute", command="echo \x1b]0;pwned\x07 \x9b31m", preview="a\tb")
    panel = QuestionPanel(Question("q1", "t", 1, "claude", request, (), time.time()))
    shown = panel.render_question(time.time()).plain
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown and "\ufffd" in shown


async def test_a_question_is_laid_out_and_drawn_in_the_turn_its_event_arrives(
        cockpit, repo: Path, gates: Path) -> None:
    """The agent waits for the developer: its question does not wait for the screen's next frame."""
    app = await cockpit([{"id": "work", "prompt": wait_for_file(gates / "end")}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["work"]
        await until(pilot, lambda: screen.engine.tasks["work"].state is S.RUNNING, "the task running")
        frames: list[bool] = []  # per frame handed to the terminal: did it hold the question?
        screen.screen_layout_refresh_signal.subscribe(
            pane, lambda _screen: frames.append(bool(pane.question_panel.region)), immediate=True)
        seen_in_turn: list[list[bool]] = []
        asked = screen.asks.asked

        def watched(event) -> None:  # type: ignore[no-untyped-def]
            asked(event)
            seen_in_turn.append(list(frames))  # the frames drawn before the handler returned

        screen.asks.asked = watched  # type: ignore[method-assign]
        channel = screen.engine.asks
        asking = asyncio.ensure_future(channel.ask(
            "work", 1, "shell", str(repo), DEFAULT_POLICY, Request("Bash", "execute", command="make deploy")))
        await until(pilot, lambda: bool(seen_in_turn), "the question's event")
        assert seen_in_turn[0] and seen_in_turn[0][-1], "the question was not on the screen when its handler returned"
        assert "make deploy" in str(pane.question_panel.render())
        pane.focus()
        await pilot.press("y")
        assert (await asyncio.wait_for(asking, 10)).allow
        await until(pilot, lambda: not pane.question_panel.display, "the panel hidden")
        (gates / "end").touch()
