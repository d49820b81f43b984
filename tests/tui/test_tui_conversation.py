"""Talking to an agent in its pane: the pane's own input line, at 80x24 and 160x45, on real sessions
whose shell agents read their input (the test's lines reach the agent's stdin)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.states import TaskState
from tests.helpers.cockpit_app import cockpit, cockpit_of, gates, intervention_types, wait_intervention  # noqa: F401
from tests.helpers.tui_pilot import Notices, until
from tui.widgets.message_line import MessageLine

S = TaskState
SIZES = [(80, 24), (160, 45)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_a_conversation_in_the_enlarged_pane(cockpit, size: tuple[int, int]) -> None:
    app = await cockpit([
        {"id": "talk", "prompt": 'echo ready; read a; echo "got $a"; read b; echo "got $b"'},
        {"id": "other", "prompt": "echo other; sleep 30"},
    ])
    notices = Notices()
    async with app.run_test(size=size, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["talk"]
        log = pane.log_widget
        await until(pilot, lambda: "ready" in log.written, "the agent is ready")
        pane.focus()
        await pilot.press("z")  # enlarged: the line is on show, Enter goes into it
        line = pane.message_line
        await until(pilot, lambda: line.display and line.region.height == 1, "the line on show")
        assert line.region.y + 1 <= size[1]  # inside the screen
        await pilot.press("enter")
        assert screen.focused is line
        assert line.placeholder.startswith("Enter sends to the agent of talk")  # said before typing
        await pilot.press(*"pause please", "enter")  # p, a, u, s, e are text here, not the cockpit's keys
        await until(pilot, lambda: "got pause please" in log.written, "the agent got the first message")
        assert "│ message sent: pause please" in log.written  # what was sent shows in the pane's log
        assert screen.focused is line and line.value == ""  # the conversation goes on in the line
        await pilot.press("up")
        assert line.value == "pause please"  # the history
        await pilot.press("down", *"and then?", "enter")
        await until(pilot, lambda: "got and then?" in log.written, "the second message")
        await until(pilot, lambda: screen.states["talk"] is S.SUCCEEDED, "talk ended")
        assert await intervention_types(app) == ["message", "message"]

        await pilot.press("escape")  # back to the pane
        assert screen.focused is pane
        await pilot.press("m")  # the agent has finished: said at once, nothing to type into
        await until(pilot, lambda: notices.find("talk succeeded and its conversation cannot go on: its agent "
                                                "(profile 'shell') runs a script once"), "why no message")
        assert screen.focused is pane


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_an_ended_task_is_retried_with_the_message(cockpit, size: tuple[int, int]) -> None:
    app = await cockpit([
        {"id": "flaky", "prompt": '[ -n "$COCKPIT_MESSAGE" ] || { echo "no hint"; exit 1; }; echo "fixed: $COCKPIT_MESSAGE"'},
        {"id": "other", "prompt": "true"},
    ])
    async with app.run_test(size=size) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["flaky"]
        await until(pilot, lambda: screen.states["flaky"] is S.FAILED, "flaky failed")
        pane.focus()
        await pilot.press("m")  # in the grid: the pane's own line opens
        line = pane.message_line
        assert screen.focused is line and pane.has_class("-talking")
        assert line.placeholder == "Enter retries flaky (failed) with your message as feedback, Escape leaves"
        await pilot.press(*"read the env", "enter")
        await wait_intervention(app, "retry", 1)
        await until(pilot, lambda: screen.states["flaky"] is S.SUCCEEDED, "flaky fixed")
        await until(pilot, lambda: "fixed: read the env" in pane.log_widget.written, "the message reached it")
        assert "│ retried with your message: read the env" in pane.log_widget.written
        assert screen.focused is pane and not pane.has_class("-talking")  # in the grid, back to the pane
        rows = await app.live.store.interventions(app.live.row.id)
        assert rows[-1].text == "retried task flaky with the message: read the env"


async def test_escape_keeps_what_was_typed_and_keys_do_not_act_in_the_line(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": "long", "prompt": "echo started; read a; echo \"got $a\""}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["long"]
        await until(pilot, lambda: "started" in pane.log_widget.written, "running")
        pane.focus()
        await pilot.press("m", *"cancel everything", "escape")
        assert screen.states["long"] is S.RUNNING and await intervention_types(app) == []
        assert screen.focused is pane and pane.has_class("-talking")  # the text stays on show
        assert pane.message_line.value == "cancel everything"
        await pilot.press("m", "enter")
        await until(pilot, lambda: "got cancel everything" in pane.log_widget.written, "sent as typed")
        assert isinstance(pane.message_line, MessageLine) and pane.message_line.history == ["cancel everything"]


async def test_the_enlarged_panes_line_says_why_no_message_can_go(cockpit) -> None:
    app = await cockpit([{"id": "done", "prompt": "echo finished"}])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["done"] is S.SUCCEEDED, "done")
        screen.panes["done"].focus()
        await pilot.press("z")
        line = screen.panes["done"].message_line
        assert line.display and line.placeholder == (
            "done succeeded and its conversation cannot go on: its agent (profile 'shell') runs a script once: "
            "there is no conversation to continue; review its work (v); what remains needs a task of its own")
