"""``m`` on a task that has ended: the real Claude Code (on the stand-in Messages API) goes on with the same
session in the task's worktree; the pane and the task list show it running again, the message is an
intervention, the review shows the new diff and how to continue the session by hand. A task whose agent
has no conversation to continue says why at once."""
from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from engine.formatting import state_cell
from engine.states import TaskState
from engine.worktrees import default_worktree_root
from tests.helpers.anthropic_stub import text, tool_use
from tests.helpers.claude_code import MODEL, claude_stub, sent_text
from tests.helpers.cockpit_app import SIZE, cockpit, cockpit_of, intervention_types, wait_intervention
from tests.helpers.events import eventually
from tests.helpers.session_runs import start_live, write_plan
from tests.helpers.tui_pilot import Notices, until
from tui.history_app import HistoryApp
from tui.screens.history import HistoryScreen
from tui.screens.review import ReviewScreen
from tui.screens.session_detail import SessionDetailScreen

__all__ = ["claude_stub", "cockpit"]  # fixtures, used by name
S = TaskState


async def test_m_on_a_succeeded_claude_task_continues_its_session_and_the_review_shows_the_new_diff(
        cockpit, claude_stub, repo: Path) -> None:
    (repo / "cockpit.toml").write_text(f'[agents.claude]\nmodel = "{MODEL}"\n')
    app = await cockpit([{"id": "code", "agent": "claude", "prompt": "write a.txt"},
                         {"id": "notes", "prompt": "echo notes > notes.txt"}])
    wt = default_worktree_root(repo) / app.live.engine.run_id / "code"
    held = tool_use("Write", file_path=str(wt / "b.txt"), content="empty case\n").held()
    claude_stub.add(tool_use("Write", file_path=str(wt / "a.txt"), content="one\n"), text("wrote a.txt"),
                    held, text("handled the empty case"))
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        screen = cockpit_of(app)
        pane = screen.panes["code"]
        await until(pilot, lambda: screen.states["code"] is S.SUCCEEDED and screen.states["notes"] is S.SUCCEEDED,
                    "both tasks done")
        screen.panes["notes"].focus()
        await pilot.press("m")  # a shell task has no conversation: said at once, nothing to type into
        await until(pilot, lambda: notices.find("notes succeeded and its conversation cannot go on: its agent "
                                                "(profile 'shell') runs a script once"), "why not")
        assert screen.focused is screen.panes["notes"]

        pane.focus()
        await pilot.press("m")
        line = pane.message_line
        assert screen.focused is line
        assert line.placeholder == ("Enter continues the conversation of code (succeeded) with your message, "
                                    "a new attempt in its worktree; Escape leaves")
        await pilot.press(*"also handle the empty case", "enter")
        await wait_intervention(app, "message", 1)
        # running again, in the pane and the task list, while the model answers
        await until(pilot, held.started.is_set, "the resumed request")
        await until(pilot, lambda: screen.table.get_cell("code", "state") == state_cell(S.RUNNING), "running again")
        assert screen.table.get_cell("code", "attempts") == "2"
        await until(pilot, lambda: pane.state is S.RUNNING and pane.attempts == 2, "the pane running again")
        assert "──── attempt 2 · your follow-up after: exit 0 ────" in pane.log_widget.written
        held.release()
        await until(pilot, lambda: screen.states["code"] is S.SUCCEEDED and screen.model.attempts["code"] == 2,
                    "the follow-up's attempt done")

        # the same Claude session: the stand-in got the earlier conversation, then the message
        resumed = claude_stub.bodies[2]
        assert "write a.txt" in sent_text(resumed) and "wrote a.txt" in sent_text(resumed)
        assert "also handle the empty case" in json.dumps(resumed["messages"][-1])
        rows = await app.live.store.interventions(app.live.row.id)
        assert [(r.type, r.task_key, r.text) for r in rows] == [("message", "code", "also handle the empty case")]

        # the review: both changes, and the command that continues the session by hand
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loaded, "the review")
        review = app.screen
        table = review.query_one("#review-files")
        assert sorted(str(table.get_row_at(i)[0]) for i in range(table.row_count)) == ["a.txt", "b.txt"]
        session = app.live.engine.tasks["code"].agent_session
        assert session is not None and session[1] == f"claude --resume {session[0]}"
        shown = str(review.query_one("#review-session", Static).render())
        assert shown == f"Continue by hand: claude --resume {session[0]}   (in {wt})"
        await pilot.press("escape")
        assert await intervention_types(app) == ["message"]


async def test_the_session_detail_shows_how_to_continue_each_claude_session_by_hand(
        store, claude_stub, repo: Path, tmp_path: Path) -> None:
    (repo / "cockpit.toml").write_text(f'[agents.claude]\nmodel = "{MODEL}"\n')
    claude_stub.add(text("nothing to change"))
    live = await start_live(store, repo, write_plan(tmp_path / "plans", [
        {"id": "look", "agent": "claude", "prompt": "look around"}, {"id": "sh", "prompt": "true"}]), "look")
    await live.start()
    await eventually(lambda: all(r.state is S.SUCCEEDED for r in live.engine.tasks.values()), what="both done")
    row = await live.end()
    session = live.engine.tasks["look"].agent_session
    assert session is not None
    wt = default_worktree_root(repo) / live.engine.run_id / "look"

    app = HistoryApp(str(store.path), str(repo))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded, "the history")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and app.screen.loaded, "the detail")
        shown = app.screen.query_one("#detail-resume", Static)
        assert shown.display and str(shown.render()) == f"look  claude --resume {session[0]}   (in {wt})"
    assert row.status == "complete"
