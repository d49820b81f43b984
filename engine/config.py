"""``cockpit.toml``: the repository's file first, then the user's config dir.

Settings merge in that order of precedence: the repository's file over the user's over the
built-ins. The file holds agent profiles, roles, routing settings and prices::

    [agents.fast]
    extends = "claude"                  # optional: start from another profile
    argv = ["claude", "-p", "{prompt}", "--model", "haiku", "--output-format", "stream-json", "--verbose"]
    output = "claude-stream-json"       # text | claude-stream-json | codex-json
    env = { CLAUDE_CODE_MAX_OUTPUT_TOKENS = "8000" }
    copy_files = [".env"]               # copied from the checkout into each worktree
    follow_up = "none"                  # none | stdin (follow-up messages written to its stdin)
    max_parallel = 2
    budget_usd = 2.5                    # optional spending limits of one task (any kind)
    budget_tokens = 2_000_000

    [agents.opus]                       # a coding agent on the Anthropic Messages API (no argv)
    kind = "anthropic"
    model = "claude-opus-4-5"           # required for a new profile of this kind
    max_tokens = 8192                   # per response
    max_turns = 30                      # model responses per attempt
    system = "..."                      # optional: replaces the built-in system prompt
    temperature = 0.2                   # optional
    command_timeout = "2m"              # each run_command tool call
    max_retries = 3                     # the SDK's own retries (429, 5xx, 529, connection errors)
    request_timeout = "10m"             # the SDK's timeout of one request

    [agents.my-acp]                     # an agent that speaks the Agent Client Protocol
    kind = "acp"
    argv = ["my-agent", "--acp"]        # no {prompt}: the prompt goes over the protocol
    mode = "auto"                       # optional: the session mode to set (one the agent offers)
    fs_read = true                      # serve its file reads / writes / terminals (default true),
    fs_write = true                     # always confined to the task's worktree
    terminals = true
    turn_tokens = true                  # count the tokens its prompt responses report (default true)
    install = "npm install -g my-agent" # optional: named when the program is missing

    [agents.claude]                     # Claude Code through its SDK (kind = "claude")
    model = "claude-sonnet-4-6"         # optional: Claude Code's default otherwise
    permission_mode = "default"         # Claude Code's own mode: what it asks about at all
    max_turns = 50                      # optional
    append_system = "..."               # optional: added to Claude Code's system prompt
    cli_path = "/usr/local/bin/claude"  # optional: a Claude Code of your own instead of the SDK's

    [agents.claude.permissions]         # what its agents may do without asking you (any kind of profile)
    read = "allow"                      # reading and searching files inside the worktree
    edit = "allow"                      # writing, editing, deleting files inside the worktree
    execute = "ask"                     # commands
    fetch = "ask"                       # the network
    other = "ask"
    outside = "deny"                    # anything that reaches outside the worktree (comes first)
    headless = "deny"                   # what a headless run answers to what it would ask
    allow = ["Bash(npm test*)"]         # rules answered yes / no without asking (they come first)
    deny = ["Bash(git push*)"]

    [agents.codex]
    max_parallel = 2                    # at most 2 tasks on this profile at once (on top of the plan's)
    breaker_threshold = 3               # external failures in a row that open its circuit breaker
    breaker_cooldown = "5m"             # how long an open breaker waits before a trial task

    [roles.security-reviewer]           # a role: instructions added to the prompt of its tasks
    instructions = "You review for security only: ..."
    dependency_diffs = true             # optional: the diffs of the tasks it depends on join its prompt
    description = "..."                 # optional; [roles.tester] etc. change a built-in role

    [routing]                           # for agent = "auto" / a list of profiles in a plan
    profiles = ["claude", "codex"]      # the candidates of "auto" (default: every non-shell profile)
    min_tasks = 5                       # past tasks before a profile's record counts for "best"

    [prices."claude-opus-4-5"]          # dollars per million tokens, over engine/prices.toml
    input = 5.0
    output = 25.0
    cache_write = 6.25
    cache_read = 0.5
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


from engine.durations import parse_duration
from engine.errors import ConfigError
from engine.paths import config_dir
from engine.output_formats import FORMATS
from engine.prices import PriceError, PriceTable, load_prices
from engine.asks import RULES, AskPolicy
from engine.profiles import (
    FOLLOW_UP, KINDS, PERMISSION_MODES, PROMPT, AcpSettings, AgentProfile, AnthropicSettings, ClaudeSettings,
    ProfileSet, builtin_profiles,
)
from engine.roles import BUILTIN_ROLES, Role
from engine.routing import AUTO, DEFAULT_MIN_TASKS
from engine.toml_files import read_toml, type_name

CONFIG_NAME = "cockpit.toml"
TOP_KEYS = {"agents", "prices", "roles", "routing"}
ROLE_KEYS = {"instructions", "dependency_diffs", "description"}
ROUTING_KEYS = {"profiles", "min_tasks"}
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ANTHROPIC_KEYS = {
    "model", "max_tokens", "max_turns", "system", "temperature", "command_timeout", "max_retries",
    "request_timeout",
}
NOT_FOR_ANTHROPIC = ("argv", "output", "follow_up")  # an API agent has no program
ACP_KEYS = {"mode", "fs_read", "fs_write", "terminals", "turn_tokens"}
NOT_FOR_ACP = ("output", "follow_up")  # the protocol carries both
CLAUDE_KEYS = {"model", "permission_mode", "max_turns", "append_system", "cli_path"}
PERMISSION_KEYS = {"read", "edit", "execute", "fetch", "other", "outside", "headless", "allow", "deny"}
PROFILE_KEYS = {
    "extends", "kind", "argv", "output", "env", "copy_files", "follow_up", "max_parallel", "description",
    "budget_usd", "budget_tokens", "breaker_threshold", "breaker_cooldown", "install", "permissions",
} | ANTHROPIC_KEYS | ACP_KEYS | CLAUDE_KEYS


@dataclass(frozen=True)
class RoutingSettings:
    """``[routing]``: the candidates of ``agent = "auto"`` (None: every profile not of kind shell) and
    the past tasks a profile needs before its record counts for ``routing = "best"``."""

    profiles: tuple[str, ...] | None = None
    min_tasks: int = DEFAULT_MIN_TASKS


@dataclass(frozen=True)
class RawSection:
    """A top-level table the engine does not read, kept as written for the caller that declared it."""

    name: str
    path: Path  # the file it came from
    data: Any


@dataclass
class Config:
    profiles: ProfileSet = field(default_factory=ProfileSet)
    files: list[Path] = field(default_factory=list)  # the files read, lowest precedence first
    prices: dict[str, dict[str, float]] = field(default_factory=dict)  # [prices."model"] overrides
    roles: dict[str, Role] = field(default_factory=lambda: dict(BUILTIN_ROLES))
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    extra: list[RawSection] = field(default_factory=list)  # tables a caller declared, lowest precedence first

    def price_table(self) -> PriceTable:
        """The built-in price table with this config's overrides."""
        return load_prices(self.prices)


