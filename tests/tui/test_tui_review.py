"""The review screen driven with Pilot on a real recorded run (Engine + Store + LiveSession)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Checkbox, DataTable, Input, Static

from tests.helpers.events import make_engine, plan_of
from tests.helpers.paths import ROOT
from tests.helpers.repos import checkout_snapshot, git
from sessions.lifecycle import begin_session
from sessions.live_session import LiveSession
from sessions.store.store import Store
from tui.screens.accept_question import AcceptQuestion
from tui.screens.review import DiscardDialog, ReviewScreen
from tui.widgets.diff_view import BLOCK, DiffView

WAIT = 30.0  # bounds a test that would otherwise hang; nothing waits this long when things work

REPO_FILES = {
    "README.md": "# Greeter\n\nSays hello.\n",
    "src/greeting.py": (
        '"""Greetings."""\n\n\ndef greet(name: str) -> str:\n    return "Hello " + name\n\n\n'
        'def shout(name: str) -> str:\n    return greet(name).upper()\n'
    ),
    "old_notes.txt": "nothing to see here\n",
}
GREET_SCRIPT = r'''
cat > src/greeting.py <<'EOF'
"""Greetings, friendlier."""


def greet(name: str, punctuation: str = "!") -> str:
    # a warmer hello
    return f"Hello, {name}{punctuation}"


def shout(name: str) -> str:
    return greet(name).upper()
EOF
mkdir -p docs
printf '# Notes\n\nThe greeting is friendlier now.\n' > docs/notes.md
git rm -q old_notes.txt
printf '\x89PNG\x00\x01\x02\x03' > logo.png
echo "Made the greeting friendlier."
'''
GREET_TASK = {"id": "greet", "title": "Make the greeting friendlier", "prompt": GREET_SCRIPT}
SIDE_TASK = {"id": "side", "title": "Add a changelog", "prompt": "echo '# Changes' > CHANGES.md"}
FILES_IN_ORDER = ["docs/notes.md", "logo.png", "old_notes.txt", "src/greeting.py"]


class ReviewHost(App[None]):
    """Stands in for the cockpit: runs a plan in a recorded session, then opens the review screen."""

    def __init__(self, repo: Path, db: Path, tasks: list[dict[str, Any]], task_id: str,
                 prepare: Callable[[Path], None] | None = None,
                 decide: Callable[[LiveSession], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.repo, self.db, self.tasks, self.task_id, self.prepare = repo, db, tasks, task_id, prepare
        self.decide = decide  # decisions taken before the review opens
        self.store: Store | None = None
        self.live: LiveSession | None = None
        self.review: ReviewScreen | None = None
        self.results: list[str | None] = []
        self.decided: list[ReviewScreen.Decided] = []
        self.notes: list[tuple[str, str]] = []  # (severity, message) of every notification

    def compose(self) -> ComposeResult:
        yield Static("cockpit stand-in")

    def on_mount(self) -> None:
        self.run_worker(self._start(), exclusive=True)

    async def _start(self) -> None:
        self.store = await Store.open(self.db)
        session = await begin_session(self.store, self.repo, "make the greeter friendlier")
        engine = make_engine(plan_of(*self.tasks), self.repo, run_id="review")
        self.live = LiveSession(self.store, session, engine, None)
        await self.live.start()
        while not all(run.state.terminal for run in engine.tasks.values()):
            await asyncio.sleep(0.02)
        if self.prepare is not None:
            self.prepare(self.repo)
        if self.decide is not None:
            await self.decide(self.live)
        self.review = ReviewScreen(self.live.decisions, self.task_id)
        await self.push_screen(self.review, callback=self.results.append)

    def on_review_screen_decided(self, message: ReviewScreen.Decided) -> None:
        self.decided.append(message)

    def notify(self, message: str, **options: Any) -> None:
        self.notes.append((options.get("severity", "information"), message))
        super().notify(message, **options)

    async def on_unmount(self) -> None:
        if self.live is not None:
            await self.live.end()
        if self.store is not None:
            await self.store.close()


async def until(pilot, check: Callable[[], Any], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not (value := check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    return value


async def review_loaded(pilot) -> ReviewScreen:
    app = pilot.app
    await until(pilot, lambda: app.review is not None and app.review.loaded and app.screen is app.review,
                "the review screen to load")
    await pilot.pause()
    return app.review


@pytest.fixture
def project(repo_factory, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("COCKPIT_DB", str(tmp_path / "cockpit.db"))
    return repo_factory("greeter", REPO_FILES)


def host(project: Path, tmp_path: Path, *tasks: dict[str, Any], task_id: str = "greet",
         prepare: Callable[[Path], None] | None = None,
         decide: Callable[[LiveSession], Awaitable[None]] | None = None) -> ReviewHost:
    return ReviewHost(project, tmp_path / "cockpit.db", list(tasks) or [GREET_TASK], task_id, prepare, decide)


async def decision(app: ReviewHost, task_id: str) -> tuple[str | None, str | None]:
    assert app.store is not None and app.live is not None
    row = [t for t in await app.store.tasks(app.live.row.id) if t.key == task_id][-1]
    return row.decision, row.decision_reason


def file_column(screen: ReviewScreen) -> list[str]:
    table = screen.query_one("#review-files", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


# ------------------------------------------------------------------------------------- tests
async def test_the_file_list_shows_the_files_and_n_p_switch_the_diff(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await review_loaded(pilot)
        assert file_column(screen) == FILES_IN_ORDER
        table = screen.query_one("#review-files", DataTable)
        changes = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert changes == ["created", "created", "deleted", "modified"]
        view = screen.query_one(DiffView)
        assert view.path == "docs/notes.md"
        assert "+The greeting is friendlier now." in view.text_lines()
        await pilot.press("n")
        assert view.path == "logo.png" and view.text_lines() == ["binary file"]
        await pilot.press("n", "n")
        assert view.path == "src/greeting.py"
        assert '+    return f"Hello, {name}{punctuation}"' in view.text_lines()
        assert '-    return "Hello " + name' in view.text_lines()
        await pilot.press("n")  # the last file stays
        assert view.path == "src/greeting.py"
        await pilot.press("p")
        assert view.path == "old_notes.txt" and "-nothing to see here" in view.text_lines()
        header = str(screen.query_one("#review-numstat", Static).render())
        assert header == "Accepting brings +7 \u22124 in 4 files, all of this task"
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["this task"] * 4
        facts = str(screen.query_one("#review-facts", Static).render())
        assert facts == "succeeded \u00b7 agent shell \u00b7 1 attempt \u00b7 no usage reported"
        message = str(screen.query_one("#review-message", Static).render())
        assert message == "Final message: Made the greeting friendlier."
        assert app.results == []


async def test_accept_merges_and_records_the_decision(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await review_loaded(pilot)
        before = git(project, "rev-parse", "HEAD")
        await pilot.press("a")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert app.results == ["accepted"]
        assert app.screen is not screen
        await until(pilot, lambda: app.decided, "the Decided message")
        assert [(m.task_id, m.decision) for m in app.decided] == [("greet", "accepted")]
        assert (project / "docs/notes.md").exists() and not (project / "old_notes.txt").exists()
        assert git(project, "rev-list", "--parents", "-n1", "HEAD").split()[1] == before
        assert git(project, "log", "-1", "--format=%s") == "Accept task greet: Make the greeting friendlier"
        assert await decision(app, "greet") == ("accepted", "")
        assert any(sev == "information" and "greet accepted: merged cockpit/review/greet into main" in text
                   for sev, text in app.notes)
        result = app.live.engine.tasks["greet"].last_result
        assert not Path(result.worktree).exists()
        assert git(project, "rev-parse", "--verify", "--quiet", f"refs/heads/{result.branch}", check=False)


async def test_discard_asks_for_a_reason_and_records_it(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await review_loaded(pilot)
        before = checkout_snapshot(project)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiscardDialog), "the discard dialog")
        await pilot.press(*"not what I asked for")
        assert app.screen.query_one(Input).value == "not what I asked for"
        await pilot.press("enter")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert app.results == ["discarded"]
        assert await decision(app, "greet") == ("discarded", "not what I asked for")
        result = app.live.engine.tasks["greet"].last_result
        assert not Path(result.worktree).exists()
        assert git(project, "branch", "--list", result.branch) == ""
        assert checkout_snapshot(project) == before


async def test_discard_dialog_can_be_left_without_discarding(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await review_loaded(pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiscardDialog), "the discard dialog")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the review screen again")
        assert await decision(app, "greet") == (None, None)
        assert Path(app.live.engine.tasks["greet"].last_result.worktree).is_dir()
        await pilot.press("escape")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert app.results == [None]


async def test_accept_on_a_dirty_checkout_is_refused_and_nothing_changes(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path, prepare=lambda repo: (repo / "README.md").write_text("my edit\n"))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await review_loaded(pilot)
        before = checkout_snapshot(project)
        await pilot.press("a")
        await until(pilot, lambda: screen.last_refusal, "the refusal")
        assert screen.last_refusal == (
            "your checkout has uncommitted changes to README.md; commit or stash them, then accept again"
        )
        assert ("error", screen.last_refusal) in app.notes
        assert app.screen is screen and app.results == []
        assert checkout_snapshot(project) == before
        assert await decision(app, "greet") == (None, None)
        assert Path(app.live.engine.tasks["greet"].last_result.worktree).is_dir()
        toasts = await until(pilot, lambda: " ".join(str(t.render()) for t in app.screen.query("Toast")),
                             "the notification on screen")
        assert "uncommitted changes to README.md" in toasts


async def test_accept_of_a_conflicting_task_is_refused_naming_the_file(project: Path, tmp_path: Path) -> None:
    def conflict(repo: Path) -> None:
        (repo / "src/greeting.py").write_text("# my own greeting\n")
        git(repo, "commit", "-q", "-am", "my greeting")

    app = host(project, tmp_path, prepare=conflict)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await review_loaded(pilot)
        before = checkout_snapshot(project)
        await pilot.press("a")
        await until(pilot, lambda: screen.last_refusal, "the refusal")
        assert screen.last_refusal == (
            "merging cockpit/review/greet into main would conflict in src/greeting.py; nothing was changed"
        )
        assert checkout_snapshot(project) == before and app.results == []


async def test_a_task_without_work_says_so(project: Path, tmp_path: Path) -> None:
    app = host(project, tmp_path, {"id": "idle", "title": "Do nothing", "prompt": "true"}, task_id="idle")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await review_loaded(pilot)
        assert file_column(screen) == []
        assert screen.query_one(DiffView).text_lines() == ["the task changed no files"]


async def test_a_long_diff_colours_only_what_is_shown() -> None:
    code = "".join(f"def f{i}(x):\n    return x + {i}  # line {i}\n" for i in range(2500))
    diff = "diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n"
    diff += f"@@ -0,0 +1,5000 @@\n" + "".join(f"+{line}\n" for line in code.splitlines())

    class One(App[None]):
        CSS_PATH = str(ROOT / "tui" / "screens" / "review.tcss")

        def compose(self) -> ComposeResult:
            yield DiffView()

    app = One()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(DiffView)
        view.show_diff("big.py", diff)
        await pilot.pause()
        assert len(view.lines) == 5005
        assert view.highlighted_lines <= BLOCK
        assert view.lines[-1].new == 5000 and view.gutter_width == 2 * 4 + 3
        view.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert view.highlighted_lines <= 2 * BLOCK
        strip = view.render_line(view.size.height - 1)
        assert "return x + 2499  # line 2499" in strip.text


def test_snapshot_of_the_review_screen(project: Path, tmp_path: Path, snap_compare) -> None:
    app = host(project, tmp_path, GREET_TASK, SIDE_TASK)

    async def open_review(pilot) -> None:
        await review_loaded(pilot)
        await pilot.press("n", "n", "n")  # src/greeting.py: a diff with code in it

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_review)


# ------------------------------------------------------------------- the question of a dependant's accept
DOCS_TASK = {"id": "docs", "title": "Write the notes", "prompt": "mkdir -p docs && printf '# Notes\\n' > docs/notes.md"}
COUNT_TASK = {"id": "count", "title": "Count words", "prompt": "printf 'def count(t):\\n    return 1\\n' > count.py"}
LOG_TASK = {"id": "changelog", "title": "Record the changes", "depends_on": ["docs", "count"],
            "prompt": "printf '# Changes\\n' > CHANGES.md"}


async def discard_docs(live: LiveSession) -> None:
    await live.discard("docs", "not needed")


def dependant(project: Path, tmp_path: Path) -> ReviewHost:
    return host(project, tmp_path, DOCS_TASK, COUNT_TASK, LOG_TASK, task_id="changelog", decide=discard_docs)


async def question(pilot) -> AcceptQuestion:
    await pilot.press("a")
    return await until(pilot, lambda: isinstance(pilot.app.screen, AcceptQuestion) and pilot.app.screen,
                       "the accept question")


async def decisions_of(app: ReviewHost) -> dict[str, str | None]:
    return {t.key: t.decision for t in await app.store.tasks(app.live.row.id)}


async def test_a_dependant_shows_whose_work_each_file_is_and_cancel_changes_nothing(project: Path, tmp_path: Path) -> None:
    app = dependant(project, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await review_loaded(pilot)
        table = screen.query_one("#review-files", DataTable)
        rows = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert rows == {"CHANGES.md": "this task", "count.py": "from count, not reviewed",
                        "docs/notes.md": "from docs, discarded"}
        header = str(screen.query_one("#review-numstat", Static).render())
        assert header == ("Accepting brings +4 \u22120 in 3 files: 1 file of this task; 1 file from docs, "
                          "discarded; 1 file from count, not reviewed")
        before = checkout_snapshot(project)
        asked = await question(pilot)
        text = " ".join(str(w.render()) for w in asked.query(Static))
        assert "from docs, discarded: +1 \u22120 in 1 file" in text and "from count, not reviewed" in text
        assert "This task's own commits: +1 \u22120 in 1 file" in text
        assert [box.name for box in asked.query(Checkbox)] == ["docs"]  # a discarded one is chosen by name only
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the review again")
        assert checkout_snapshot(project) == before and app.results == []
        assert await decisions_of(app) == {"docs": "discarded", "count": None, "changelog": None}


async def test_own_commits_bring_in_only_the_task(project: Path, tmp_path: Path) -> None:
    app = dependant(project, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await review_loaded(pilot)
        await question(pilot)
        await pilot.press("o")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert app.results == ["accepted"]
        assert (project / "CHANGES.md").exists()
        assert not (project / "docs").exists() and not (project / "count.py").exists()
        assert await decisions_of(app) == {"docs": "discarded", "count": None, "changelog": "accepted"}
        await until(pilot, lambda: app.decided, "the Decided message")
        assert app.decided[0].tasks == ("changelog",)


async def test_with_dependencies_leaves_the_discarded_one_out_unless_ticked(project: Path, tmp_path: Path) -> None:
    app = dependant(project, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await review_loaded(pilot)
        await question(pilot)
        await pilot.press("w")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert (project / "CHANGES.md").exists() and (project / "count.py").exists()
        assert not (project / "docs").exists()
        assert await decisions_of(app) == {"docs": "discarded", "count": "accepted", "changelog": "accepted"}
        await until(pilot, lambda: app.decided, "the Decided message")
        assert app.decided[0].tasks == ("changelog", "count")
        assert "left out: docs (discarded)" in app.decided[0].detail


async def test_with_the_discarded_dependency_ticked_everything_is_merged(project: Path, tmp_path: Path) -> None:
    app = dependant(project, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await review_loaded(pilot)
        asked = await question(pilot)
        await pilot.click("#include-docs")
        assert asked.query_one(Checkbox).value
        await pilot.press("w")
        await until(pilot, lambda: app.results, "the review screen to close")
        assert (project / "docs/notes.md").exists() and (project / "count.py").exists()
        assert git(project, "log", "-1", "--format=%s") == "Accept task changelog: Record the changes"
        assert await decisions_of(app) == {"docs": "accepted", "count": "accepted", "changelog": "accepted"}
        await until(pilot, lambda: app.decided, "the Decided message")
        assert set(app.decided[0].tasks) == {"changelog", "docs", "count"}
