"""Agent profiles: how to start an agent, read its output and talk to it.

A profile is an argv with a ``{prompt}`` placeholder (the prompt is one argv element, never part of
a shell string built by us), an output format, an optional environment, optional files to copy into
each worktree, and whether it takes follow-up messages on its standard input.

A profile of kind ``acp`` names a program that speaks the Agent Client Protocol
(:mod:`engine.agents.acp_agent`): its argv has no ``{prompt}`` (the prompt goes over the protocol), and
its :class:`AcpSettings` (the field ``acp``) say what the cockpit offers it.

A profile of kind ``anthropic`` has no program: it is a coding agent on the Anthropic Messages API
(:mod:`engine.agents.anthropic_agent`), configured by its :class:`AnthropicSettings` (the field
``anthropic``, None for every other kind). ``budget_usd`` and ``budget_tokens`` are limits of one
task's spending, for any kind that reports usage. ``max_parallel`` bounds the tasks running on the
profile at once (on top of the plan's bound); ``breaker_threshold`` and ``breaker_cooldown`` tune its
circuit breaker (:mod:`engine.breakers`). ``install`` tells how to install its program (named when the
program is missing); ``checked_version`` is the oldest version of the program a built-in profile was
checked with (named when the program fails at start); ``leave_out`` are paths the program leaves in the
worktree that are not its work (its history and caches): they are never committed.

Built-in profiles can be overridden or extended in ``cockpit.toml`` (see :mod:`engine.config`).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from engine.asks import AskPolicy

KINDS = ("acp", "anthropic", "claude", "command", "shell")
FOLLOW_UP = ("none", "stdin")
PROMPT = "{prompt}"
API_KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")  # what the Anthropic SDK reads, in order


@dataclass(frozen=True)
class AnthropicSettings:
    """How an ``anthropic`` agent calls the Messages API."""

    model: str
    max_tokens: int = 8192  # per response
    max_turns: int = 30  # model responses per attempt
    system: str | None = None  # None: the built-in coding-agent system prompt
    temperature: float | None = None  # None: the API's default
    command_timeout: float = 120.0  # seconds, for each run_command tool call
    max_retries: int = 3  # the SDK's own retries of a failed request (429, 5xx, 529, connection)
    request_timeout: float = 600.0  # seconds, the SDK's timeout of one request


PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
CLAUDE_SDK = "claude_agent_sdk"
CLAUDE_SDK_INSTALL = "pip install 'session-cockpit[claude]'"


@dataclass(frozen=True)
class ClaudeSettings:
    """How a ``claude`` profile runs Claude Code through its SDK (``claude-agent-sdk``)."""

    model: str | None = None  # None: Claude Code's own default
    permission_mode: str = "default"  # Claude Code's: what it asks about at all (the ask channel answers)
    max_turns: int | None = None
    append_system: str | None = None  # added to Claude Code's own system prompt
    cli_path: str | None = None  # a Claude Code of the user's own; None: the one the SDK brings


@dataclass(frozen=True)
class AcpSettings:
    """What the cockpit offers an ``acp`` agent and how it answers it."""

    mode: str | None = None  # the session mode to set after the session opens (e.g. codex-acp's "auto")
    fs_read: bool = True  # serve fs/read_text_file (inside the worktree)
    fs_write: bool = True  # serve fs/write_text_file (inside the worktree)
    terminals: bool = True  # serve terminal/* (commands in the worktree, ended with the task)
    # whether the usage of a prompt response is what the turn was billed: opencode 1.18 gives only its
    # last model call's there (a turn with a tool call makes two or more), so its tokens stay unknown
    turn_tokens: bool = True


@dataclass(frozen=True)
class AgentProfile:
    name: str
    kind: str = "command"
    argv: tuple[str, ...] = ()
    output: str = "text"
    env: tuple[tuple[str, str], ...] = ()
    copy_files: tuple[str, ...] = ()
    follow_up: str = "none"
    max_parallel: int | None = None
    description: str = ""
    anthropic: AnthropicSettings | None = None  # kind "anthropic" only
    acp: AcpSettings | None = None  # kind "acp" only
    install: str = ""  # how to install the program, e.g. "npm install -g @openai/codex"
    checked_version: str = ""  # the oldest version of the program the profile was checked with
    leave_out: tuple[str, ...] = ()  # paths (git pathspecs) the program leaves that are not its work
    claude: ClaudeSettings | None = None  # kind "claude" only
    budget_usd: float | None = None  # spending limits of one task (enforced by the scheduler)
    budget_tokens: int | None = None
    breaker_threshold: int | None = None  # external failures in a row that open its breaker (None: 3)
    breaker_cooldown: float | None = None  # seconds an open breaker waits before a trial (None: 5m)
    permissions: AskPolicy | None = None  # what its agents may do without asking (None: engine.asks' default)

    def command(self, prompt: str) -> list[str]:
        """The argv for ``prompt``: each ``{prompt}`` inside an element is replaced literally."""
        return [arg.replace(PROMPT, prompt) for arg in self.argv]

    @property
    def program(self) -> str:
        return self.argv[0] if self.argv else ""

    def missing_program(self, path: str | None = None) -> str | None:
        """A clear message when the profile's program cannot be found, else None.

        For kind ``anthropic`` the "program" is the API: the message says when no API key is set.
        """
        if self.kind == "claude":
            return claude_sdk_missing(self)
        if self.kind == "anthropic":
            if self.anthropic is None:
                return f"agent profile {self.name!r} of kind anthropic has no model"
            if not has_api_key():
                return (f"agent profile {self.name!r} calls the Anthropic API, but ANTHROPIC_API_KEY "
                        "is not set")
            return None
        program = self.program
        if not program:
            return f"agent profile {self.name!r} has an empty argv"
        if os.sep in program:
            if os.access(program, os.X_OK):
                return None
        elif shutil.which(program, path=path) is not None:
            return None
        hint = f" (install it: {self.install})" if self.install else " (not found on PATH)"
        return f"agent profile {self.name!r}: program {program!r} is not installed{hint}"

    def environment(self) -> dict[str, str]:
        return dict(self.env)

    def with_changes(self, **changes: object) -> "AgentProfile":
        return replace(self, **changes)  # type: ignore[arg-type]


def claude_sdk_missing(profile: AgentProfile) -> str | None:
    """What to install (one line) when a ``claude`` profile cannot run: the SDK is not installed, or the
    CLI it names is not there; None when all is there."""
    import importlib.util

    if importlib.util.find_spec(CLAUDE_SDK) is None:
        return (f"agent profile {profile.name!r} runs Claude Code through the Claude Agent SDK, which is not "
                f"installed: {CLAUDE_SDK_INSTALL}")
    cli = profile.claude.cli_path if profile.claude is not None else None
    if cli and shutil.which(cli) is None:
        return f"agent profile {profile.name!r}: Claude Code {cli!r} is not installed (not found)"
    return None


def has_api_key(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment holds a key the Anthropic SDK will use (an empty value is none)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in API_KEY_VARS)


def check_api_key(profiles_used: Iterable[AgentProfile], environ: Mapping[str, str] | None = None) -> str | None:
    """One line for the user when some of ``profiles_used`` call the Anthropic API and no API key is
    set (so a plan can be refused before anything starts); None when all is well."""
    names = sorted({p.name for p in profiles_used if p.kind == "anthropic"})
    if not names or has_api_key(environ):
        return None
    which = ", ".join(repr(n) for n in names)
    subject = f"agent profile {which} calls" if len(names) == 1 else f"agent profiles {which} call"
    return (f"ANTHROPIC_API_KEY is not set: {subject} the Anthropic API "
            "(export ANTHROPIC_API_KEY=... or choose another agent)")


def builtin_profiles() -> dict[str, AgentProfile]:
    profiles = [
        AgentProfile(
            "shell", kind="shell", argv=("bash", "-c", PROMPT), follow_up="stdin",
            description="the prompt is a bash script",
        ),
        AgentProfile(
            "claude", kind="claude", claude=ClaudeSettings(),
            description="Claude Code through its SDK: its permission requests come to you",
        ),
        AgentProfile(
            "claude-cli",
            argv=("claude", "-p", PROMPT, "--output-format", "stream-json", "--verbose",
                  "--permission-mode", "acceptEdits"),
            output="claude-stream-json",
            description="Claude Code in print mode (edits accepted, commands refused: it cannot ask)",
        ),
        AgentProfile(
            "codex", argv=("codex", "exec", "--json", "--sandbox", "workspace-write", PROMPT), output="codex-json",
            description="OpenAI Codex CLI, non-interactive, writing inside its worktree",
            install="npm install -g @openai/codex", checked_version="0.171.0",
        ),
        AgentProfile(
            "aider",
            # --no-stream: the token figures are then the API's, not aider's own count; --no-analytics and
            # --no-show-model-warnings: --yes-always would otherwise answer their questions for the user;
            # no auto-commits: aider's commit-message call is not in its token report (the cockpit commits)
            argv=("aider", "--message", PROMPT, "--yes-always", "--no-pretty", "--no-stream", "--no-analytics",
                  "--no-check-update", "--no-show-release-notes", "--no-show-model-warnings", "--no-gitignore",
                  "--no-auto-commits"),
            output="aider", env=(("COLUMNS", "1000"),),  # its reports are not wrapped at 80 columns
            leave_out=(".aider*",),
            description="aider, one message", install="pip install aider-chat", checked_version="0.86.2",
        ),
        AgentProfile(
            "gemini", argv=("gemini", "-p", PROMPT, "--yolo", "--skip-trust", "--output-format", "stream-json"),
            output="gemini-stream-json", description="Gemini CLI, non-interactive",
            install="npm install -g @google/gemini-cli", checked_version="0.61.0",
        ),
        AgentProfile(
            "claude-acp", kind="acp", argv=("claude-code-acp",), acp=AcpSettings(),
            # As root, the Claude Code CLI the adapter starts exits before the session opens
            # ("--dangerously-skip-permissions cannot be used with root/sudo privileges", seen with 0.16.2,
            # the task then fails with "Query closed before response received") unless IS_SANDBOX=1. The
            # variable only lifts that refusal (and lets the CLI retry an overloaded API longer): the session
            # still starts in the default mode, every edit and command it wants is asked on the ask channel.
            env=(("IS_SANDBOX", "1"),) if _is_root() else (),
            description="Claude Code over the Agent Client Protocol (Zed's adapter)",
            install="npm install -g @zed-industries/claude-code-acp", checked_version="0.16.2",
        ),
        AgentProfile(
            "codex-acp", kind="acp", argv=("codex-acp",), acp=AcpSettings(mode="auto"),
            description="Codex over the Agent Client Protocol, writing inside its worktree (its sandbox needs bwrap)",
            install="npm install -g @zed-industries/codex-acp",
        ),
        AgentProfile(
            # reads through the client are off: gemini 0.61 cannot create a file when they are on (it
            # does not recognise the protocol's "resource not found" for the file it is about to create)
            "gemini-acp", kind="acp", argv=("gemini", "--acp", "--skip-trust"), acp=AcpSettings(fs_read=False),
            description="Gemini CLI over the Agent Client Protocol",
            install="npm install -g @google/gemini-cli",
        ),
        AgentProfile(
            "opencode", kind="acp", argv=("opencode", "acp"), acp=AcpSettings(turn_tokens=False),
            description="opencode over the Agent Client Protocol", install="npm install -g opencode-ai",
            checked_version="1.18.33",
        ),
        AgentProfile(
            "sonnet", kind="anthropic", anthropic=AnthropicSettings(model="claude-sonnet-4-6"),
            description="Claude Sonnet 4.5 on the Anthropic API, with file and command tools",
        ),
    ]
    return {p.name: p for p in profiles}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class ProfileSet:
    """The profiles in force, by name."""

    profiles: dict[str, AgentProfile] = field(default_factory=builtin_profiles)

    def __contains__(self, name: object) -> bool:
        return name in self.profiles

    def __getitem__(self, name: str) -> AgentProfile:
        return self.profiles[name]

    def names(self) -> list[str]:
        return sorted(self.profiles)