def user_config_path() -> Path:
    return config_dir() / CONFIG_NAME


def config_paths(repo_root: Path | None) -> list[Path]:
    """The config files that exist, lowest precedence first."""
    candidates = [user_config_path()]
    if repo_root is not None:
        candidates.append(repo_root / CONFIG_NAME)
    return [p for p in candidates if p.is_file()]


def load_config(repo_root: Path | None, extra_sections: tuple[str, ...] = ()) -> Config:
    """The merged config. Top-level tables named in ``extra_sections`` are not the engine's: they are
    kept raw in ``Config.extra`` (with their file) for the caller to check, instead of being refused."""
    config = Config(ProfileSet(builtin_profiles()))
    routing_from: Path | None = None
    for path in config_paths(repo_root):
        data, _ = read_toml(path, ConfigError)
        for name in extra_sections:
            if name in data and name not in TOP_KEYS:
                config.extra.append(RawSection(name, path, data.pop(name)))
        _apply(config, data, path)
        if "profiles" in data.get("routing", {}):
            routing_from = path
        config.files.append(path)
    if config.routing.profiles is not None:  # checked once every file has added its profiles
        for name in config.routing.profiles:
            if name not in config.profiles:
                raise ConfigError(f"{routing_from}: [routing] profiles: unknown agent profile {name!r} "
                                  f"(known: {', '.join(config.profiles.names())})")
    return config


