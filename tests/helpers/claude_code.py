"""The real Claude Code (the CLI the Claude Agent SDK brings) pointed at the stand-in Messages API.

``claude_stub`` starts the stand-in and sets the environment so that Claude Code talks to it alone: the
key and base URL, a home and config folder of its own under tmp_path (no login, no settings of the
machine's), and no auto-update, telemetry or other traffic. Seen offline: with these it sends nothing
but ``POST /v1/messages`` (streaming).
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.asks import AskPolicy
from engine.profiles import AgentProfile, ClaudeSettings, ProfileSet
from tests.helpers.anthropic_stub import served
from tests.helpers.events import EVENT_TIMEOUT, eventually

MODEL = "claude-sonnet-4-6"
QUIET = {"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
         "DISABLE_ERROR_REPORTING": "1"}


def quiet_claude_code(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Claude Code with a config folder of its own under ``home`` and no traffic but the API's: no login,
    no settings of the machine's, no auto-update or telemetry (the key and URL are the stand-in's)."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    for name in ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDECODE",
                 "IS_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    for name, value in QUIET.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def claude_stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    home = tmp_path / "_claude_home"
    monkeypatch.setenv("HOME", str(home))
    quiet_claude_code(monkeypatch, home)
    with served(monkeypatch) as server:
        yield server


def claude_profiles(policy: AskPolicy | None = None, **settings: Any) -> ProfileSet:
    """The built-in profiles with ``claude`` on the stand-in's model and ``policy``."""
    settings.setdefault("model", MODEL)
    extra = {k: settings.pop(k) for k in ("budget_usd", "budget_tokens", "breaker_threshold") if k in settings}
    profile = AgentProfile("claude", kind="claude", claude=ClaudeSettings(**settings), permissions=policy, **extra)
    profiles = ProfileSet()
    profiles.profiles["claude"] = profile
    return profiles


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last message of a request."""
    content = body["messages"][-1]["content"]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(content, list) else []


def sent_text(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"], ensure_ascii=False)


async def answer_next(engine: Any, kind: str, scope: str = "once", reason: str = "", timeout: float = EVENT_TIMEOUT):
    """Wait for a question of the engine, answer the oldest; the question."""
    waiting = await eventually(engine.asks.waiting, timeout, "a question")
    question = waiting[0]
    engine.answer(question.id, kind, scope, reason)
    return question
