"""``cockpit.toml``: the repository's file first, then the user's config dir.

Settings merge in that order of precedence: the repository's file over the user's over the
built-ins. Today the file holds agent profiles::

    [agents.fast]
    extends = "claude"                  # optional: start from another profile
    argv = ["claude", "-p", "{prompt}", "--model", "haiku", "--output-format", "stream-json", "--verbose"]
    output = "claude-stream-json"       # text | claude-stream-json | codex-json
    env = { CLAUDE_CODE_MAX_OUTPUT_TOKENS = "8000" }
    copy_files = [".env"]               # copied from the checkout into each worktree
    follow_up = "none"                  # none | stdin (follow-up messages written to its stdin)
    max_parallel = 2
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from engine.errors import ConfigError
from engine.output_formats import FORMATS
from engine.profiles import FOLLOW_UP, KINDS, PROMPT, AgentProfile, ProfileSet, builtin_profiles
from engine.toml_files import read_toml, type_name

CONFIG_NAME = "cockpit.toml"
TOP_KEYS = {"agents"}
PROFILE_KEYS = {
    "extends", "kind", "argv", "output", "env", "copy_files", "follow_up", "max_parallel", "description",
}


@dataclass
class Config:
    profiles: ProfileSet = field(default_factory=ProfileSet)
    files: list[Path] = field(default_factory=list)  # the files read, lowest precedence first


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("cockpit")) / CONFIG_NAME


def config_paths(repo_root: Path | None) -> list[Path]:
    """The config files that exist, lowest precedence first."""
    candidates = [user_config_path()]
    if repo_root is not None:
        candidates.append(repo_root / CONFIG_NAME)
    return [p for p in candidates if p.is_file()]


def load_config(repo_root: Path | None) -> Config:
    config = Config(ProfileSet(builtin_profiles()))
    for path in config_paths(repo_root):
        data, _ = read_toml(path, ConfigError)
        _apply(config, data, path)
        config.files.append(path)
    return config


def _apply(config: Config, data: dict[str, Any], path: Path) -> None:
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    agents = data.get("agents", {})
    if not isinstance(agents, dict):
        raise ConfigError(f"{path}: 'agents' must be a table of profiles, not {type_name(agents)}")
    for name, table in agents.items():
        where = f"{path}: [agents.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, not {type_name(table)}")
        config.profiles.profiles[name] = _profile(name, table, config.profiles, where)


def _profile(name: str, table: dict[str, Any], known: ProfileSet, where: str) -> AgentProfile:
    unknown = sorted(set(table) - PROFILE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(PROFILE_KEYS))})")
    base_name = table.get("extends", name if name in known else None)
    if base_name is not None:
        if not isinstance(base_name, str) or base_name not in known:
            raise ConfigError(f"{where}: extends unknown profile {base_name!r} (known: {', '.join(known.names())})")
        profile = known[base_name].with_changes(name=name)
    else:
        if "argv" not in table and table.get("kind") != "shell":
            raise ConfigError(f"{where}: a new profile needs 'argv' (or 'extends' of a known profile)")
        profile = AgentProfile(name)

    changes: dict[str, Any] = {}
    if "kind" in table:
        changes["kind"] = _choice(table["kind"], KINDS, f"{where}: kind")
        if changes["kind"] == "shell" and "argv" not in table:
            changes["argv"] = ("bash", "-c", PROMPT)
    if "argv" in table:
        argv = table["argv"]
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"{where}: argv must be a non-empty array of strings")
        if not any(PROMPT in a for a in argv):
            raise ConfigError(f"{where}: argv must hold the placeholder {PROMPT} in one of its elements")
        changes["argv"] = tuple(argv)
    if "output" in table:
        changes["output"] = _choice(table["output"], FORMATS, f"{where}: output")
    if "follow_up" in table:
        changes["follow_up"] = _choice(table["follow_up"], FOLLOW_UP, f"{where}: follow_up")
    if "env" in table:
        env = table["env"]
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ConfigError(f"{where}: env must be a table of strings, e.g. env = {{ NAME = \"value\" }}")
        changes["env"] = tuple(sorted(env.items()))
    if "copy_files" in table:
        files = table["copy_files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise ConfigError(f"{where}: copy_files must be an array of paths")
        for f in files:
            p = Path(f)
            if p.is_absolute() or ".." in p.parts:
                raise ConfigError(f"{where}: copy_files entry {f!r} must be a path inside the repository")
        changes["copy_files"] = tuple(files)
    if "max_parallel" in table:
        value = table["max_parallel"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: max_parallel must be a whole number of at least 1, not {value!r}")
        changes["max_parallel"] = value
    if "description" in table:
        if not isinstance(table["description"], str):
            raise ConfigError(f"{where}: description must be a string")
        changes["description"] = table["description"]
    return profile.with_changes(**changes)


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{where} must be one of {', '.join(allowed)}, not {value!r}")
    return value
