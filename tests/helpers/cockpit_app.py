"""The cockpit app on a real recorded session, for Pilot tests: the ``cockpit`` and ``gates`` fixtures
(import them into a test module to use them) and ways to find its screen and wait on what it records."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sessions.launcher import SessionLauncher
from sessions.store.store import Store
from tests.helpers.events import EVENT_TIMEOUT
from tests.helpers.session_runs import ENGINE_OPTIONS, plan_toml
from tui.app import CockpitApp
from tui.screens.cockpit import CockpitScreen

SIZE = (120, 40)


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture
def gates(tmp_path: Path) -> Path:
    folder = tmp_path / "gates"
    folder.mkdir()
    return folder


@pytest.fixture
def cockpit(store: Store, repo: Path, tmp_path: Path):
    """``await cockpit(tasks)`` -> a CockpitApp on a new recorded session of ``tasks`` (not run yet)."""

    async def make(tasks: list[dict[str, Any]], repo_path: Path | None = None,
                   max_parallel: int | None = None) -> CockpitApp:
        plan = tmp_path / "plan.toml"
        plan.write_text(plan_toml(tasks))
        launcher = SessionLauncher(store, repo_path or repo, max_parallel, note=lambda text: None,
                                   **ENGINE_OPTIONS)
        live = await launcher.launch("Test the cockpit", plan)
        return CockpitApp(launcher, live=live)

    return make


def cockpit_of(app: CockpitApp) -> CockpitScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, CockpitScreen))
    return screen


async def intervention_types(app: CockpitApp) -> list[str]:
    live = app.live
    assert live is not None
    return [i.type for i in await live.store.interventions(live.row.id)]


async def wait_intervention(app: CockpitApp, kind: str, count: int) -> None:
    """Until ``count`` interventions of ``kind`` are recorded."""
    for _ in range(int(EVENT_TIMEOUT / 0.02)):
        if (await intervention_types(app)).count(kind) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} intervention recorded: {await intervention_types(app)}")
