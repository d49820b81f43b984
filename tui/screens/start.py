"""The start screen: the session's objective and its plan (a file, or a plan written here).

The screen is a column of sections; the assessment of earlier sessions will come as one more
section above the objective. It returns the started :class:`LiveSession` (or None to leave).
"""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, TextArea

from engine.errors import UserError
from sessions.git_facts import GitFactsError
from sessions.live_session import LiveSession
from sessions.store import StoreError
from tui.bindings import START_BINDINGS
from tui.session_launcher import SessionLauncher

PLAN_EXAMPLE = '''# Write a plan here, or give a plan file above. For example:
[[task]]
id = "docs"
title = "Write the usage guide"
agent = "claude"
prompt = "Write docs/usage.md from the README"
timeout = "15m"
'''


class StartScreen(Screen[LiveSession | None]):
    CSS_PATH = "start.tcss"
    BINDINGS = START_BINDINGS

    def __init__(self, launcher: SessionLauncher, repo: str = "") -> None:
        super().__init__()
        self.launcher = launcher
        self.repo = repo
        self.starting = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with VerticalScroll(id="start-sections"):
            with Vertical(id="objective-section", classes="start-section"):
                yield Label("Objective", classes="section-title")
                yield Input(placeholder="one sentence: what should this session achieve?", id="objective")
            with Vertical(id="plan-section", classes="start-section"):
                yield Label("Plan", classes="section-title")
                yield Input(placeholder="a plan file (TOML), e.g. plan.toml, or write a plan below",
                            id="plan-path")
                yield TextArea(id="plan-text", placeholder=PLAN_EXAMPLE, tab_behavior="indent")
            yield Label("", id="start-error")
            yield Button("Start the session (Ctrl+S)", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Session Cockpit · new session"
        self.sub_title = self.repo
        self.query_one("#objective", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "objective":
            self.query_one("#plan-path", Input).focus()
        else:
            self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "start":
            self.action_start()

    def show_error(self, text: str) -> None:
        self.query_one("#start-error", Label).update(escape(text))
        self.set_class(bool(text), "-error")

    def action_start(self) -> None:
        if self.starting:
            return
        objective = self.query_one("#objective", Input).value.strip()
        path_text = self.query_one("#plan-path", Input).value.strip()
        plan_text = self.query_one("#plan-text", TextArea).text
        if not objective:
            self.show_error("State the session's objective first (one sentence).")
            self.query_one("#objective", Input).focus()
            return
        if not path_text and not plan_text.strip():
            self.show_error("Give a plan file, or write a plan in the box.")
            self.query_one("#plan-path", Input).focus()
            return
        self.show_error("")
        self.starting = True
        self.launch(objective, path_text, plan_text)

    @work(exclusive=True, group="start")
    async def launch(self, objective: str, path_text: str, plan_text: str) -> None:
        try:
            if path_text:
                plan = Path(path_text).expanduser()
            else:
                plan = self.launcher.save_plan_text(plan_text)
                self.notify(f"Plan kept in {plan}", timeout=5, markup=False)
            live = await self.launcher.launch(objective, plan)
        except (UserError, StoreError, GitFactsError, OSError) as exc:
            self.show_error(str(exc))
            return
        finally:
            self.starting = False
        self.dismiss(live)
