"""Every key binding of the cockpit, each with an id (so it can be remapped) and a tooltip.

Users remap keys in ``keymap.toml`` in the cockpit's config folder (``~/.config/cockpit`` on Linux)::

    "cockpit.pause_task" = "space"
    "cockpit.log_view" = "l,ctrl+l"

Each entry maps a binding id of this module to one key or several, comma-separated. Textual applies
the keymap to every screen (:meth:`textual.app.App.set_keymap`).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs
from textual.binding import Binding

from engine.errors import ConfigError

KEYMAP_NAME = "keymap.toml"

APP_BINDINGS: list[Binding] = [
    Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit",
            tooltip="Leave (ends the session first; asks if tasks still run)"),
]

# The cockpit's action keys are priority bindings: the app acts on them as soon as the key arrives,
# whatever widget has the focus, instead of passing the key down to the focused pane and bubbling
# it back up (one trip through the event loop per widget, which costs most while lines stream in).
# The arrows are not: the task list uses them to move its cursor.
COCKPIT_BINDINGS: list[Binding] = [
    Binding("question_mark", "help", "Help", key_display="?", priority=True, id="cockpit.help",
            tooltip="Every key of the cockpit"),
    Binding("p", "pause_task", "Pause", priority=True, id="cockpit.pause_task",
            tooltip="Pause the focused task's agent, or resume it if it is paused"),
    Binding("P", "pause_run", "Pause run", key_display="P", priority=True, id="cockpit.pause_run",
            tooltip="Pause the whole run (no new task starts), or resume it"),
    Binding("c", "cancel_task", "Cancel", priority=True, id="cockpit.cancel_task",
            tooltip="Cancel the focused task (its agent is stopped)"),
    Binding("C", "cancel_all", "Cancel all", key_display="C", priority=True, id="cockpit.cancel_all",
            tooltip="Cancel every task that has not ended (asks first)"),
    Binding("r", "retry_task", "Retry", priority=True, id="cockpit.retry_task",
            tooltip="Run a failed, timed-out or cancelled task again"),
    Binding("m", "send_message", "Message", priority=True, id="cockpit.send_message",
            tooltip="Send a follow-up message to the focused task's agent"),
    Binding("n", "note", "Note", priority=True, id="cockpit.note",
            tooltip="Write down an intervention by hand (type and text)"),
    Binding("v", "review", "Review", priority=True, id="cockpit.review",
            tooltip="Review the task's work (diff; accept or discard) once it ended"),
    Binding("l", "log_view", "Log", priority=True, id="cockpit.log_view",
            tooltip="The focused task's whole log from the database, with search"),
    Binding("z", "enlarge", "Zoom", priority=True, id="cockpit.enlarge",
            tooltip="Enlarge the focused pane to the whole screen, or restore the grid"),
    Binding("t", "focus_tasks", "Task list", show=False, priority=True, id="cockpit.focus_tasks",
            tooltip="Move the focus to the task list"),
    Binding("left", "move_focus('left')", "Pane left", show=False, id="cockpit.pane_left",
            tooltip="Focus the pane on the left"),
    Binding("right", "move_focus('right')", "Pane right", show=False, id="cockpit.pane_right",
            tooltip="Focus the pane on the right"),
    Binding("up", "move_focus('up')", "Pane above", show=False, id="cockpit.pane_up",
            tooltip="Focus the pane above"),
    Binding("down", "move_focus('down')", "Pane below", show=False, id="cockpit.pane_down",
            tooltip="Focus the pane below"),
    Binding("e", "end_session", "End", priority=True, id="cockpit.end_session",
            tooltip="Stop what still runs and close the session (asks first)"),
    Binding("q", "quit_cockpit", "Quit", priority=True, id="cockpit.quit",
            tooltip="End the session and leave (asks first if tasks still run)"),
]

LOG_VIEW_BINDINGS: list[Binding] = [
    Binding("escape", "close", "Back", id="log_view.close", tooltip="Back to the cockpit"),
    Binding("slash", "focus_search", "Search", key_display="/", id="log_view.search",
            tooltip="Search the task's whole log"),
    Binding("n,f3", "next_hit", "Next hit", id="log_view.next_hit", tooltip="Jump to the next line that matches"),
    Binding("N,shift+f3", "previous_hit", "Previous hit", key_display="N", id="log_view.previous_hit",
            tooltip="Jump to the previous line that matches"),
    Binding("right_square_bracket", "next_page", "Next page", key_display="]", id="log_view.next_page",
            tooltip="Load the next page of the log"),
    Binding("left_square_bracket", "previous_page", "Previous page", key_display="[",
            id="log_view.previous_page", tooltip="Go back to the previous page of the log"),
    Binding("g", "first_page", "First page", id="log_view.first_page",
            tooltip="Back to the start of the log"),
]

DIALOG_BINDINGS: list[Binding] = [
    Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without doing anything"),
]

CONFIRM_BINDINGS: list[Binding] = [
    Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes, do it"),
    Binding("n", "answer(False)", "No", id="confirm.no", tooltip="No, leave things as they are"),
    Binding("escape", "answer(False)", "No", show=False, id="confirm.escape", tooltip="No"),
]

HELP_BINDINGS: list[Binding] = [
    Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close the help"),
]

START_BINDINGS: list[Binding] = [
    Binding("ctrl+s", "start", "Start", id="start.start", tooltip="Start the session with this objective and plan"),
    Binding("escape", "app.quit", "Quit", id="start.quit", tooltip="Leave without starting a session"),
]

ALL_BINDINGS: list[Binding] = (
    APP_BINDINGS + COCKPIT_BINDINGS + LOG_VIEW_BINDINGS + DIALOG_BINDINGS + CONFIRM_BINDINGS
    + HELP_BINDINGS + START_BINDINGS
)


def binding_ids() -> set[str]:
    """Every binding id a keymap may name: this module's and those screens declare themselves."""
    from tui.screens.review import ReviewScreen  # the review screen keeps its bindings beside it

    ids = {b.id for b in ALL_BINDINGS if b.id}
    return ids | {b.id for b in ReviewScreen.BINDINGS if isinstance(b, Binding) and b.id}


def keymap_path() -> Path:
    return Path(platformdirs.user_config_dir("cockpit")) / KEYMAP_NAME


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The user's keymap (binding id -> keys); {} when there is no file. Raises ConfigError."""
    path = path or keymap_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    known = binding_ids()
    keymap: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown binding id {key!r} (see the help screen, key ?)")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: {key} must be a key name such as \"ctrl+p\", not {value!r}")
        keymap[key] = value.strip()
    return keymap
