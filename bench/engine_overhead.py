"""Engine overhead: no-op tasks through the Engine against bare asyncio.gather with a semaphore.

Plans of 1,000 and 10,000 tasks whose agent returns at once, in two shapes:
- chains: 100 chains, each task depending on the previous one of its chain;
- fanout: one root, every other task depending on it.
The baseline is ``asyncio.gather`` over as many no-op coroutines, each guarded by a shared
``asyncio.Semaphore(8)`` (the engine runs with max_parallel 8). Every figure is the best of a few
interleaved rounds, all in the same process and event loop.

Times are the CPU time of this process (``time.process_time``): both sides are single-threaded
pure Python with no I/O, so CPU time is what they cost, and other processes on a busy machine do not
blur it the way they blur wall time (which is printed too, for information).

Figures: ratio_10000 = engine time / gather time at 10,000 tasks (the worse shape);
growth_per_task = engine time per task at 10,000 / per task at 1,000 (the worse shape).
"""
from __future__ import annotations

import asyncio
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from engine.options import EngineOptions  # noqa: E402
from engine.plan import Plan, TaskSpec  # noqa: E402
from engine.profiles import ProfileSet  # noqa: E402
from engine.scheduler import Engine  # noqa: E402
from engine.states import TaskState  # noqa: E402
from noop_agent import noop_factory  # noqa: E402

PARALLEL = 8
SIZES = (1_000, 10_000)
CHAINS = 100
ROUNDS = 8


def chains_plan(n: int) -> Plan:
    length = n // CHAINS
    tasks = []
    for c in range(CHAINS):
        for i in range(length):
            deps = (f"c{c}-{i - 1}",) if i else ()
            tasks.append(TaskSpec(f"c{c}-{i}", f"chain {c} step {i}", "true", "shell", deps))
    return Plan(tuple(tasks), max_parallel=PARALLEL)


def fanout_plan(n: int) -> Plan:
    tasks = [TaskSpec("root", "root", "true", "shell")]
    tasks += [TaskSpec(f"t{i}", f"leaf {i}", "true", "shell", ("root",)) for i in range(1, n)]
    return Plan(tuple(tasks), max_parallel=PARALLEL)


async def engine_once(plan: Plan, profiles: ProfileSet) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``plan``."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    engine = Engine(plan, profiles, None, EngineOptions(use_worktrees=False, max_parallel=PARALLEL,
                                                        agent_factory=noop_factory))
    states = await engine.run()
    elapsed = time.process_time() - cpu, time.perf_counter() - start
    bad = sum(1 for s in states.values() if s is not TaskState.SUCCEEDED)
    if bad or len(states) != len(plan.tasks):
        raise SystemExit(f"engine run went wrong: {bad} of {len(states)} tasks did not succeed")
    return elapsed


async def _noop(sem: asyncio.Semaphore) -> None:
    async with sem:
        return None


async def gather_once(n: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of gathering ``n`` no-op coroutines behind the semaphore."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    sem = asyncio.Semaphore(PARALLEL)
    await asyncio.gather(*(_noop(sem) for _ in range(n)))
    return time.process_time() - cpu, time.perf_counter() - start


async def main() -> int:
    profiles = ProfileSet()
    builders = {"chains": chains_plan, "fanout": fanout_plan}
    # warm up imports, caches and the loop
    await engine_once(chains_plan(200), profiles)
    await gather_once(200)
    plans = {(shape, n): build(n) for n in SIZES for shape, build in builders.items()}
    engine_times: dict[tuple[str, int], list[tuple[float, float]]] = {key: [] for key in plans}
    gather_times: dict[int, list[tuple[float, float]]] = {n: [] for n in SIZES}
    # rounds interleave every measure, so that a slow moment of the machine hits them all alike
    for _ in range(ROUNDS):
        for n in SIZES:
            gather_times[n].append(await gather_once(n))
            for shape in builders:
                engine_times[(shape, n)].append(await engine_once(plans[(shape, n)], profiles))

    def best(times: list[tuple[float, float]]) -> tuple[float, float]:
        return min(t[0] for t in times), min(t[1] for t in times)

    engine_best = {key: best(times)[0] for key, times in engine_times.items()}
    gather_best = {n: best(times)[0] for n, times in gather_times.items()}
    print(f"best of {ROUNDS} rounds; CPU time of this process (wall time in brackets, for information)")
    for n in SIZES:
        g_cpu, g_wall = best(gather_times[n])
        print(f"n={n:>6}  gather+semaphore({PARALLEL}): {g_cpu * 1e3:7.1f} ms ({g_wall * 1e3:7.1f}) "
              f"= {g_cpu / n * 1e6:6.2f} us/task")
        for shape in builders:
            e_cpu, e_wall = best(engine_times[(shape, n)])
            print(f"n={n:>6}  engine {shape:<7}     : {e_cpu * 1e3:7.1f} ms ({e_wall * 1e3:7.1f}) "
                  f"= {e_cpu / n * 1e6:6.2f} us/task, ratio vs gather {e_cpu / g_cpu:5.2f} "
                  f"(wall {e_wall / g_wall:5.2f})")

    big, small = SIZES[-1], SIZES[0]
    ratios = {shape: engine_best[(shape, big)] / gather_best[big] for shape in builders}
    growth = {
        shape: (engine_best[(shape, big)] / big) / (engine_best[(shape, small)] / small)
        for shape in builders
    }
    for shape in builders:
        print(f"{shape:<7}: ratio at {big} = {ratios[shape]:.2f}, growth per task "
              f"{small}->{big} = {growth[shape]:.2f}")
    print(f"BENCH engine_overhead ratio_{big} {max(ratios.values()):.2f} target <= 3.0")
    print(f"BENCH engine_overhead growth_per_task {max(growth.values()):.2f} target <= 1.5")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
