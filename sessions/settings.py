"""The sessions' own settings in ``cockpit.toml``: when to ask again, and where summaries go.

::

    [assessment]
    too_early_days = 3          # a "too early" answer is asked again after this many days (0 or more)

    [summary]
    folder = "Summary"          # where summaryYYYYMMDD.N.md files are written, relative to the
                                # repository (or absolute); false: no files, the database only

    [survival]
    vendored = ["src/pkg/packages/"]   # paths left out of the measure as vendored (globs; a folder
    generated = ["*.gen.go"]           # ends in "/"), beside git attributes and the common folders
    agent_trailer = "Claude|Copilot"   # imported sessions: only commits with a Co-Authored-By
    agent_author = "bot@"              # trailer (or an author) matching these count as the agent's

The engine reads ``cockpit.toml`` (:func:`engine.config.load_config`) and keeps these tables raw for
us (``extra_sections``); they are checked here, each error one line naming the file, the table and
the key. The repository's file wins over the user's, key by key.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from engine.config import Config, load_config
from engine.errors import ConfigError
from engine.toml_files import type_name
from sessions.reports.assessment import DEFAULT_TOO_EARLY_DAYS
from sessions.survival.line_filter import FileFilter
from sessions.survival.work import AgentRule

SECTIONS = ("assessment", "summary", "survival")
KEYS = {
    "assessment": ("too_early_days",),
    "summary": ("folder",),
    "survival": ("vendored", "generated", "agent_trailer", "agent_author"),
}
DEFAULT_SUMMARY_FOLDER = "Summary"


@dataclass(frozen=True)
class SessionSettings:
    too_early_days: float = DEFAULT_TOO_EARLY_DAYS
    summary_folder: str | None = DEFAULT_SUMMARY_FOLDER  # None: no Markdown files
    vendored: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()
    agent_trailer: str | None = None
    agent_author: str | None = None

    def file_filter(self) -> FileFilter:
        """Which files the survival measure counts."""
        return FileFilter(vendored_globs=self.vendored, extra_generated=self.generated)

    def agent_rule(self) -> AgentRule:
        """Which commits of an imported session are an agent's."""
        return AgentRule(trailer=self.agent_trailer, author=self.agent_author)

    def summary_dir(self, repo: str | Path) -> Path | None:
        """The folder summaries of ``repo`` are written to, or None when files are off."""
        if self.summary_folder is None:
            return None
        folder = Path(self.summary_folder).expanduser()
        return folder if folder.is_absolute() else Path(repo) / folder


def session_settings(config: Config) -> SessionSettings:
    """The settings from the raw tables ``load_config(..., extra_sections=SECTIONS)`` kept."""
    return settings_from((raw.name, raw.path, raw.data) for raw in config.extra)


def settings_from(tables: Iterable[tuple[str, Path, Any]]) -> SessionSettings:
    """``(section, file, table)`` lowest precedence first; raises ConfigError (one located line)."""
    values: dict[str, Any] = {}
    for name, path, table in tables:
        if name not in KEYS:
            continue
        where = f"{path}: [{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{name}' must be a table, not {type_name(table)}")
        known = KEYS[name]
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
            values[key] = _check(key, value, where)
    return SessionSettings(
        too_early_days=values.get("too_early_days", DEFAULT_TOO_EARLY_DAYS),
        summary_folder=values.get("folder", DEFAULT_SUMMARY_FOLDER),
        vendored=values.get("vendored", ()),
        generated=values.get("generated", ()),
        agent_trailer=values.get("agent_trailer"),
        agent_author=values.get("agent_author"),
    )


def _check(key: str, value: Any, where: str) -> Any:
    if key == "too_early_days":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise ConfigError(f"{where} too_early_days must be a number of days, 0 or more, not {value!r}")
        return float(value)
    if key == "folder":
        if value is False:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} folder must be a folder such as \"Summary\", or false for no files, "
                              f"not {value!r}")
        return value.strip()
    if key in ("vendored", "generated"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where} {key} must be a list of paths or globs such as [\"lib/vendor/\"], "
                              f"not {value!r}")
        return tuple(v.strip() for v in value)
    if key in ("agent_trailer", "agent_author"):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} {key} must be a regular expression such as \"Claude\", not {value!r}")
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{where} {key} is not a regular expression ({exc}): {value!r}") from None
        return value
    raise AssertionError(key)


def load_session_settings(repo_root: Path | None) -> SessionSettings:
    """Read ``cockpit.toml`` (the user's, then the repository's); raises ConfigError."""
    return session_settings(load_config(repo_root, extra_sections=SECTIONS))
