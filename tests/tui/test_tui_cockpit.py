"""The cockpit driven through Textual's Pilot, on real sessions: real temporary git repositories,
a real store, shell tasks that wait on files or read their stdin so the test decides when they go on.
"""
from __future__ import annotations

import asyncio
import sqlite3
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label

from engine.states import TaskState
from sessions.store.store import Store
from tests.helpers.events import EVENT_TIMEOUT, make_engine, plan_of, wait_for_file
from tui.app import CockpitApp
from tui.bindings import APP_BINDINGS, COCKPIT_BINDINGS
from tui.screens.cockpit import CockpitScreen
from tui.screens.help import HelpScreen
from tui.screens.log_view import LogViewScreen
from tui.screens.start import StartScreen
from sessions.launcher import SessionLauncher
from tests.helpers.paths import ROOT
from tests.helpers.session_runs import ENGINE_OPTIONS, plan_toml
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, gates, intervention_types, wait_intervention  # noqa: F401  (fixtures)
from tests.helpers.tui_pilot import Notices, until

S = TaskState


# --------------------------------------------------------------------------------------- tests
async def test_panes_stream_lines_and_follow_states(cockpit, gates: Path) -> None:
    app = await cockpit([
        {"id": "alpha", "title": "First task", "prompt":
            f"echo alpha-out-1\necho alpha-err-1 >&2\n{wait_for_file(gates / 'alpha')}\necho alpha-out-2"},
        {"id": "beta", "prompt": "echo beta-out-1\nexit 3"},
        {"id": "gamma", "depends_on": ["alpha"], "prompt": "echo gamma-out-1"},
    ])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        assert set(screen.panes) == {"alpha", "beta", "gamma"}
        alpha, beta = screen.panes["alpha"], screen.panes["beta"]
        assert "alpha" in str(alpha.border_title) and "First task" in str(alpha.border_title)

        await until(pilot, lambda: "alpha-out-1" in alpha.log_widget.lines, "alpha's first line in its pane")
        await until(pilot, lambda: "! alpha-err-1" in alpha.log_widget.lines, "stderr shown with its prefix")
        assert not any("worktree" in line for line in alpha.log_widget.lines)  # it is in the task info (i)
        await until(pilot, lambda: "failed" in str(screen.table.get_cell("beta", "state")), "beta failed")
        assert screen.states["beta"] is S.FAILED
        assert "beta-out-1" in beta.log_widget.lines
        assert beta.has_class("-failed") and str(beta.query_one(".pane-state").render()) == "failed"
        assert str(screen.table.get_cell("alpha", "state")).endswith("running")
        assert screen.table.get_cell("gamma", "deps") == "alpha"

        (gates / "alpha").touch()
        await until(pilot, lambda: str(screen.table.get_cell("gamma", "state")).endswith("succeeded"),
                    "gamma succeeded")
        await until(pilot, lambda: "gamma-out-1" in screen.panes["gamma"].log_widget.lines, "gamma's line")
        assert "alpha-out-2" in alpha.log_widget.lines
        assert str(screen.table.get_cell("alpha", "state")).endswith("succeeded")
        assert screen.table.get_cell("alpha", "attempts") == "1"
        assert screen.progress.total == 3
        await until(pilot, lambda: screen.progress.progress == 3, "the progress bar at the total")
        assert "3/3 settled" in str(screen.query_one("#run-status").render())


