"""The ``anthropic`` agent on its own, against the local stand-in server: the ``stub`` and ``worktree``
fixtures (import them into a test module to use them) and a :class:`Harness` that records what the
agent shows and reports."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from engine.agents.anthropic_agent import AnthropicAgent
from engine.agents.base import AgentContext
from engine.profiles import AgentProfile, AnthropicSettings
from engine.usage import Usage
from tests.helpers.anthropic_stub import served
from tests.helpers.events import EVENT_TIMEOUT

SDK_ENV = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_CONFIG_DIR")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in SDK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "_anthropic"))  # no credentials on disk
    with served(monkeypatch) as server:
        yield server


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    path = tmp_path / "worktree"
    path.mkdir()
    (path / "README.md").write_text("# demo\n")
    return path


def api_profile(name: str = "api", **settings: Any) -> AgentProfile:
    settings.setdefault("model", "claude-sonnet-4-6")
    settings.setdefault("max_retries", 2)
    return AgentProfile(name, kind="anthropic", anthropic=AnthropicSettings(**settings))


class Harness:
    """One agent with a context that records what it shows and reports."""

    def __init__(self, workdir: Path, prompt: str = "do the task", **settings: Any) -> None:
        self.lines: list[str] = []
        self.usages: list[Usage] = []
        ctx = AgentContext("t", prompt, str(workdir), dict(os.environ), 1, self._emit, self.usages.append)
        self.agent = AnthropicAgent(api_profile(**settings), ctx)

    def _emit(self, stream: str, lines: list[str]) -> None:
        assert stream == "agent"
        assert all(isinstance(line, str) and "\n" not in line for line in lines)
        self.lines.extend(lines)

    async def run(self):
        return await asyncio.wait_for(self.agent.run(), EVENT_TIMEOUT)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)
