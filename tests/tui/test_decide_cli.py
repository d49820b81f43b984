"""Undecided work is never stranded: ``cockpit accept``, ``cockpit discard`` and ``cockpit review`` on
sessions recorded by real headless runs (``cockpit run --headless``) in real repositories."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.widgets import DataTable

from sessions.store.store import Store
from tests.helpers.cli import cli
from tests.helpers.repos import checkout_snapshot, git
from tests.helpers.session_runs import DEPENDANT_PLAN, plan_toml
from tests.helpers.tui_pilot import until
from tui.cli.decide import session_decisions
from tui.review_app import ReviewApp
from tui.screens.accept_question import AcceptQuestion
from tui.screens.review import ReviewScreen
from tui.screens.session_review import SessionReviewScreen



@pytest.fixture
def project(repo_factory) -> Path:
    return repo_factory("project", {"textstats.py": "x = 1\n"})


def headless_run(capsys: pytest.CaptureFixture[str], repo: Path, db: str, tasks=DEPENDANT_PLAN) -> str:
    """Run the plan headless in a new session; its label."""
    plan = repo.parent / f"plan-{len(list(repo.parent.glob('plan-*.toml')))}.toml"
    plan.write_text(plan_toml(tasks))
    code, out, err = cli(capsys, "run", str(plan), "--headless", "--repo", str(repo), "--db", db)
    assert code == 0, out + err
    keys = ", ".join(t["id"] for t in tasks)
    assert f"its work is not reviewed yet ({keys}): accept or discard it with: cockpit review 20" in out
    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    return json.loads(out)[0]["label"]


def decisions(capsys: pytest.CaptureFixture[str], repo: Path, db: str, label: str) -> dict[str, str | None]:
    code, out, _ = cli(capsys, "show", label, "--json", "--repo", str(repo), "--db", db)
    return {t["id"]: t["decision"] for t in json.loads(out)["tasks"]}


def test_accept_of_a_dependant_needs_a_choice_named_in_one_line(
        project: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    label = headless_run(capsys, project, db)
    common = ("--repo", str(project), "--db", db)
    code, out, err = cli(capsys, "discard", label, "docs", "--reason", "not needed", *common)
    assert code == 0 and out == f"discarded docs of session {label}: its worktree and branch are deleted\n"
    before = checkout_snapshot(project)
    code, out, err = cli(capsys, "accept", label, "changelog", *common)
    assert code == 2 and out == ""
    assert err == (f"cockpit: task 'changelog' of session {label} holds work of docs (discarded), wordcount "
                   "(not reviewed), tests (not reviewed) that is not in your branch: accept it with --own (only "
                   "its own commits) or --with-deps (with that work); nothing was changed\n")
    assert checkout_snapshot(project) == before
    assert decisions(capsys, project, db, label) == {
        "wordcount": None, "docs": "discarded", "tests": None, "changelog": None}

    code, out, err = cli(capsys, "accept", label, "changelog", "--with-deps", *common)
    assert code == 0, err
    assert out.startswith(f"accepted changelog of session {label}: copied 3 commits of wordcount, tests, changelog")
    assert out.endswith("; also accepted: wordcount, tests; left out: docs (discarded)\n")
    assert not (project / "docs").exists() and (project / "CHANGELOG.md").exists()
    assert decisions(capsys, project, db, label) == {
        "wordcount": "accepted", "docs": "discarded", "tests": "accepted", "changelog": "accepted"}
    code, out, _ = cli(capsys, "show", label, "--json", *common)
    tasks = {t["id"]: t for t in json.loads(out)["tasks"]}
    assert (tasks["tests"]["accepted_as"], tasks["tests"]["accepted_via"]) == ("picked", "changelog")
    head = git(project, "rev-parse", "HEAD")
    assert tasks["changelog"]["accept_commit"] == head and tasks["changelog"]["picked"][0][1] == head


def test_refusals_are_one_line_and_exit_2(project: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    label = headless_run(capsys, project, db)
    common = ("--repo", str(project), "--db", db)
    code, _, err = cli(capsys, "accept", label, "wordcount", "--own", *common)
    assert code == 0
    for args, message in (
        (("accept", label, "wordcount"), "cockpit: task 'wordcount' was already accepted\n"),
        (("discard", label, "nope"), f"cockpit: no task 'nope' in session {label}\n"),
        (("accept", "20000101.1", "docs"), None),
        (("accept", label, "docs", "--include", "tests"), "cockpit: --include brings in a discarded dependency with "
                                                          "the task: use it with --with-deps\n"),
        (("accept", label, "changelog", "--with-deps", "--include", "tests"),
         "cockpit: tests: not a discarded dependency of 'changelog'\n"),
    ):
        code, out, err = cli(capsys, *args, *common)
        assert code == 2 and out == "" and err.count("\n") == 1, (args, err)
        if message:
            assert err == message
    with pytest.raises(SystemExit) as exited:
        cli(capsys, "accept", label, "docs", "--own", "--with-deps", *common)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and "not allowed with argument --own" in err


def test_an_own_commits_accept_that_conflicts_changes_nothing(
        project: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    label = headless_run(capsys, project, db)
    (project / "CHANGELOG.md").write_text("# Mine\n")
    git(project, "add", "CHANGELOG.md")
    git(project, "commit", "-q", "-m", "mine")
    before = checkout_snapshot(project)
    code, out, err = cli(capsys, "accept", label, "changelog", "--own", "--repo", str(project), "--db", db)
    assert code == 2 and "would conflict in CHANGELOG.md; nothing was changed" in err
    assert checkout_snapshot(project) == before
    assert decisions(capsys, project, db, label)["changelog"] is None


def test_an_earlier_sessions_task_is_accepted_from_the_command_line(
        project: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = headless_run(capsys, project, db)
    second = headless_run(capsys, project, db, [{"id": "other", "prompt": "printf 'x\\n' > other.txt"}])
    assert first != second
    code, out, err = cli(capsys, "accept", first, "tests", "--with-deps", "--repo", str(project), "--db", db)
    assert code == 0, err
    assert (project / "tests/test_wc.py").exists() and "word_count" in (project / "textstats.py").read_text()
    assert decisions(capsys, project, db, first) == {
        "wordcount": "accepted", "docs": None, "tests": "accepted", "changelog": None}
    assert decisions(capsys, project, db, second) == {"other": None}


def test_cockpit_review_opens_every_undecided_task_of_the_newest_session(
        project: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    headless_run(capsys, project, db)  # here, not in a thread: the run's loop wants the main thread
    asyncio.run(_review_every_undecided_task(project, db))


async def _review_every_undecided_task(project: Path, db: str) -> None:
    store = await Store.open(db)
    try:
        row, chosen = await session_decisions(store, None, str(project))  # the newest session by default
        app = ReviewApp(store, chosen, row.objective)
        async with app.run_test(size=(120, 36)) as pilot:
            first = await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.loaded
                                and app.screen, "the first review")
            assert first.task_id == "wordcount"
            await pilot.press("a")  # no dependency: a merge
            second = await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen is not first
                                 and app.screen.loaded and app.screen, "the next review")
            assert second.task_id == "docs"
            await pilot.press("escape")  # back to the list, docs left undecided
            listing = await until(pilot, lambda: isinstance(app.screen, SessionReviewScreen) and app.screen, "the list")
            table = listing.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 4 and str(table.get_row_at(0)[0]) == "docs", "the list")
            assert [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[2])) for i in range(4)] == [
                ("docs", "not reviewed"), ("tests", "not reviewed"), ("changelog", "not reviewed"),
                ("wordcount", "accepted")]
            table.move_cursor(row=2)
            await pilot.press("enter")  # changelog: docs and tests are not accepted, so it asks
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.task_id == "changelog"
                        and app.screen.loaded, "the changelog review")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AcceptQuestion), "the accept question")
            await pilot.press("o")
            await until(pilot, lambda: any(m.task_id == "changelog" for m in app.decided), "the changelog accept")
        assert (project / "CHANGELOG.md").exists() and not (project / "docs").exists()
        assert {t.key: t.decision for t in await store.tasks(row.id)} == {
            "wordcount": "accepted", "docs": None, "tests": None, "changelog": "accepted"}
    finally:
        await store.close()