def _apply(config: Config, data: dict[str, Any], path: Path) -> None:
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    _prices(config, data.get("prices", {}), path)
    agents = data.get("agents", {})
    if not isinstance(agents, dict):
        raise ConfigError(f"{path}: 'agents' must be a table of profiles, not {type_name(agents)}")
    for name, table in agents.items():
        where = f"{path}: [agents.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, not {type_name(table)}")
        if name == AUTO:
            raise ConfigError(f"{where}: the name {AUTO!r} is reserved (agent = \"auto\" lets the engine choose)")
        config.profiles.profiles[name] = _profile(name, table, config.profiles, where)
    _roles(config, data.get("roles", {}), path)
    _routing(config, data.get("routing", {}), path)


def _roles(config: Config, roles: object, path: Path) -> None:
    if not isinstance(roles, dict):
        raise ConfigError(f"{path}: 'roles' must be a table of roles, not {type_name(roles)}")
    for name, table in roles.items():
        where = f"{path}: [roles.{name}]"
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(f"{where}: a role name is letters, digits, '-', '_' or '.'")
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, not {type_name(table)}")
        unknown = sorted(set(table) - ROLE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(ROLE_KEYS))})")
        base = config.roles.get(name)
        instructions = table.get("instructions", base.instructions if base else None)
        if instructions is None:
            raise ConfigError(f"{where}: a new role needs 'instructions' (the text added to its tasks' prompts)")
        if not isinstance(instructions, str) or not instructions.strip():
            raise ConfigError(f"{where}: instructions must be non-empty text")
        diffs = table.get("dependency_diffs", base.dependency_diffs if base else False)
        if not isinstance(diffs, bool):
            raise ConfigError(f"{where}: dependency_diffs must be true or false, not {diffs!r}")
        description = table.get("description", base.description if base else "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}: description must be a string")
        config.roles[name] = Role(name, instructions.strip(), diffs, description)


def _routing(config: Config, table: object, path: Path) -> None:
    where = f"{path}: [routing]"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'routing' must be a table, not {type_name(table)}")
    unknown = sorted(set(table) - ROUTING_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(ROUTING_KEYS))})")
    settings = config.routing
    if "profiles" in table:
        names = table["profiles"]
        if (not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names)
                or len(set(names)) != len(names)):
            raise ConfigError(f"{where}: profiles must be a non-empty array of distinct profile names")
        if AUTO in names:
            raise ConfigError(f"{where}: profiles lists the profiles \"auto\" chooses from; {AUTO!r} is not one")
        settings = replace(settings, profiles=tuple(names))
    if "min_tasks" in table:
        settings = replace(settings, min_tasks=_whole(table["min_tasks"], f"{where}: min_tasks", 1))
    config.routing = settings


