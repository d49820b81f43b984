"""Real recorded sessions for the start-screen and summary-form tests: a shell plan run by the engine
in a real repository, recorded in a real store, its tasks accepted or discarded, the session ended."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from tests.helpers.events import EVENT_TIMEOUT, eventually
from sessions.git.facts import head_commit
from sessions.lifecycle import OpenSession
from sessions.live_session import LiveSession
from sessions.liveness import SessionLock
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.summary.builder import build_summary
from sessions.launch import prepare

# fields of EngineOptions, as prepare() and the launcher take them: tiny backoff and stop grace
ENGINE_OPTIONS = {"backoff_base": 0.01, "backoff_max": 0.05, "stop_grace": 0.3}
_plans = itertools.count(1)


# The demo's shape: tests depends on wordcount, changelog on docs and tests, so changelog's branch holds
# the work of all four (the accept and review tests).
DEPENDANT_PLAN: list[dict[str, Any]] = [
    {"id": "wordcount", "prompt": "printf 'def word_count(t):\\n    return len(t.split())\\n' >> textstats.py"},
    {"id": "docs", "prompt": "mkdir -p docs && printf '# Usage\\n\\nRun it.\\n' > docs/usage.md"},
    {"id": "tests", "depends_on": ["wordcount"], "prompt": "mkdir -p tests && printf 'test\\n' > tests/test_wc.py"},
    {"id": "changelog", "depends_on": ["docs", "tests"], "prompt": "printf '# Changelog\\n\\n- wc\\n' > CHANGELOG.md"},
]


def plan_toml(tasks: list[dict[str, Any]]) -> str:
    """A plan file's text; the default agent is ``shell``."""
    out = ['agent = "shell"', ""]
    for task in tasks:
        out.append("[[task]]")
        for key, value in task.items():
            if key == "prompt":
                out.append(f"prompt = '''\n{value}\n'''")
            elif isinstance(value, (str, list, tuple)):
                out.append(f"{key} = {json.dumps(value)}")  # a JSON string or array is TOML too
            else:
                out.append(f"{key} = {value}")
        out.append("")
    return "\n".join(out)


def write_plan(folder: Path, tasks: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plan-{next(_plans)}.toml"
    path.write_text(plan_toml(tasks))
    return path


async def start_live(store: Store, repo: Path, plan: Path, objective: str, date: str | None = None,
                     **options: Any) -> LiveSession:
    """A new recorded session of ``plan`` (not started), dated ``date`` (default: today)."""
    engine = prepare(plan, str(repo), None, lambda text: None, **{**ENGINE_OPTIONS, **options})
    assert engine.repo is not None
    row = await store.create_session(engine.repo, objective, head_commit(engine.repo), date=date)
    lock = SessionLock(store.path, row.id)
    assert lock.acquire()
    return LiveSession(store, OpenSession(row, lock, engine.repo), engine, str(plan))


async def run_session(store: Store, repo: Path, plan_dir: Path, tasks: list[dict[str, Any]], objective: str,
                      *, date: str | None = None, accept: tuple[str, ...] = (), discard: tuple[str, ...] = (),
                      saved_summary: bool = False, **options: Any) -> SessionRow:
    """Run ``tasks`` to their end in a new session, decide on them, end the session; its row.

    With ``saved_summary`` the session also gets its built summary saved (so it is not pending
    completion at the next start)."""
    live = await start_live(store, repo, write_plan(plan_dir, tasks), objective, date, **options)
    await live.start()
    await eventually(lambda: all(r.state.terminal for r in live.engine.tasks.values()), EVENT_TIMEOUT,
                     "every task ended")
    for key in accept:
        await live.accept(key)
    for key in discard:
        await live.discard(key, f"{key} is not wanted")
    row = await live.end()
    if saved_summary:
        await store.save_summary(row.id, (await build_summary(store, row)).to_dict(), draft=False)
    return row


async def record_mixed_usage(store: Store, repo: str = "/repo") -> SessionRow:
    """A session recorded through the event writer whose three tasks report usage as agents do: ``a`` a
    cost and no tokens (an ACP agent that reports none), ``b`` rounded figures (aider's "1.2k"), ``c``
    nothing at all."""
    import asyncio

    from engine.events import EventBus, RunStarted, TaskInfo, UsageUpdate
    from engine.usage import Usage
    from sessions.store.event_writer import EventWriter

    session = await store.create_session(repo, "objective", "base")
    await store.record_run("run-1", session.id, "plan.toml", None)
    bus = EventBus()
    writer = EventWriter(store, session.id, "run-1")
    task = asyncio.create_task(writer.run(bus.subscribe()))
    bus.publish(RunStarted("run-1", repo, "base", tuple(
        TaskInfo(key, f"Task {key.upper()}", agent, "do it", (), None, 0)
        for key, agent in (("a", "claude-acp"), ("b", "aider"), ("c", "shell")))))
    bus.publish(UsageUpdate("a", Usage(cost_usd=0.25, tokens_known=False)))
    bus.publish(UsageUpdate("b", Usage(tokens_in=1200, tokens_out=56, approximate=True)))
    bus.close()
    await task
    return next(s for s in await store.list_sessions() if s.id == session.id)
