"""How an engine runs a plan, beyond the plan itself: :class:`EngineOptions`, every field with a default."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.agents.base import Agent, AgentContext
from engine.breakers import DEFAULT_COOLDOWN, DEFAULT_THRESHOLD
from engine.events import EventBus
from engine.plan import TaskSpec
from engine.profiles import AgentProfile
from engine.roles import Role
from engine.routing import DEFAULT_MIN_TASKS, TrackRecord

AgentFactory = Callable[[TaskSpec, AgentProfile, AgentContext], Agent]


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """The options of a run; ``EngineOptions(**kwargs)`` from a caller's keywords, ``replace`` to vary one."""

    run_id: str | None = None  # default: made from the time and a random suffix
    max_parallel: int | None = None  # default: the plan's
    worktree_root: Path | None = None  # default: beside the repository (see WorktreeManager)
    use_worktrees: bool = True  # each task in a worktree of its own (needs a repository)
    agent_factory: AgentFactory | None = None  # default: scheduler.default_agent_factory
    backoff_base: float = 1.0  # seconds before the first automatic retry (doubled each time, with jitter)
    backoff_max: float = 60.0
    stop_grace: float = 3.0  # seconds between TERM and KILL when an agent is stopped
    bus: EventBus | None = None  # default: a new one
    # the run's spending limits, over the plan's
    budget_usd: float | None = None
    budget_tokens: int | None = None
    roles: dict[str, Role] | None = None  # the roles in force; default the built-in ones
    # past results by profile and role, for routing "best" (without it, best falls back to round-robin)
    track_record: TrackRecord | None = None
    # the candidates of agent = "auto" (default every profile not of kind shell)
    auto_profiles: tuple[str, ...] | list[str] | None = None
    min_track_record: int = DEFAULT_MIN_TASKS  # past tasks before a record counts
    # the circuit breakers' defaults (a profile may set its own)
    breaker_threshold: int = DEFAULT_THRESHOLD
    breaker_cooldown: float = DEFAULT_COOLDOWN
    # someone can answer the agents' questions (False for a headless run: the ask channel then answers
    # with the profiles' policies and never waits)
    interactive: bool = True