async def test_every_intervention_key_is_recorded(cockpit, gates: Path) -> None:
    app = await cockpit([
        {"id": "worker", "prompt": f"echo started\n{wait_for_file(gates / 'worker')}"},
        {"id": "reader", "prompt": f"read line\necho \"got $line\"\n{wait_for_file(gates / 'reader')}"},
    ])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        engine = screen.engine
        await until(pilot, lambda: all(r.state is S.RUNNING for r in engine.tasks.values()), "both running")
        assert screen.current_task() == "worker"

        await pilot.press("p")
        await wait_intervention(app, "pause", 1)
        await until(pilot, lambda: "paused" in str(screen.table.get_cell("worker", "state")), "paused in the table")
        assert screen.panes["worker"].has_class("-paused")
        await pilot.press("p")
        await wait_intervention(app, "resume", 1)
        await until(pilot, lambda: screen.states["worker"] is S.RUNNING, "running again")

        await pilot.press("P")
        await wait_intervention(app, "pause", 2)
        assert engine.run_paused
        await pilot.press("P")
        await wait_intervention(app, "resume", 2)
        assert not engine.run_paused

        await pilot.press("right")  # the reader's pane
        assert screen.current_task() == "reader"
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"hello agent", "enter")
        await wait_intervention(app, "message", 1)
        reader_log = screen.panes["reader"].log_widget
        await until(pilot, lambda: "got hello agent" in reader_log.lines, "the agent got the message")

        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"checked by hand", "enter")
        await wait_intervention(app, "note", 1)

        await pilot.press("left")
        await pilot.press("c")  # the agent runs: asked first
        await pilot.pause()
        await pilot.press("y")
        await wait_intervention(app, "cancel", 1)
        await until(pilot, lambda: screen.states["worker"] is S.CANCELLED, "worker cancelled")
        await pilot.press("r")
        await wait_intervention(app, "retry", 1)
        await until(pilot, lambda: engine.tasks["worker"].state is S.RUNNING, "worker running again")

        await pilot.press("C")
        await pilot.pause()
        await pilot.press("y")
        await wait_intervention(app, "cancel", 2)
        await until(pilot, lambda: all(s.terminal for s in screen.states.values()), "everything cancelled")

        live = app.live
        assert live is not None
        rows = await live.store.interventions(live.row.id)
        assert [(r.task_key, r.type) for r in rows] == [
            ("worker", "pause"), ("worker", "resume"), (None, "pause"), (None, "resume"),
            ("reader", "message"), ("reader", "note"), ("worker", "cancel"), ("worker", "retry"),
            (None, "cancel"),
        ]
        assert rows[4].text == "hello agent" and rows[5].text == "checked by hand"
        panel = screen.interventions
        await until(pilot, lambda: panel.row_count == len(rows), "the panel lists every intervention")
        assert notices.find("worker is paused")


async def test_a_refused_command_is_a_notice(cockpit, repo_factory, gates: Path) -> None:
    repo = repo_factory("mute-repo", {
        "README.md": "hi\n",
        "cockpit.toml": '[agents.mute]\nkind = "shell"\nfollow_up = "none"\n',
    })
    app = await cockpit([{"id": "quiet", "agent": "mute", "prompt": wait_for_file(gates / "quiet")},
                         {"id": "done", "prompt": "true"}], repo)
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["quiet"].state is S.RUNNING, "quiet running")
        await pilot.press("m")  # said at once, before anything is typed; no line opens to type into
        await until(pilot, lambda: notices.find("(profile mute) takes no message while it runs"), "the refusal")
        assert not screen.panes["quiet"].has_class("-talking") and screen.focused is screen.panes["quiet"]
        await until(pilot, lambda: screen.states["done"] is S.SUCCEEDED, "done")
        await pilot.press("right", "p")  # pausing a task that has ended
        await until(pilot, lambda: notices.find("nothing to pause"), "the refusal to pause")
        assert "message" not in await intervention_types(app)
        assert "pause" not in await intervention_types(app)


async def test_log_view_reads_the_whole_log_and_searches_it(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": "chatty", "prompt":
                          f"for i in $(seq 1 3000); do echo \"line number $i\"; done\n"
                          f"{wait_for_file(gates / 'chatty')}"}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["chatty"]
        await until(pilot, lambda: "line number 3000" in pane.log_widget.lines, "the last line in the pane")
        assert len(pane.log_widget.lines) <= pane.max_lines  # the pane holds the tail only
        assert "line number 1" not in pane.log_widget.lines

        live = app.live
        assert live is not None

        async def stored() -> int:
            task = next(t for t in await live.store.tasks(live.row.id) if t.key == "chatty")
            return len(await live.store.log_lines(task.id, 0, 10_000))

        for _ in range(int(EVENT_TIMEOUT / 0.05)):
            if await stored() >= 3001:
                break
            await pilot.pause(0.05)
        await pilot.press("l")
        view = await until(pilot, lambda: isinstance(app.screen, LogViewScreen) and app.screen.page and app.screen,
                           "the log view with its first page")
        assert view.page[1].text == "line number 1"  # (after the engine's worktree line)
        await pilot.press("slash", *"number 2500", "enter")
        await until(pilot, lambda: view.hits, "the search hits")
        assert [h.text for h in view.hits] == ["line number 2500"]
        await until(pilot, lambda: view.cursor_line is not None and view.cursor_line.text == "line number 2500",
                    "the cursor on the hit")
        await pilot.press("g")
        await until(pilot, lambda: view.page[1].text == "line number 1", "back at the first page")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        (gates / "chatty").touch()


