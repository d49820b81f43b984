"""Every key binding of the cockpit, each with an id (so it can be remapped) and a tooltip.

Users remap keys in ``keymap.toml`` in the cockpit's config folder (``~/.config/cockpit`` on Linux)::

    "cockpit.pause_task" = "space"
    "cockpit.log_view" = "l,ctrl+l"

Each entry maps a binding id of this module to one key or several, comma-separated. Textual applies
the keymap to every screen (:meth:`textual.app.App.set_keymap`). A key that Textual or the terminal
keeps for itself (the command palette's Ctrl+P, Tab, Ctrl+C...), or that another binding of the same
screen already has, is refused: the binding would never fire, or would take the other's key away.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from textual.binding import Binding
from textual.keys import _normalize_key_list  # how Textual itself reads a keymap's keys

from engine.errors import ConfigError
from engine.paths import config_dir

KEYMAP_NAME = "keymap.toml"

APP_BINDINGS: list[Binding] = [
    Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit",
            tooltip="Leave (ends the session first; asks if tasks still run)"),
]

# The cockpit's action keys are priority bindings: the app acts on them as soon as the key arrives,
# whatever widget has the focus, instead of passing the key down to the focused pane and bubbling
# it back up (one trip through the event loop per widget, which costs most while lines stream in).
# The arrows are not: the task list uses them to move its cursor.
# The footer shows them in this order and drops what does not fit at the right: the keys that end,
# leave, help and review come first, so that an 80-column terminal still shows them.
COCKPIT_BINDINGS: list[Binding] = [
    Binding("question_mark", "help", "Help", key_display="?", priority=True, id="cockpit.help",
            tooltip="Every key of the cockpit"),
    Binding("e", "end_session", "End", priority=True, id="cockpit.end_session",
            tooltip="Stop what still runs and close the session (asks first)"),
    Binding("q", "quit_cockpit", "Quit", priority=True, id="cockpit.quit",
            tooltip="End the session and leave (asks first if tasks still run)"),
    Binding("v", "review", "Review", priority=True, id="cockpit.review",
            tooltip="Review the task's work (diff; accept or discard) once it ended"),
    Binding("h", "history", "History", priority=True, id="cockpit.history",
            tooltip="Past sessions, their trends and agents (the run goes on)"),
    Binding("z", "enlarge", "Zoom", priority=True, id="cockpit.enlarge",
            tooltip="Enlarge the focused pane to the whole screen, or restore the grid"),
    Binding("m", "send_message", "Message", priority=True, id="cockpit.send_message",
            tooltip="Write to the focused task's agent in its pane (an ended task: its conversation goes on "
                    "with the message where its agent can, else it is retried with it)"),
    Binding("p", "pause_task", "Pause", priority=True, id="cockpit.pause_task",
            tooltip="Pause the focused task's agent, or resume it if it is paused"),
    Binding("c", "cancel_task", "Cancel", priority=True, id="cockpit.cancel_task",
            tooltip="Cancel the focused task: its agent is stopped (asks first while it runs)"),
    Binding("r", "retry_task", "Retry", priority=True, id="cockpit.retry_task",
            tooltip="Run a failed, timed-out or cancelled task again"),
    Binding("l", "log_view", "Log", priority=True, id="cockpit.log_view",
            tooltip="The focused task's whole log from the database, with search"),
    Binding("n", "note", "Note", priority=True, id="cockpit.note",
            tooltip="Write down an intervention by hand (type and text)"),
    Binding("P", "pause_run", "Pause run", key_display="P", priority=True, id="cockpit.pause_run",
            tooltip="Pause the whole run (no new task starts), or resume it"),
    Binding("C", "cancel_all", "Cancel all", key_display="C", priority=True, id="cockpit.cancel_all",
            tooltip="Cancel every task that has not ended (asks first)"),
    Binding("enter", "send_message", "Message", show=False, id="cockpit.talk",
            tooltip="On a pane: write to its agent, as m does"),
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
    Binding("j", "step_focus(1)", "Next pane", show=False, priority=True, id="cockpit.next_pane",
            tooltip="Focus the next pane (after the last, the first)"),
    Binding("k", "step_focus(-1)", "Previous pane", show=False, priority=True, id="cockpit.previous_pane",
            tooltip="Focus the previous pane (before the first, the last)"),
    Binding("i", "task_info", "Task info", show=False, priority=True, id="cockpit.task_info",
            tooltip="The focused task's effective prompt (role, check feedback), agent, routing and check"),
    Binding("w", "next_question", "Waiting", show=False, priority=True, id="cockpit.next_question",
            tooltip="Go to the agent that has waited longest for your answer"),
    Binding("y", "answer('allow_once')", "Allow once", show=False, priority=True, id="cockpit.allow_once",
            tooltip="Allow what the focused agent asks, this once"),
    Binding("a", "answer('allow_always', 'task')", "Allow always (task)", show=False, priority=True,
            id="cockpit.allow_task", tooltip="Allow it, and the same (this tool, this command prefix) for the task"),
    Binding("s", "answer('allow_always', 'session')", "Allow always (session)", show=False, priority=True,
            id="cockpit.allow_session", tooltip="Allow it, and the same for every task of the session"),
    Binding("d", "answer('reject_once')", "Deny", show=False, priority=True, id="cockpit.deny",
            tooltip="Deny what the focused agent asks, with a reason it is told (optional)"),
    Binding("b", "reset_breaker", "Reset breaker", show=False, priority=True, id="cockpit.reset_breaker",
            tooltip="Close an open circuit breaker so its profile's waiting tasks start"),
]

TASK_INFO_BINDINGS: list[Binding] = [
    Binding("escape", "close", "Back", id="task_info.close", tooltip="Back to the cockpit"),
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
    Binding("f2,h", "history", "History", key_display="F2", id="start.history",
            tooltip="Past sessions, trends, agents (h too, out of text fields)"),
]

# The list of earlier sessions to assess, on the start screen (keys of the list: it has the focus).
ASSESSMENT_BINDINGS: list[Binding] = [
    Binding("f", "answer('fully')", "Fully used", id="assess.fully",
            tooltip="The highlighted session's work was fully used: shipped or merged, no changes needed"),
    Binding("p", "answer('partially')", "Partially", id="assess.partially",
            tooltip="The highlighted session's work was partially used: some rework was required"),
    Binding("u", "answer('not-used')", "Not used", id="assess.not_used",
            tooltip="The highlighted session's work was not used: reverted, replaced or abandoned"),
    Binding("t", "answer('too-early')", "Too early", id="assess.too_early",
            tooltip="Too early to tell: the session is asked about again after a few days"),
    Binding("n", "answer('na')", "N/A", id="assess.na",
            tooltip="Not applicable: the session had no deliverables to judge"),
    Binding("w", "note", "Note", id="assess.note",
            tooltip="Write a one-line note about the highlighted session (kept with its answer)"),
    Binding("s", "skip", "Skip all", id="assess.skip",
            tooltip="Skip the assessment for now: the sessions are asked about again next time"),
    Binding("backspace", "undo", "Undo", id="assess.undo",
            tooltip="Take back the highlighted session's answer (answers are kept once you leave the list)"),
]

SUMMARY_BINDINGS: list[Binding] = [
    Binding("ctrl+s", "save", "Save", id="summary.save",
            tooltip="Save the summary: the database and the Markdown file"),
    Binding("escape", "leave", "Leave", id="summary.leave",
            tooltip="Leave without saving (asks first); the draft is kept and offered at the next start"),
    Binding("1", "rate(1)", "Rating", key_display="1-5", id="summary.rate_1",
            tooltip="Rate the session 1 out of 5 (keys 1-5 when no text field has the focus)"),
    Binding("2", "rate(2)", "Rate 2", show=False, id="summary.rate_2", tooltip="Rate the session 2 out of 5"),
    Binding("3", "rate(3)", "Rate 3", show=False, id="summary.rate_3", tooltip="Rate the session 3 out of 5"),
    Binding("4", "rate(4)", "Rate 4", show=False, id="summary.rate_4", tooltip="Rate the session 4 out of 5"),
    Binding("5", "rate(5)", "Rate 5", show=False, id="summary.rate_5", tooltip="Rate the session 5 out of 5"),
    Binding("ctrl+o", "add_intervention", "Add intervention", id="summary.add_intervention",
            tooltip="Add a row to the interventions table (when, what, type)"),
]

SAVED_BINDINGS: list[Binding] = [
    Binding("enter,q", "leave", "Leave", id="saved.leave", tooltip="Leave the cockpit"),
    Binding("s", "new_session", "New session", id="saved.new_session",
            tooltip="Back to the start screen for a new session"),
]

HISTORY_BINDINGS: list[Binding] = [
    Binding("escape", "back", "Back", id="history.back",
            tooltip="Back to where you came from (from a filter field: back to the table)"),
    Binding("enter", "open_session", "Open", id="history.open",
            tooltip="Open the highlighted session: its summary, tasks, interventions and survival; assess it"),
    Binding("slash", "focus_filter", "Filter", key_display="/", id="history.filter",
            tooltip="Filter the sessions: text in the objective, label or date; status, outcome, rating, dates"),
    Binding("s", "next_sort", "Sort", id="history.sort",
            tooltip="Sort by the next column (or click a column's header; click it again to reverse)"),
    Binding("r", "reverse_sort", "Reverse", show=False, id="history.reverse", tooltip="Reverse the order of the sort"),
    Binding("d", "toggle_disagreements", "Disagree", id="history.disagreements",
            tooltip="Only the sessions where the human outcome and git survival disagree (marked \u2260), or all"),
    Binding("a", "toggle_scope", "All repos", id="history.scope",
            tooltip="Switch between this repository's sessions and every repository's"),
    Binding("1", "show_tab('sessions')", "Sessions", show=False, id="history.sessions",
            tooltip="The table of sessions"),
    Binding("2", "show_tab('trends')", "Trends", id="history.trends",
            tooltip="Charts over time: EWR human and git, rating, interventions, cost, cost per surviving line"),
    Binding("3", "show_tab('agents')", "Agents", id="history.agents",
            tooltip="By agent profile: tasks, accepted share, survival of accepted work, cost per surviving line"),
    Binding("question_mark", "help", "Help", key_display="?", id="history.help", tooltip="Every key of the history"),
]

DETAIL_BINDINGS: list[Binding] = [
    Binding("escape,q", "back", "Back", id="detail.back", tooltip="Back to the history"),
    Binding("f", "assess('fully')", "Fully used", id="detail.fully",
            tooltip="Assess the session (while pending): its work was fully used"),
    Binding("p", "assess('partially')", "Partially", id="detail.partially",
            tooltip="Assess the session (while pending): its work was partially used"),
    Binding("u", "assess('not-used')", "Not used", id="detail.not_used",
            tooltip="Assess the session (while pending): its work was not used"),
    Binding("t", "assess('too-early')", "Too early", id="detail.too_early",
            tooltip="Too early to tell: the session is asked about again after a few days"),
    Binding("n", "assess('na')", "N/A", id="detail.na", tooltip="Not applicable: nothing to judge"),
    Binding("e", "edit_summary", "Edit summary", id="detail.edit", tooltip="Edit the session's summary"),
    Binding("question_mark", "help", "Help", key_display="?", id="detail.help", tooltip="Every key of this screen"),
]

# Keys Textual or the terminal keeps: a binding given one of them would never fire, or would take
# the key from what everyone expects of it.
RESERVED_KEYS = {
    "ctrl+p": "opens the command palette", "tab": "moves the focus", "shift+tab": "moves the focus back",
    "ctrl+c": "copies the selection", "ctrl+q": "leaves the cockpit", "ctrl+z": "suspends the program",
}


def _screen_groups() -> list[list[Binding]]:
    """The bindings that are in force together, one list per screen (the app's on every screen)."""
    from tui.screens.review import ReviewScreen  # the review screen keeps its bindings beside it

    review = [b for b in ReviewScreen.BINDINGS if isinstance(b, Binding)]
    screens = [COCKPIT_BINDINGS, LOG_VIEW_BINDINGS, DIALOG_BINDINGS, CONFIRM_BINDINGS, HELP_BINDINGS,
               START_BINDINGS + ASSESSMENT_BINDINGS, SUMMARY_BINDINGS, SAVED_BINDINGS, HISTORY_BINDINGS,
               DETAIL_BINDINGS, TASK_INFO_BINDINGS, review]
    return [APP_BINDINGS + group for group in screens]


def binding_ids() -> set[str]:
    """Every binding id a keymap may name: this module's and those screens declare themselves."""
    return {b.id for group in _screen_groups() for b in group if b.id}


def keymap_problem(keymap: dict[str, str]) -> str | None:
    """Why the keymap cannot be used (a reserved key, or a key another binding of the same screen has);
    None when it can."""
    for binding_id, keys in keymap.items():
        for key in _normalize_key_list(keys).split(","):
            if key in RESERVED_KEYS and binding_id != "app.quit":
                return f"{binding_id} = {keys!r}: {key} {RESERVED_KEYS[key]}; choose another key"
    for group in _screen_groups():
        holders: dict[str, str] = {}
        for binding in group:
            keys = keymap.get(binding.id or "", binding.key)
            for key in _normalize_key_list(keys).split(","):
                other = holders.setdefault(key, binding.id or "")
                if other != binding.id and (binding.id in keymap or other in keymap):
                    mapped, holder = (binding.id, other) if binding.id in keymap else (other, binding.id)
                    return (f"{mapped} = {keymap[mapped]!r}: {key} is already the key of {holder} on the same "
                            f"screen; choose another key (or remap {holder} too)")
    return None


def keymap_path() -> Path:
    return config_dir() / KEYMAP_NAME


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
    problem = keymap_problem(keymap)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")
    return keymap
