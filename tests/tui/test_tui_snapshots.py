"""SVG snapshots of the cockpit and its help screen at 120x40, and of the cockpit at 80x24.

Deterministic on purpose: a fixed run id and session date, a frozen elapsed-time clock, the
times of day in UTC, no worktrees (so no temporary path reaches the screen), and every task in a
settled state with fixed output (shell tasks, two of them speaking Claude's and Codex's JSON so
the panes show tokens and cost). Regenerate with ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from engine.states import TaskState
from sessions.git.facts import head_commit
from sessions.lifecycle import OpenSession
from sessions.live_session import LiveSession
from sessions.liveness import SessionLock
from sessions.store.store import Store
from tui.app import CockpitApp
from sessions.launch import prepare
from tui.screens.cockpit import CockpitScreen
from sessions.launcher import SessionLauncher

SIZE = (120, 40)
NOON = 1735725600.0  # 2025-01-01 10:00:00 UTC
ELAPSED = {"build": 83.0, "lint": 12.0, "test": 47.0, "docs": 5.0, "deploy": 0.0, "review": 31.0}

CONFIG = """
[agents.claude-script]
kind = "shell"
output = "claude-stream-json"

[agents.codex-script]
kind = "shell"
output = "codex-json"
"""


def _echo_json(*events: dict[str, Any]) -> str:
    return "\n".join(f"echo '{json.dumps(e)}'" for e in events)


def _plan(gate: Path) -> str:
    claude = _echo_json(
        {"type": "assistant", "message": {"id": "m1", "content": [
            {"type": "text", "text": "I will add the build script."}],
            "usage": {"input_tokens": 9000, "output_tokens": 1200}}},
        {"type": "result", "subtype": "success", "num_turns": 2, "result": "Build script added.",
         "total_cost_usd": 0.0421, "usage": {"input_tokens": 11000, "output_tokens": 1300}},
    )
    codex = _echo_json(
        {"type": "item.completed", "item": {"id": "i1", "type": "agent_message", "text": "No lint errors left."}},
        {"type": "turn.completed", "usage": {"input_tokens": 2000, "cached_input_tokens": 500,
                                             "output_tokens": 300}},
    )
    tasks = [
        ("build", "Add the build script", "claude-script", [], claude),
        ("lint", "Fix the lint warnings", "codex-script", [], codex),
        ("test", "Run the test suite", "shell", [],
         "echo 'collecting 12 tests'\necho 'test_parse ... ok'\necho 'test_render ... FAILED'\n"
         "echo 'AssertionError: 3 != 4' >&2\nexit 2"),
        ("docs", "Write the usage guide", "shell", [],
         "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \"drafting section $i\"; done\necho 'wrote docs/usage.md'"),
        ("deploy", "Deploy the preview", "shell", ["test"], "echo deploying"),
        ("review", "Review the API", "shell", [],
         f"echo 'reading the API module'\nwhile [ ! -e '{gate}' ]; do sleep 0.05; done"),
    ]
    out = []
    for tid, title, agent, deps, prompt in tasks:
        out += ["[[task]]", f'id = "{tid}"', f'title = "{title}"', f'agent = "{agent}"',
                f"depends_on = {json.dumps(deps)}", f"prompt = '''\n{prompt}\n'''", ""]
    return "\n".join(out)


class SnapshotLauncher(SessionLauncher):
    """Opens its store in the app's own event loop; fixed run id and session date; no worktrees."""

    def __init__(self, db: Path, repo: Path) -> None:
        super().__init__(None, repo, note=lambda text: None)  # type: ignore[arg-type]
        self.db = db

    async def launch(self, objective: str, plan_path: Path) -> LiveSession:
        self.store = await Store.open(self.db)
        engine = prepare(plan_path, self.repo, None, lambda text: None, run_id="snapshot-run",
                         use_worktrees=False, stop_grace=0.3)
        assert engine.repo is not None
        row = await self.store.create_session(engine.repo, objective, head_commit(engine.repo), date="2025-01-01")
        lock = SessionLock(self.store.path, row.id)
        lock.acquire()
        live = LiveSession(self.store, OpenSession(row, lock, engine.repo), engine, str(plan_path))
        self.sessions.append(live)
        return live

    async def close(self) -> list:
        rows = await super().close()
        await self.store.close()
        return rows


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def snapshot_app(repo_factory, tmp_path: Path, utc) -> CockpitApp:
    repo = repo_factory("snap", {"README.md": "snapshot\n", "cockpit.toml": CONFIG})
    gate = tmp_path / "never"
    plan = tmp_path / "plan.toml"
    plan.write_text(_plan(gate))
    launcher = SnapshotLauncher(tmp_path / "cockpit.db", repo)
    return CockpitApp(launcher, plan=plan, objective="Ship the preview build",
                      clock=lambda task_id: ELAPSED[task_id])


async def _poll(check, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
    return value


def taken(screen: CockpitScreen, task_id: str, text: str) -> bool:
    """Whether the pane has the line, drawn or waiting to be (a pane out of view draws nothing)."""
    pane = screen.panes[task_id]
    return any(text in line for line in (*pane.log_widget.written, *pane._pending))


async def settle(pilot) -> None:
    """Every task settled, every line on screen, fixed interventions, no toast left."""
    app = pilot.app
    screen: CockpitScreen = await _poll(
        lambda: next((s for s in app.screen_stack if isinstance(s, CockpitScreen)), None), "the cockpit")
    engine = screen.engine
    await _poll(lambda: taken(screen, "review", "reading the API module"), "review's line")
    engine.cancel("review")
    await _poll(lambda: all(s.terminal for s in screen.states.values()), "every task settled")
    await _poll(lambda: screen.states["review"] is TaskState.CANCELLED, "review cancelled")
    await _poll(lambda: taken(screen, "docs", "wrote docs/usage.md"), "docs' last line")
    await _poll(lambda: taken(screen, "test", "! AssertionError: 3 != 4"), "test's stderr")
    await _poll(lambda: taken(screen, "build", "done in 2 turns"), "build")
    await _poll(lambda: taken(screen, "lint", "No lint errors left."), "lint")
    live = screen.live
    await live.store.add_intervention(live.row.id, "review", "cancel", "cancelled task review", at=NOON)
    await live.store.add_intervention(live.row.id, "test", "note", "flaky render test, look later",
                                      at=NOON + 95)
    await screen.reload_interventions()
    screen.flush_panes()
    await pilot.pause()  # the notifications posted by that flush ("All tasks ended...") arrive first
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x40", "80x24"])
def test_cockpit_snapshot(snap_compare, snapshot_app: CockpitApp, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app, terminal_size=size, run_before=settle)


def test_help_snapshot(snap_compare, snapshot_app: CockpitApp) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=settle, press=["question_mark"])