async def test_enlarge_help_and_command_palette(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": f"t{i}", "prompt": wait_for_file(gates / "all")} for i in range(5)], max_parallel=5)
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await pilot.pause()
        assert screen.grid.columns == 3  # 120 columns: three panes a row
        await pilot.press("right", "right", "down")  # 3 + 2: the pane under the third is the fifth
        assert screen.current_task() == "t4"
        await pilot.press("z")
        assert screen.maximized is screen.panes["t4"]
        assert screen.grid.is_pane_visible(screen.panes["t4"])
        assert not screen.grid.is_pane_visible(screen.panes["t0"])
        await pilot.press("z")
        assert screen.maximized is None

        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        shown = {row.binding_id: row for row in help_screen.rows}
        for binding in COCKPIT_BINDINGS + APP_BINDINGS:
            assert binding.id in shown, binding.id
            assert shown[binding.id].name == binding.description
        assert shown["cockpit.help"].keys == "?"
        assert shown["cockpit.pause_run"].keys == "P"
        table = help_screen.query_one("#help-table")
        assert table.row_count == len(COCKPIT_BINDINGS + APP_BINDINGS)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen

        from tui.commands import CockpitCommands

        provider = CockpitCommands(screen)
        names = [hit.text async for hit in provider.discover()]
        for binding in COCKPIT_BINDINGS:
            assert any(name.startswith(binding.description) for name in names), binding.description
        (gates / "all").touch()


async def test_hidden_panes_buffer_only_their_tail(cockpit, gates: Path) -> None:
    app = await cockpit([
        {"id": "a", "prompt": wait_for_file(gates / "a")},
        {"id": "b", "prompt": f"{wait_for_file(gates / 'b')}\nfor i in $(seq 1 2500); do echo \"b $i\"; done\n"
                              f"{wait_for_file(gates / 'b2')}"},
    ])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["b"].state is S.RUNNING, "b running")
        await pilot.press("z")  # a fills the screen: b is hidden
        pane_b = screen.panes["b"]
        written_before, taken_before = list(pane_b.log_widget.lines), pane_b.lines_taken
        (gates / "b").touch()
        await until(pilot, lambda: pane_b.lines_taken >= 2500 + taken_before, "b's lines taken in")
        await pilot.pause(0.3)
        assert list(pane_b.log_widget.lines) == written_before  # nothing drawn while hidden
        assert pane_b.has_pending
        await pilot.press("z")
        await until(pilot, lambda: "b 2500" in pane_b.log_widget.lines, "b's tail drawn once visible")
        assert pane_b.log_widget.lines[0] == "b 1501"  # a contiguous tail of max_lines lines
        assert len(pane_b.log_widget.lines) == pane_b.max_lines
        await pilot.pause()
        log = pane_b.log_widget
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y  # it follows the tail
        (gates / "a").touch()
        (gates / "b2").touch()


