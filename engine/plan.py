"""Plans: the TOML file of tasks a run executes, validated with located, one-line errors.

::

    max_parallel = 4            # optional
    base = "main"               # optional: what the worktrees start from; default the current HEAD
    agent = "shell"             # optional: the default agent profile of the tasks
    budget_usd = 5.0            # optional: the run's spending limit; reached, no new task starts
    budget_tokens = 2_000_000   # optional: the same in tokens (input + output + cache write + read)
    check = "pytest -q"         # optional: the default check of every task (see engine.checks)
    check_timeout = "10m"       # optional: the checks' timeout (default 10m)
    routing = "best"            # optional: how "auto" / a list of profiles is decided (default fixed)

    [[task]]
    id = "spec"
    title = "Write the spec"
    agent = "claude"            # a profile; or "auto", or ["claude", "codex"]: the engine chooses
    prompt = "Write docs/spec.md for ..."
    timeout = "15m"             # optional
    retries = 1                 # optional: also the attempts a failed check gets
    depends_on = ["other"]      # optional
    budget_usd = 0.5            # optional: this task's limit (over its profile's); reached, it is
    budget_tokens = 200_000     #   stopped and ends budget_exceeded
    role = "spec-writer"        # optional: a role (engine.roles) adds its instructions to the prompt
    check = ["pytest", "-q"]    # optional: a command line (bash -c) or an argv; "" or false: none
    check_timeout = "5m"        # optional
    routing = "round-robin"     # optional, for "auto" or a list: fixed | round-robin | best
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from engine.checks import check_text
from engine.durations import parse_duration
from engine.errors import PlanError
from engine.profiles import ProfileSet
from engine.roles import BUILTIN_ROLES, Role
from engine.routing import AUTO, DEFAULT_STRATEGY, STRATEGIES
from engine.toml_files import read_toml, type_name

PLAN_KEYS = {"max_parallel", "base", "agent", "task", "budget_usd", "budget_tokens", "check", "check_timeout",
             "routing"}
TASK_KEYS = {"id", "title", "prompt", "agent", "depends_on", "timeout", "retries", "budget_usd", "budget_tokens",
             "role", "check", "check_timeout", "routing"}
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
    role: str | None = None
    check: tuple[str, ...] = ()  # the check's argv (a command line is ("bash", "-c", LINE)); (): none
    check_timeout: float | None = None  # None: engine.checks.DEFAULT_CHECK_TIMEOUT
    # The engine chooses the profile among these (("auto",): every available one) with ``routing``;
    # () when ``agent`` names the profile. ``agent`` is then "auto" or the names joined with "|".
    agents: tuple[str, ...] = ()
    routing: str = DEFAULT_STRATEGY

    @property
    def check_text(self) -> str:
        """The check as written (a command line, or the argv quoted); "" without one."""
        return check_text(self.check) if self.check else ""


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


def load_plan(path: str | Path, profiles: ProfileSet, roles: Mapping[str, Role] | None = None) -> Plan:
    path = Path(path)
    data, text = read_toml(path, PlanError)
    return parse_plan(data, profiles, source=str(path), text=text, roles=roles)


def parse_plan(data: dict[str, Any], profiles: ProfileSet, source: str = "<plan>", text: str = "",
               roles: Mapping[str, Role] | None = None) -> Plan:
    """``roles``: the roles in force (default the built-in ones)."""
    roles = BUILTIN_ROLES if roles is None else roles
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
    if default_agent is not None and not isinstance(default_agent, (str, list)):
        raise fail(f"agent must be a string naming a profile, not {type_name(default_agent)} "
                   "(or \"auto\", or an array of profiles)")
    budget_usd, budget_tokens = _budgets(data, "", fail)
    defaults = {
        "check": _check(data["check"], "", fail) if "check" in data else (),
        "check_timeout": _duration(data["check_timeout"], "check_timeout", fail) if "check_timeout" in data else None,
        "routing": _strategy(data["routing"], "", fail) if "routing" in data else DEFAULT_STRATEGY,
    }

    raw_tasks = data.get("task")
    if raw_tasks is None or raw_tasks == []:
        raise fail("no tasks: add at least one [[task]] table")
    if not isinstance(raw_tasks, list) or not all(isinstance(t, dict) for t in raw_tasks):
        raise fail("'task' must be an array of tables, written [[task]]")

    tasks: list[TaskSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_tasks):
        task = _task(raw, index, default_agent, profiles, roles, defaults, lambda m, i=index: fail(m, i))
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


def _task(raw: dict[str, Any], index: int, default_agent: Any, profiles: ProfileSet,
          roles: Mapping[str, Role], defaults: dict[str, Any], fail) -> TaskSpec:
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

    agent_value = raw.get("agent", default_agent)
    if agent_value is None:
        raise fail(f"{label} has no agent (set agent = \"shell\" or another profile)")
    agent, agents = _agent(agent_value, profiles, f"{label}: ", fail)
    routing = defaults["routing"]
    if "routing" in raw:
        routing = _strategy(raw["routing"], f"{label}: ", fail)
        if not agents:
            raise fail(f"{label}: routing applies to agent = \"auto\" or a list of profiles, not to the "
                       f"fixed profile {agent!r}")

    role = raw.get("role")
    if role is not None:
        if not isinstance(role, str):
            raise fail(f"{label}: role must be a string naming a role, not {type_name(role)}")
        if role not in roles:
            hint = _closest(role, roles)
            raise fail(f"{label}: unknown role {role!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                       + f" (known: {', '.join(sorted(roles))}; add one in cockpit.toml under [roles.NAME])")
    check = _check(raw["check"], f"{label}: ", fail) if "check" in raw else defaults["check"]
    check_timeout = defaults["check_timeout"]
    if "check_timeout" in raw:
        check_timeout = _duration(raw["check_timeout"], f"{label}: check_timeout", fail)

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
        budget_usd=budget_usd, budget_tokens=budget_tokens, role=role, check=check,
        check_timeout=check_timeout, agents=agents, routing=routing if agents else DEFAULT_STRATEGY,
    )


def _agent(value: Any, profiles: ProfileSet, label: str, fail) -> tuple[str, tuple[str, ...]]:
    """``(agent, agents)`` of a TaskSpec from ``agent = ...``: a profile, "auto" or a list of profiles."""
    known = ", ".join(profiles.names())
    if isinstance(value, str):
        if value == AUTO:
            return AUTO, (AUTO,)
        if value not in profiles:
            raise fail(f"{label}unknown agent profile {value!r} (known: {known}) (or \"auto\": the engine chooses)")
        return value, ()
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) for v in value):
            raise fail(f"{label}agent must be a profile, \"auto\", or a non-empty array of profiles")
        for name in value:
            if name == AUTO:
                raise fail(f"{label}agent: \"auto\" cannot be one of a list (it already means every available profile)")
            if name not in profiles:
                raise fail(f"{label}agent: unknown agent profile {name!r} (known: {known})")
        if len(set(value)) != len(value):
            raise fail(f"{label}agent: profile {next(v for v in value if value.count(v) > 1)!r} is listed twice")
        if len(value) == 1:
            return value[0], ()
        return "|".join(value), tuple(value)
    raise fail(f"{label}agent must be a string, not {type_name(value)} (a profile, \"auto\", or an array of "
               "profiles)")


def _strategy(value: Any, label: str, fail) -> str:
    if not isinstance(value, str) or value not in STRATEGIES:
        raise fail(f"{label}routing must be one of {', '.join(STRATEGIES)}, not {value!r}")
    return value


def _check(value: Any, label: str, fail) -> tuple[str, ...]:
    """A check's argv: a command line runs with ``bash -c``; "" or false: no check."""
    if value is False:
        return ()
    if isinstance(value, str):
        return ("bash", "-c", value) if value.strip() else ()
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value) and value[0].strip():
        return tuple(value)
    raise fail(f"{label}check must be a command line (a string), a non-empty array of strings (argv), "
               f"or \"\" / false for none, not {value!r}")


def _duration(value: Any, what: str, fail) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(f"{what}: {exc}") from None


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
