"""Engine streaming: lines per second from 8 fast-writing programs to one event-bus subscriber.

Each of 8 tasks runs a small Python program (through the shell profile, ``bash -c``) that writes
100,000 lines of 66 characters as fast as it can. Through the Engine (no worktrees), one
subscriber reads every event with ``get_batch`` and counts the lines of the ``LogLines`` events.
The baseline, in the same run, starts the same 8 programs with ``asyncio.create_subprocess_exec``
(same argv) and reads each one's stdout line by line (``async for line in proc.stdout``).
Both must count exactly 800,000 lines. Each side is the best of a few interleaved repeats.

Figure: ratio_vs_asyncio = engine lines/s / asyncio lines/s.
"""
from __future__ import annotations

import asyncio
import gc
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.events import LogLines  # noqa: E402
from engine.options import EngineOptions  # noqa: E402
from engine.plan import Plan, TaskSpec  # noqa: E402
from engine.profiles import ProfileSet  # noqa: E402
from engine.scheduler import Engine  # noqa: E402
from engine.states import TaskState  # noqa: E402

TASKS = 8
LINES = 100_000
REPEATS = 4


def program(task: int) -> str:
    """A bash script that runs Python writing LINES lines (66 characters each)."""
    code = (
        "import sys; sys.stdout.writelines("
        f"f'line {{i:>6}} of task {task}: the quick brown fox jumps over the lazy dog\\n' "
        f"for i in range({LINES}))"
    )
    return f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def make_plan() -> Plan:
    tasks = tuple(TaskSpec(f"w{t}", f"writer {t}", program(t), "shell") for t in range(TASKS))
    return Plan(tasks, max_parallel=TASKS)


async def engine_once(plan: Plan, profiles: ProfileSet) -> tuple[float, int, dict[str, int], int]:
    gc.collect()
    start = time.perf_counter()
    engine = Engine(plan, profiles, None, EngineOptions(use_worktrees=False, max_parallel=TASKS))
    sub = engine.bus.subscribe()
    per_task: dict[str, int] = {}
    events = 0
    other = 0

    async def consume() -> None:
        nonlocal events, other
        while True:
            batch = await sub.get_batch()
            if not batch:
                return
            events += len(batch)
            for event in batch:
                if type(event) is LogLines:
                    if event.stream == "stdout":
                        per_task[event.task_id] = per_task.get(event.task_id, 0) + len(event.lines)
                    else:
                        other += len(event.lines)
                        for line in event.lines:
                            print(f"  [{event.task_id} {event.stream}] {line}")

    consumer = asyncio.create_task(consume())
    states = await engine.run()
    await consumer
    elapsed = time.perf_counter() - start
    bad = {tid: str(s) for tid, s in states.items() if s is not TaskState.SUCCEEDED}
    if bad:
        print(f"  engine: tasks that did not succeed: {bad}")
    return elapsed, sum(per_task.values()), per_task, events


async def _read_lines(argv: list[str]) -> int:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    count = 0
    async for _line in proc.stdout:
        count += 1
    await proc.wait()
    return count


async def asyncio_once(plan: Plan, profiles: ProfileSet) -> tuple[float, int, list[int]]:
    gc.collect()
    start = time.perf_counter()
    shell = profiles["shell"]
    counts = await asyncio.gather(*(_read_lines(shell.command(t.prompt)) for t in plan.tasks))
    elapsed = time.perf_counter() - start
    return elapsed, sum(counts), list(counts)


async def main() -> int:
    profiles = ProfileSet()
    plan = make_plan()
    expected = TASKS * LINES
    engine_runs: list[float] = []
    asyncio_runs: list[float] = []
    ok = True
    for r in range(REPEATS):  # interleaved, so that a noisy moment hits both sides alike
        a_time, a_lines, a_counts = await asyncio_once(plan, profiles)
        asyncio_runs.append(a_time)
        print(f"run {r + 1}: asyncio readline: {a_lines:>7} lines in {a_time:6.3f} s "
              f"= {a_lines / a_time:>10,.0f} lines/s")
        e_time, e_lines, per_task, events = await engine_once(plan, profiles)
        engine_runs.append(e_time)
        print(f"run {r + 1}: engine + bus    : {e_lines:>7} lines in {e_time:6.3f} s "
              f"= {e_lines / e_time:>10,.0f} lines/s ({events} events)")
        if a_lines != expected or any(c != LINES for c in a_counts):
            ok = False
            print(f"  asyncio counted {a_lines} lines, expected {expected}: {a_counts}")
        if e_lines != expected or any(per_task.get(t.id) != LINES for t in plan.tasks):
            ok = False
            print(f"  engine counted {e_lines} lines, expected {expected}: {per_task}")
    e_best, a_best = min(engine_runs), min(asyncio_runs)
    e_rate, a_rate = expected / e_best, expected / a_best
    print(f"best of {REPEATS}: engine {e_rate:,.0f} lines/s, asyncio readline {a_rate:,.0f} lines/s; "
          f"line counts {'exact' if ok else 'WRONG'} ({TASKS} x {LINES:,} = {expected:,})")
    ratio = e_rate / a_rate if ok else 0.0
    if not ok:
        print("a side lost or invented lines: the ratio is reported as 0")
    print(f"BENCH engine_stream ratio_vs_asyncio {ratio:.2f} target >= 0.5")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
