"""One event object goes to every subscriber, and events are not frozen (see ``engine/events.py``): so
no consumer may write to one. The real consumers (the store's event writer and the headless printer of
``cockpit run``; the cockpit's screen) run here on plans that make every common kind of event, and
each event must still equal the deep copy taken as it was published."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.helpers.events import wait_for_file
from engine.events import EventBus
from engine.states import TaskState
from sessions.store.store import Store
from tests.helpers.session_runs import ENGINE_OPTIONS, write_plan
from tui.app import CockpitApp
from sessions.launch import prepare
from tui.cli.run import run_recorded
from tui.screens.cockpit import CockpitScreen
from sessions.launcher import SessionLauncher
from tests.helpers.tui_pilot import until


class PublishWitness:
    """Keeps a deep copy of every event the bus publishes, to compare with the event later."""

    def __init__(self, bus: EventBus) -> None:
        self.copies: list[tuple[Any, Any]] = []
        publish = bus.publish

        def witnessed(event: Any) -> None:
            self.copies.append((event, copy.deepcopy(event)))
            publish(event)

        bus.publish = witnessed  # type: ignore[method-assign]

    def kinds(self) -> set[str]:
        return {type(event).__name__ for event, _ in self.copies}

    def changed(self) -> list[str]:
        return [f"{type(event).__name__}: published {was!r}, now {event!r}"
                for event, was in self.copies if event != was]


def every_kind_of_task(tmp_path: Path) -> list[dict[str, Any]]:
    """Log lines on both streams, a file changed, a check, a retry, a failure and a skipped dependent,
    and an agent that reports usage (the fake ``claude``)."""
    once = tmp_path / "failed-once"
    return [
        {"id": "write", "prompt": "echo out-1\necho err-1 >&2\necho data > out.txt", "check": "test -f out.txt"},
        {"id": "flaky", "retries": 1, "prompt": f'if [ ! -e "{once}" ]; then touch "{once}"; exit 3; fi\necho ok'},
        {"id": "broken", "prompt": "exit 4"},
        {"id": "after", "depends_on": ["broken"], "prompt": "echo never"},
        {"id": "priced", "agent": "claude-cli", "prompt": "write notes.txt: hello"},
    ]


async def test_store_writer_and_headless_printer_leave_events_as_published(
    repo: Path, tmp_path: Path, fake_agents_on_path: Path, capsys
) -> None:
    plan = write_plan(tmp_path / "plans", every_kind_of_task(tmp_path))
    engine = prepare(plan, str(repo), None, lambda text: None, **ENGINE_OPTIONS)
    witness = PublishWitness(engine.bus)

    code = await run_recorded(engine, plan, str(tmp_path / "cockpit.db"), "Check the events", logs=True)

    assert code == 1  # "broken" failed, "after" was skipped
    assert "write" in capsys.readouterr().out  # the printer did print the run
    assert {"RunStarted", "TaskStateChanged", "LogLines", "CheckFinished", "TaskResult", "UsageUpdate",
            "RunFinished"} <= witness.kinds()
    assert len(witness.copies) > 30
    assert witness.changed() == []


async def test_the_cockpit_leaves_events_as_published(store: Store, repo: Path, tmp_path: Path,
                                                      fake_agents_on_path: Path) -> None:
    gate = tmp_path / "gate"
    tasks = every_kind_of_task(tmp_path)
    tasks[0]["prompt"] = f"{wait_for_file(gate)}\n{tasks[0]['prompt']}"  # held until the panes are up
    plan = write_plan(tmp_path / "plans", tasks)
    launcher = SessionLauncher(store, repo, None, note=lambda text: None, **ENGINE_OPTIONS)
    live = await launcher.launch("Check the events", plan)
    witness = PublishWitness(live.engine.bus)
    app = CockpitApp(launcher, live=live)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = next(s for s in app.screen_stack if isinstance(s, CockpitScreen))
        await until(pilot, lambda: "write" in screen.panes, "the panes")
        gate.touch()
        await until(pilot, lambda: all(run.state in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.SKIPPED)
                                       for run in live.engine.tasks.values()), "every task settled")
        await until(pilot, lambda: screen.progress.progress == 5, "the cockpit caught up")
        await pilot.pause()
    await launcher.close()

    assert {"TaskStateChanged", "LogLines", "CheckFinished", "TaskResult", "UsageUpdate"} <= witness.kinds()
    assert witness.changed() == []
