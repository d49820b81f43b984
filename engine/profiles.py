"""Agent profiles: how to start an agent, read its output and talk to it.

A profile is an argv with a ``{prompt}`` placeholder (the prompt is one argv element, never part of
a shell string built by us), an output format, an optional environment, optional files to copy into
each worktree, and whether it takes follow-up messages on its standard input.

Built-in profiles can be overridden or extended in ``cockpit.toml`` (see :mod:`engine.config`).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace

KINDS = ("command", "shell")
FOLLOW_UP = ("none", "stdin")
PROMPT = "{prompt}"


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

    def command(self, prompt: str) -> list[str]:
        """The argv for ``prompt``: each ``{prompt}`` inside an element is replaced literally."""
        return [arg.replace(PROMPT, prompt) for arg in self.argv]

    @property
    def program(self) -> str:
        return self.argv[0] if self.argv else ""

    def missing_program(self, path: str | None = None) -> str | None:
        """A clear message when the profile's program cannot be found, else None."""
        program = self.program
        if not program:
            return f"agent profile {self.name!r} has an empty argv"
        if os.sep in program:
            if os.access(program, os.X_OK):
                return None
        elif shutil.which(program, path=path) is not None:
            return None
        return f"agent profile {self.name!r}: program {program!r} is not installed (not found on PATH)"

    def environment(self) -> dict[str, str]:
        return dict(self.env)

    def with_changes(self, **changes: object) -> "AgentProfile":
        return replace(self, **changes)  # type: ignore[arg-type]


def builtin_profiles() -> dict[str, AgentProfile]:
    profiles = [
        AgentProfile(
            "shell", kind="shell", argv=("bash", "-c", PROMPT), follow_up="stdin",
            description="the prompt is a bash script",
        ),
        AgentProfile(
            "claude",
            argv=("claude", "-p", PROMPT, "--output-format", "stream-json", "--verbose"),
            output="claude-stream-json",
            description="Claude Code in print mode",
        ),
        AgentProfile(
            "codex", argv=("codex", "exec", "--json", "--full-auto", PROMPT), output="codex-json",
            description="OpenAI Codex CLI, non-interactive",
        ),
        AgentProfile(
            "aider",
            argv=("aider", "--message", PROMPT, "--yes-always", "--no-pretty", "--no-stream"),
            description="aider, one message",
        ),
        AgentProfile(
            "gemini", argv=("gemini", "-p", PROMPT, "--yolo"), description="Gemini CLI, non-interactive",
        ),
    ]
    return {p.name: p for p in profiles}


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