def _prices(config: Config, prices: object, path: Path) -> None:
    if not isinstance(prices, dict):
        raise ConfigError(f"{path}: 'prices' must be a table of models, not {type_name(prices)}")
    merged = {model: dict(values) for model, values in config.prices.items()}
    for model, table in prices.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [prices.{model!r}] must be a table, not {type_name(table)}")
        merged[model] = {**merged.get(model, {}), **table}
    try:
        load_prices(merged)
    except PriceError as exc:
        raise ConfigError(f"{path}: [prices]: {exc}") from None
    config.prices = merged


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
        if "argv" not in table and table.get("kind") not in ("shell", "anthropic", "claude"):
            raise ConfigError(
                f"{where}: a new profile needs 'argv' (or 'extends' of a known profile, "
                "or kind = \"anthropic\" with a model, or kind = \"claude\")"
            )
        profile = AgentProfile(name)

    changes: dict[str, Any] = {}
    if "kind" in table:
        changes["kind"] = _choice(table["kind"], KINDS, f"{where}: kind")
        if changes["kind"] == "shell" and "argv" not in table:
            changes["argv"] = ("bash", "-c", PROMPT)
    elif profile.kind == "claude" and "argv" in table:
        # a program made from the SDK profile: `claude -p ...`, read as the claude-cli profile reads it
        changes["kind"] = "command"
        changes["output"] = "claude-stream-json"
    kind = changes.get("kind", profile.kind)
    for key in sorted(ACP_KEYS & set(table)) if kind != "acp" else ():
        raise ConfigError(f"{where}: unknown key {key!r} for a {kind} profile (it belongs to kind = \"acp\")")
    if "permissions" in table:
        changes["permissions"] = _permissions(table["permissions"], profile.permissions, f"{where}.permissions")
    if kind == "claude":
        changes.update(_claude(table, profile, where))
    elif profile.kind == "claude":
        changes["claude"] = None
    if kind == "anthropic":
        changes.update(_anthropic(table, profile, where))
    elif kind == "acp":
        changes.update(_acp(table, profile, where))
    elif kind != "claude":
        for key in sorted((ANTHROPIC_KEYS | CLAUDE_KEYS) & set(table)):
            raise ConfigError(
                f"{where}: unknown key {key!r} for a {kind} profile "
                f"(it belongs to kind = \"{'claude' if key in CLAUDE_KEYS - ANTHROPIC_KEYS else 'anthropic'}\")"
            )
        if profile.kind in ("anthropic", "acp", "claude"):  # a command or shell profile made from another kind
            changes["anthropic"] = changes["acp"] = None
            if "argv" not in table and "argv" not in changes:
                raise ConfigError(f"{where}: a {kind} profile needs 'argv'")
    if "argv" in table:
        argv = table["argv"]
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigError(f"{where}: argv must be a non-empty array of strings")
        if kind == "acp" and any(PROMPT in a for a in argv):
            raise ConfigError(f"{where}: an acp profile's argv holds no {PROMPT} (the prompt goes over the protocol)")
        if kind != "acp" and not any(PROMPT in a for a in argv):
            raise ConfigError(f"{where}: argv must hold the placeholder {PROMPT} in one of its elements")
        changes["argv"] = tuple(argv)
    if "output" in table:
        changes["output"] = _choice(table["output"], FORMATS, f"{where}: output")
    if "follow_up" in table:
        changes["follow_up"] = _choice(table["follow_up"], FOLLOW_UP, f"{where}: follow_up")
        output = changes.get("output", profile.output)
        if changes["follow_up"] == "stdin" and output == "claude-stream-json":
            # claude -p reads its input as the prompt: a message written there later is dropped
            raise ConfigError(f"{where}: follow_up = \"stdin\" does not work with claude -p, which reads no "
                              "message once started; the claude profile (Claude Code through its SDK) takes them")
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
    for key in ("description", "install"):
        if key in table:
            if not isinstance(table[key], str):
                raise ConfigError(f"{where}: {key} must be a string")
            changes[key] = table[key]
    if "budget_usd" in table:
        changes["budget_usd"] = _number(table["budget_usd"], f"{where}: budget_usd", "a number of dollars")
    if "budget_tokens" in table:
        changes["budget_tokens"] = _whole(table["budget_tokens"], f"{where}: budget_tokens", 1)
    if "breaker_threshold" in table:
        changes["breaker_threshold"] = _whole(table["breaker_threshold"], f"{where}: breaker_threshold", 1)
    if "breaker_cooldown" in table:
        try:
            changes["breaker_cooldown"] = parse_duration(table["breaker_cooldown"])
        except ValueError as exc:
            raise ConfigError(f"{where}: breaker_cooldown: {exc}") from None
    return profile.with_changes(**changes)


def _claude(table: dict[str, Any], profile: AgentProfile, where: str) -> dict[str, Any]:
    """The changes that make ``profile`` a ``claude`` (Claude Code through its SDK) profile."""
    for key in sorted((set(ANTHROPIC_KEYS) - CLAUDE_KEYS) & set(table)) + [k for k in NOT_FOR_ANTHROPIC if k in table]:
        raise ConfigError(f"{where}: {key!r} does not apply to kind = \"claude\"")
    settings: dict[str, Any] = {}
    for key in ("model", "append_system", "cli_path"):
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
            settings[key] = value.strip() if key != "append_system" else value
    if "permission_mode" in table:
        settings["permission_mode"] = _choice(table["permission_mode"], PERMISSION_MODES, f"{where}: permission_mode")
    if "max_turns" in table:
        settings["max_turns"] = _whole(table["max_turns"], f"{where}: max_turns", 1)
    base = profile.claude or ClaudeSettings()
    return {"claude": replace(base, **settings), "argv": (), "output": "text", "follow_up": "none"}


