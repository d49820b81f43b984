"""An in-process agent that does nothing and succeeds at once, for measuring the engine alone."""
from __future__ import annotations

from engine.agents.base import AgentContext, AgentExit
from engine.plan import TaskSpec
from engine.profiles import AgentProfile

_SUCCESS = AgentExit(0)


class NoopAgent:
    accepts_messages = False

    async def run(self) -> AgentExit:
        return _SUCCESS

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    async def stop(self, grace: float) -> None:
        pass

    async def send(self, text: str) -> None:
        pass


def noop_factory(spec: TaskSpec, profile: AgentProfile, ctx: AgentContext) -> NoopAgent:
    return NoopAgent()