async def test_long_lines_wrap_to_the_pane_and_again_when_it_is_enlarged(cockpit, gates: Path) -> None:
    words = " ".join(f"word{i:03d}" for i in range(40))  # 319 characters
    app = await cockpit([{"id": "wordy", "prompt": f"echo short\necho '{words}'\n{wait_for_file(gates / 'end')}"},
                         {"id": "other", "prompt": wait_for_file(gates / "end")}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["wordy"]
        log = pane.log_widget
        def rows() -> list[str]:
            lines = list(log.lines)
            return lines[lines.index("short") + 1:] if "short" in lines else []

        def joined() -> str:
            found = rows()
            return found[0] + "".join(row.removeprefix("  ") for row in found[1:]) if found else ""

        await until(pilot, lambda: joined() == words, "the long line drawn")

        narrow = log.scrollable_content_region.width
        assert 8 <= narrow < 100
        assert len(rows()) > 3 and all(len(row) <= narrow for row in rows())
        assert joined() == words  # nothing lost

        await pilot.press("z")  # the pane fills the screen: the same line, wrapped to the new width
        await until(pilot, lambda: log.scrollable_content_region.width > 100, "the pane enlarged")
        wide = log.scrollable_content_region.width
        await until(pilot, lambda: len(rows()) == -(-(len(words) - wide) // (wide - 2)) + 1, "rewrapped")
        assert all(len(row) <= wide for row in rows()) and "short" in log.lines
        assert joined() == words

        await pilot.press("z")  # and back
        await until(pilot, lambda: log.scrollable_content_region.width == narrow, "the pane restored")
        await until(pilot, lambda: all(len(row) <= narrow for row in rows()), "wrapped narrow again")
        (gates / "end").touch()


async def test_pane_counts_every_token_as_budgets_do(cockpit, fake_agents_on_path: Path) -> None:
    # the fake claude reports in=130 out=42 cache_write=50 cache_read=160 and $0.0123
    app = await cockpit([{"id": "priced", "agent": "claude-cli", "prompt": "write notes.txt: hello"}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        usage = screen.panes["priced"].query_one(".pane-usage", Label)
        await until(pilot, lambda: str(usage.render()) == "382 tok · $0.01", "the pane's usage")


async def test_notes_of_the_launch_come_as_one_notice(cockpit, repo: Path, runner) -> None:
    plan = plan_of(*({"id": f"old{i}", "prompt": "true"} for i in range(5)))
    await runner.run(make_engine(plan, repo, run_id="old-run"))  # five worktrees left from an earlier run
    app = await cockpit([{"id": "new", "prompt": "true"}])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        await until(pilot, lambda: notices.find("Note: "), "the note")
        (note,) = [text for text in notices.texts if text.startswith("Note: ")]
        assert note.removeprefix("Note: ").splitlines() == [
            "5 worktrees of earlier runs still here: cockpit clean lists them and removes those of decided tasks"]


async def test_end_session_ends_and_exits(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": "long", "prompt": wait_for_file(gates / "never")}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["long"].state is S.RUNNING, "long running")
        await pilot.press("q")
        await pilot.pause()
        assert "still running" in str(app.screen.query_one(".dialog-detail").render())
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and not screen.ending
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("y")
        await until(pilot, lambda: app.ended, "the session ended")
    row = app.ended[0]
    assert row.status == "abandoned" and row.ended_at is not None
    live = app.live
    assert live is not None and not live.session.lock.held
    assert live.engine.tasks["long"].state is S.CANCELLED


async def test_ending_names_the_work_not_reviewed_yet(cockpit, gates: Path) -> None:
    app = await cockpit([
        {"id": "kept", "prompt": "echo kept > kept.txt"},
        {"id": "left", "prompt": "echo left > left.txt"},
        {"id": "nothing", "prompt": "echo no files"},
    ])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: all(r.state is S.SUCCEEDED for r in screen.engine.tasks.values()), "all ended")
        await pilot.pause()
        await app.live.accept("kept")  # as the review screen does, then tells the panes
        screen.panes["kept"].set_decision("accepted")
        await pilot.press("e")
        await pilot.pause()
        detail = str(app.screen.query_one(".dialog-detail").render())
        assert detail == "Every task has ended. Not reviewed yet: left (v reviews a task now; later, cockpit review does)."
        await pilot.press("n")


async def test_leaving_the_app_ends_the_session(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": "long", "prompt": wait_for_file(gates / "never")}])
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["long"].state is S.RUNNING, "long running")
    live = app.live
    assert live is not None and not live.session.lock.held  # ended by the app on its way out
    row = await live.store.get_session(live.row.id)
    assert row is not None and row.status == "abandoned"


async def test_start_screen_starts_a_session(store: Store, repo: Path, tmp_path: Path) -> None:
    launcher = SessionLauncher(store, repo, note=lambda text: None, **ENGINE_OPTIONS)
    app = CockpitApp(launcher)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, StartScreen)
        await pilot.click("#start")
        await pilot.pause()
        assert "objective" in str(app.screen.query_one("#start-error").render())
        await pilot.press(*"Try the start screen", "enter")
        await pilot.press(*"missing.toml", "enter")
        await until(pilot, lambda: "missing.toml" in str(app.screen.query_one("#start-error").render()),
                    "the plan error")
        app.screen.query_one("#plan-path").value = ""
        app.screen.query_one("#plan-text").text = plan_toml([{"id": "hello", "agent": "shell",
                                                                "prompt": "echo hello from the plan"}])
        await pilot.press("ctrl+s")
        screen = await until(pilot, lambda: isinstance(app.screen, CockpitScreen) and app.screen, "the cockpit")
        await until(pilot, lambda: "hello from the plan" in screen.panes["hello"].log_widget.lines, "the line")
        assert screen.live.row.objective == "Try the start screen"
    kept = list((Path(os.environ["XDG_DATA_HOME"]) / "cockpit" / "plans").glob("plan-*.toml"))
    assert len(kept) == 1 and "hello from the plan" in kept[0].read_text()


async def test_panes_scrolled_out_of_view_wait_for_it(cockpit, gates: Path) -> None:
    tasks = [{"id": f"t{i}", "prompt": wait_for_file(gates / "go") + f"\necho 'line of t{i}'\n"
              + wait_for_file(gates / "end")} for i in range(10)]
    app = await cockpit(tasks, max_parallel=10)
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.grid.columns == 3, "the grid's shape")
        last = screen.panes["t9"]
        await until(pilot, lambda: screen.engine.tasks["t9"].state is S.RUNNING, "t9 running")
        assert not screen.grid.is_pane_visible(last)  # 4 rows of panes, 3 fit: the last row is below
        before = list(last.log_widget.lines)
        (gates / "go").touch()
        await until(pilot, lambda: "line of t0" in screen.panes["t0"].log_widget.lines, "t0's line drawn")
        await until(pilot, lambda: last.lines_taken > len(before), "t9's line taken in")
        await pilot.pause(0.3)
        assert list(last.log_widget.lines) == before and last.has_pending
        last.focus()  # focusing a pane scrolls it into view
        await until(pilot, lambda: "line of t9" in last.log_widget.lines, "t9's line drawn once visible")
        assert screen.grid.is_pane_visible(last)
        (gates / "end").touch()


async def test_review_opens_for_an_ended_task_only(cockpit, gates: Path) -> None:
    app = await cockpit([{"id": "done", "prompt": "echo work > work.txt"},
                         {"id": "busy", "prompt": wait_for_file(gates / "busy")}])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.states["done"] is S.SUCCEEDED, "done")
        await until(pilot, lambda: screen.engine.tasks["busy"].state is S.RUNNING, "busy running")
        await pilot.press("right", "v")
        await until(pilot, lambda: notices.find("review it once it has ended"), "the notice")
        assert app.screen is screen
        await pilot.press("left", "v")
        from tui.screens.review import ReviewScreen

        await until(pilot, lambda: isinstance(app.screen, ReviewScreen), "the review screen")
        assert app.screen.task_id == "done"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back in the cockpit")
        (gates / "busy").touch()


async def test_keymap_and_command_palette(cockpit, gates: Path, isolated_dirs: Path) -> None:
    from tui.bindings import keymap_path, load_keymap

    path = keymap_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('"cockpit.pause_task" = "x"\n"review.accept" = "A"\n')
    keymap = load_keymap()
    assert keymap == {"cockpit.pause_task": "x", "review.accept": "A"}
    path.write_text('"cockpit.no_such_thing" = "x"\n')
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown binding id 'cockpit.no_such_thing'"):
        load_keymap()
    # the README's old example: Ctrl+P would still open the palette and pause would have no key
    path.write_text('"cockpit.pause_task" = "ctrl+p"\n')
    with pytest.raises(ConfigError, match=r"cockpit.pause_task = 'ctrl\+p': ctrl\+p opens the command palette"):
        load_keymap()
    path.write_text('"cockpit.pause_task" = "c"\n')  # cancel's key on the same screen
    with pytest.raises(ConfigError, match="c is already the key of cockpit.cancel_task on the same screen"):
        load_keymap()
    path.write_text('"cockpit.pause_task" = "c"\n"cockpit.cancel_task" = "x"\n')  # a swap is fine
    assert load_keymap() == {"cockpit.pause_task": "c", "cockpit.cancel_task": "x"}

    app = await cockpit([{"id": "worker", "prompt": wait_for_file(gates / "worker")}])
    app.keymap = keymap
    async with app.run_test(size=SIZE) as pilot:
        screen = cockpit_of(app)
        await until(pilot, lambda: screen.engine.tasks["worker"].state is S.RUNNING, "worker running")
        await pilot.press("x")  # the remapped pause key
        await wait_intervention(app, "pause", 1)
        await pilot.press("question_mark")
        await pilot.pause()
        rows = {row.binding_id: row for row in app.screen.rows}
        assert rows["cockpit.pause_task"].keys == "x"
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"Pause run")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: screen.engine.run_paused, "the run paused from the palette")
        await wait_intervention(app, "pause", 2)
        (gates / "worker").touch()


def test_cockpit_outside_a_repository_is_one_line(tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    done = subprocess.run([sys.executable, "-m", "tui.cli"], cwd=outside, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "not inside a git repository" in done.stderr


def test_cli_imports_no_textual() -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tui.cli.main"], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0
    assert "textual" not in done.stderr


async def test_a_full_disk_is_a_notice_at_once_and_another_when_space_returns(
    cockpit, gates: Path, monkeypatch
) -> None:
    """SQLite's own 'database or disk is full' (the store may grow by a few pages only) while a task
    writes: the cockpit says so at once, the run goes on, and it says so again once it can write."""
    from sessions.store.event_writer import EventWriter

    opened = EventWriter._open
    writers: list[EventWriter] = []

    def small_disk(self: EventWriter) -> None:
        opened(self)
        pages = self._db().execute("PRAGMA page_count").fetchone()[0]
        self._db().execute(f"PRAGMA max_page_count = {pages + 4}")
        writers.append(self)

    monkeypatch.setattr(EventWriter, "_open", small_disk)
    app = await cockpit([{"id": "chatty", "prompt":
                          "for i in $(seq 1 4000); do echo \"a line long enough to fill pages $i\"; done\n"
                          f"{wait_for_file(gates / 'chatty')}; echo after"}])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        await until(pilot, lambda: notices.find("Recording stopped"), "the notice of the full disk")
        assert "full" in (notices.find("Recording stopped") or "")
        (writer,) = writers
        await writer._call(lambda: writer._db().execute("PRAGMA max_page_count = 1073741823"))
        (gates / "chatty").touch()
        await until(pilot, lambda: notices.find("Recording resumed"), "the notice that it writes again")
        pane = cockpit_of(app).panes["chatty"]
        await until(pilot, lambda: "after" in pane.log_widget.lines, "the run going on")


async def test_an_intervention_the_store_cannot_record_is_a_notice_not_a_crash(cockpit, gates: Path,
                                                                                monkeypatch) -> None:
    app = await cockpit([{"id": "worker", "prompt": f"echo started\n{wait_for_file(gates / 'worker')}"}])
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        engine = screen.engine
        await until(pilot, lambda: engine.tasks["worker"].state is S.RUNNING, "running")

        async def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(screen.live.store, "add_intervention", full)
        await pilot.press("p")
        await until(pilot, lambda: notices.find("could not be recorded: database or disk is full"), "the notice")
        assert engine.tasks["worker"].state is S.PAUSED and app.is_running  # the pause took; the app goes on
        monkeypatch.undo()
        await pilot.press("p")
        await until(pilot, lambda: engine.tasks["worker"].state is S.RUNNING, "resumed")
        (gates / "worker").touch()
