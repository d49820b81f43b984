"""Plans: the TOML file of tasks a run executes, validated with located, one-line errors.

::

    max_parallel = 4            # optional
    base = "main"               # optional: what the worktrees start from; default the current HEAD
    agent = "shell"             # optional: the default agent profile of the tasks
    budget_usd = 5.0            # optional: the run's spending limit; reached, no new task starts
    budget_tokens = 2_000_000   # optional: the same in tokens (input + output + cache write + read)

    [[task]]
    id = "spec"
    title = "Write the spec"
    agent = "claude"
    prompt = "Write docs/spec.md for ..."
    timeout = "15m"             # optional
    retries = 1                 # optional
    depends_on = ["other"]      # optional
    budget_usd = 0.5            # optional: this task's limit (over its profile's); reached, it is
    budget_tokens = 200_000     #   stopped and ends budget_exceeded
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from engine.durations import parse_duration
from engine.errors import PlanError
from engine.profiles import ProfileSet
from engine.toml_files import read_toml, type_name

PLAN_KEYS = {"max_parallel", "base", "agent", "task", "budget_usd", "budget_tokens"}
TASK_KEYS = {"id", "title", "prompt", "agent", "depends_on", "timeout", "retries", "budget_usd", "budget_tokens"}
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_RETRIES = 20


@dataclass(frozen=True)
class TaskSpec:
    id: str
    title: str
    prompt: str
    agent: str
    depends_on: tuple[str, ...] = ()
    timeout: float | None = None
    retries: int = 0
    budget_usd: float | None = None  # None: the profile's (if any)
    budget_tokens: int | None = None


@dataclass(frozen=True)
class Plan:
    tasks: tuple[TaskSpec, ...]
    max_parallel: int = 4
    base: str | None = None
    source: str = "<plan>"
    budget_usd: float | None = None  # the whole run's limits
    budget_tokens: int | None = None

    def task(self, task_id: str) -> TaskSpec:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)


def load_plan(path: str | Path, profiles: ProfileSet) -> Plan:
    path = Path(path)
    data, text = read_toml(path, PlanError)
    return parse_plan(data, profiles, source=str(path), text=text)


def parse_plan(data: dict[str, Any], profiles: ProfileSet, source: str = "<plan>", text: str = "") -> Plan:
    lines = _task_header_lines(text)

    def where(index: int | None = None) -> str:
        if index is None:
            return source
        line = lines[index] if index < len(lines) else None
        return f"{source}:{line}" if line else f"{source} (task #{index + 1})"

    def fail(message: str, index: int | None = None) -> PlanError:
        return PlanError(f"{where(index)}: {message}")

    _no_unknown(data, PLAN_KEYS, "key", fail)
    max_parallel = data.get("max_parallel", 4)
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        raise fail(f"max_parallel must be a whole number of at least 1, not {max_parallel!r}")
    base = data.get("base")
    if base is not None and (not isinstance(base, str) or not base.strip()):
        raise fail(f"base must be a branch, tag or commit name, not {base!r}")
    default_agent = data.get("agent")
    if default_agent is not None and not isinstance(default_agent, str):
        raise fail(f"agent must be a string naming a profile, not {type_name(default_agent)}")
    budget_usd, budget_tokens = _budgets(data, "", fail)

    raw_tasks = data.get("task")
    if raw_tasks is None or raw_tasks == []:
        raise fail("no tasks: add at least one [[task]] table")
    if not isinstance(raw_tasks, list) or not all(isinstance(t, dict) for t in raw_tasks):
        raise fail("'task' must be an array of tables, written [[task]]")

    tasks: list[TaskSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_tasks):
        task = _task(raw, index, default_agent, profiles, lambda m, i=index: fail(m, i))
        if task.id in seen:
            raise fail(f"duplicate task id {task.id!r} (first at {where(seen[task.id])})", index)
        seen[task.id] = index
        tasks.append(task)

    for index, task in enumerate(tasks):
        for dep in task.depends_on:
            if dep not in seen:
                raise fail(f"task {task.id!r} depends on unknown task {dep!r}", index)
            if dep == task.id:
                raise fail(f"task {task.id!r} depends on itself", index)
    cycle = find_cycle(tasks)
    if cycle:
        raise fail(f"dependency cycle: {' -> '.join(cycle)}", seen[cycle[0]])
    return Plan(tuple(tasks), max_parallel=max_parallel, base=base, source=source,
                budget_usd=budget_usd, budget_tokens=budget_tokens)


def _task(raw: dict[str, Any], index: int, default_agent: str | None, profiles: ProfileSet, fail) -> TaskSpec:
    task_id = raw.get("id")
    if task_id is None:
        raise fail("task has no 'id'")
    if not isinstance(task_id, str) or not ID_PATTERN.fullmatch(task_id) or task_id.endswith(".lock"):
        raise fail(
            f"task id {task_id!r} must be letters, digits, '-', '_' or '.' (it names a git branch)"
        )
    label = f"task {task_id!r}"
    _no_unknown(raw, TASK_KEYS, f"key in {label}", fail)

    prompt = raw.get("prompt")
    if prompt is None:
        raise fail(f"{label} has no prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise fail(f"{label}: prompt must be non-empty text")
    title = raw.get("title", task_id)
    if not isinstance(title, str):
        raise fail(f"{label}: title must be a string, not {type_name(title)}")

    agent = raw.get("agent", default_agent)
    if agent is None:
        raise fail(f"{label} has no agent (set agent = \"shell\" or another profile)")
    if not isinstance(agent, str):
        raise fail(f"{label}: agent must be a string, not {type_name(agent)}")
    if agent not in profiles:
        raise fail(f"{label}: unknown agent profile {agent!r} (known: {', '.join(profiles.names())})")

    deps = raw.get("depends_on", [])
    if isinstance(deps, str):
        deps = [deps]
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise fail(f"{label}: depends_on must be an array of task ids")

    timeout = raw.get("timeout")
    if timeout is not None:
        try:
            timeout = parse_duration(timeout)
        except ValueError as exc:
            raise fail(f"{label}: timeout: {exc}") from None

    retries = raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise fail(f"{label}: retries must be a whole number from 0 to {MAX_RETRIES}, not {retries!r}")
    budget_usd, budget_tokens = _budgets(raw, f"{label}: ", fail)
    return TaskSpec(
        id=task_id, title=title.strip() or task_id, prompt=prompt, agent=agent,
        depends_on=tuple(dict.fromkeys(deps)), timeout=timeout, retries=retries,
        budget_usd=budget_usd, budget_tokens=budget_tokens,
    )


def _budgets(table: dict[str, Any], label: str, fail) -> tuple[float | None, int | None]:
    """``budget_usd`` (dollars, more than zero) and ``budget_tokens`` (at least 1) of a table."""
    usd = table.get("budget_usd")
    if usd is not None and (isinstance(usd, bool) or not isinstance(usd, (int, float))
                            or not math.isfinite(usd) or usd <= 0):
        raise fail(f"{label}budget_usd must be a number of dollars more than zero, not {usd!r}")
    tokens = table.get("budget_tokens")
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1):
        raise fail(f"{label}budget_tokens must be a whole number of at least 1, not {tokens!r}")
    return (None if usd is None else float(usd)), tokens


def _no_unknown(table: dict[str, Any], known: set[str], what: str, fail) -> None:
    unknown = [k for k in table if k not in known]
    if unknown:
        hint = _closest(unknown[0], known)
        raise fail(f"unknown {what} {unknown[0]!r}" + (f" (did you mean {hint!r}?)" if hint else ""))


def _closest(word: str, choices: Iterable[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def find_cycle(tasks: Iterable[TaskSpec]) -> list[str] | None:
    """A dependency cycle as ``[a, b, a]``, or None. Iterative, so deep chains do not recurse."""
    deps = {t.id: t.depends_on for t in tasks}
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(deps, WHITE)
    for root in deps:
        if colour[root] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = GREY
        while stack:
            node, i = stack[-1]
            children = deps[node]
            if i < len(children):
                stack[-1] = (node, i + 1)
                child = children[i]
                if colour.get(child) == GREY:
                    return path[path.index(child):] + [child]
                if colour.get(child) == WHITE:
                    colour[child] = GREY
                    stack.append((child, 0))
                    path.append(child)
            else:
                colour[node] = BLACK
                stack.pop()
                path.pop()
    return None


def _task_header_lines(text: str) -> list[int]:
    """The line number of each ``[[task]]`` header, in order."""
    header = re.compile(r"^\s*\[\[\s*task\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if header.match(line)]