def _permissions(table: object, base: AskPolicy | None, where: str) -> AskPolicy:
    """``[agents.NAME.permissions]``: over the profile's own (or the default) policy."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, not {type_name(table)}")
    unknown = sorted(set(table) - PERMISSION_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(PERMISSION_KEYS))})")
    changes: dict[str, Any] = {}
    for key in ("read", "edit", "execute", "fetch", "other", "outside"):
        if key in table:
            changes[key] = _choice(table[key], RULES, f"{where}: {key}")
    if "headless" in table:
        changes["headless"] = _choice(table["headless"], ("allow", "deny"), f"{where}: headless")
    for key in ("allow", "deny"):
        if key in table:
            rules = table[key]
            if not isinstance(rules, list) or not all(isinstance(r, str) and r.strip() for r in rules):
                raise ConfigError(f"{where}: {key} must be an array of rules such as \"Bash(npm test*)\" or \"Write\"")
            changes[key] = tuple(r.strip() for r in rules)
    return replace(base or AskPolicy(), **changes)


def _anthropic(table: dict[str, Any], profile: AgentProfile, where: str) -> dict[str, Any]:
    """The changes that make ``profile`` an ``anthropic`` profile with the settings in ``table``."""
    for key in NOT_FOR_ANTHROPIC:
        if key in table:
            raise ConfigError(f"{where}: {key!r} does not apply to kind = \"anthropic\" (it runs no program)")
    settings: dict[str, Any] = {}
    if "model" in table:
        settings["model"] = _text(table["model"], f"{where}: model", "a model id such as \"claude-sonnet-4-6\"")
    base = profile.anthropic
    if base is None and "model" not in settings:
        raise ConfigError(f"{where}: a profile of kind \"anthropic\" needs 'model' (e.g. \"claude-sonnet-4-6\")")
    for key in ("max_tokens", "max_turns"):
        if key in table:
            settings[key] = _whole(table[key], f"{where}: {key}", 1)
    if "max_retries" in table:
        settings["max_retries"] = _whole(table["max_retries"], f"{where}: max_retries", 0)
    if "system" in table:
        if not isinstance(table["system"], str) or not table["system"].strip():
            raise ConfigError(f"{where}: system must be a non-empty string (the system prompt)")
        settings["system"] = table["system"]
    if "temperature" in table:
        value = table["temperature"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"{where}: temperature must be a number from 0 to 1, not {value!r}")
        settings["temperature"] = float(value)
    for key in ("command_timeout", "request_timeout"):
        if key in table:
            try:
                settings[key] = parse_duration(table[key])
            except ValueError as exc:
                raise ConfigError(f"{where}: {key}: {exc}") from None
    anthropic = AnthropicSettings(**settings) if base is None else replace(base, **settings)
    return {"anthropic": anthropic, "argv": (), "output": "text", "follow_up": "none"}


def _acp(table: dict[str, Any], profile: AgentProfile, where: str) -> dict[str, Any]:
    """The changes that make ``profile`` an ``acp`` profile with the settings in ``table``."""
    for key in NOT_FOR_ACP:
        if key in table:
            raise ConfigError(f"{where}: {key!r} does not apply to kind = \"acp\" (the protocol carries it)")
    if profile.kind != "acp" and "argv" not in table:
        raise ConfigError(f"{where}: a profile of kind \"acp\" needs 'argv' (the agent program, e.g. [\"codex-acp\"])")
    settings: dict[str, Any] = {}
    if "mode" in table:
        settings["mode"] = _text(table["mode"], f"{where}: mode", "the id of one of the agent's session modes")
    for key in ("fs_read", "fs_write", "terminals", "turn_tokens"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{where}: {key} must be true or false, not {table[key]!r}")
            settings[key] = table[key]
    base = profile.acp or AcpSettings()
    changes: dict[str, Any] = {"acp": replace(base, **settings), "anthropic": None, "output": "text", "follow_up": "none"}
    if profile.kind != "acp":
        changes["argv"] = ()
    return changes


def _text(value: object, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be {what}, not {value!r}")
    return value.strip()


def _whole(value: object, where: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{where} must be a whole number of at least {least}, not {value!r}")
    return value


def _number(value: object, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where} must be {what} more than zero, not {value!r}")
    return float(value)


def _choice(value: object, allowed: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{where} must be one of {', '.join(allowed)}, not {value!r}")
    return value
