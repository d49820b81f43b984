"""Roles and circuit breakers in the cockpit: a task's effective prompt and facts (i), and resetting a breaker (b)."""
from __future__ import annotations

from pathlib import Path

from engine.states import TaskState
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, gates, wait_intervention  # noqa: F401  (fixtures)
from tests.helpers.tui_pilot import until
from tui.screens.task_info import TaskInfoScreen

S = TaskState


async def test_task_info_shows_the_effective_prompt_with_its_role(cockpit) -> None:
    app = await cockpit([{"id": "t", "role": "tester", "prompt": "echo testing", "check": "true"}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["t"].state is S.SUCCEEDED, "t to succeed")
        await until(pilot, lambda: "t" in screen.checks, "the check result")
        await pilot.press("i")
        info = await until(pilot, lambda: isinstance(app.screen, TaskInfoScreen) and app.screen, "task info")
        facts = dict(info.facts)
        assert facts["Role"] == "tester" and facts["Check"] == "true"
        assert facts["Last check"].startswith("passed")
        prompt = info.query_one("#task-info-prompt").text
        assert "echo testing" in prompt and prompt != "echo testing"  # the role's text came with it
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TaskInfoScreen), "back to the cockpit")


async def test_reset_breaker_key_records_the_intervention(cockpit, repo: Path) -> None:
    (repo / "cockpit.toml").write_text(
        '[agents.ghost]\nargv = ["no-such-agent-program-xyz", "{prompt}"]\n'
        'breaker_threshold = 1\nbreaker_cooldown = "1h"\n'
    )
    app = await cockpit([
        {"id": "first", "agent": "ghost", "prompt": "anything"},
        {"id": "second", "agent": "ghost", "prompt": "anything", "depends_on": []},
    ], max_parallel=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        engine = screen.engine
        await until(pilot, lambda: engine.open_breakers == ["ghost"], "the breaker to open")
        await pilot.press("b")
        await wait_intervention(app, "reset_breaker", 1)
        # the held task started once the breaker closed (and failed the same way, reopening it)
        await until(pilot, lambda: engine.tasks["second"].state.terminal, "the held task to run")
