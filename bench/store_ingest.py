"""How fast the EventWriter stores log lines, against plain sqlite3 executemany in the same run.

500,000 log lines (8 tasks, 60-120 character lines, published on a real EventBus in LogLines events of
1-40 lines) go through EventWriter into a fresh store. The baseline inserts the same rows with plain
``sqlite3`` ``executemany`` in one transaction into the same schema with the same pragmas. Each side
runs ROUNDS times, back to back in each round, on fresh files. The figure is the median over the rounds
of each round's ratio: the two sides of a round see the same machine load, and the median ignores
the rounds another program disturbed (on a shared machine, one side's best can be a lucky outlier).

    python bench/store_ingest.py

Ends with ``BENCH store_ingest ratio_vs_sqlite3 <value> target >= 0.5``; exits 0 either way.
"""
from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.events import EventBus, LogLines, RunFinished, RunStarted, TaskInfo, TaskStateChanged  # noqa: E402
from engine.states import TaskState  # noqa: E402
from sessions.store.event_writer import EventWriter  # noqa: E402
from sessions.store.store import Store  # noqa: E402
from sessions.store.db import connection_pragmas, prepare_database  # noqa: E402

LINES = 500_000
TASKS = 8
ROUNDS = 7
TARGET = 0.5

_WORDS = (
    "building compiling module package running test passed failed warning error reading writing file "
    "src/app/models.py tests/test_api.py diff hunk applying patch tool_use edit_file read_file bash "
    "npm pytest cargo import resolve dependency cache hit miss retry timeout response tokens request"
).split()


def make_lines(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct log-like lines of 60-120 characters."""
    rnd = random.Random(seed)
    text = " ".join(rnd.choices(_WORDS, k=4000))
    levels = ("INFO ", "DEBUG", "WARN ")
    out = []
    for i in range(n):
        start = rnd.randrange(0, len(text) - 200)
        head = f"12:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d} {levels[i % 3]} [{i}] "
        out.append(head + text[start:start + rnd.randint(60, 120) - len(head)])
    return out


def make_events(lines: list[str], seed: int = 2) -> list[LogLines]:
    rnd = random.Random(seed)
    events: list[LogLines] = []
    i = 0
    while i < len(lines):
        size = rnd.randint(1, 40)
        task = f"t{rnd.randrange(TASKS)}"
        events.append(LogLines(task, rnd.choice(("stdout", "stdout", "stderr")), tuple(lines[i:i + size]), 1))
        i += size
    return events


def fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


async def run_writer(path: Path, events: list[LogLines]) -> tuple[float, int]:
    fresh(path)
    store = await Store.open(path)
    session = await store.create_session(path.parent, "bench", None)
    await store.close()
    bus = EventBus()
    sub = bus.subscribe()
    infos = tuple(TaskInfo(f"t{i}", f"task {i}", "shell", "true", (), None, 0) for i in range(TASKS))
    writer = EventWriter(path, session.id, "bench-run")
    task = asyncio.create_task(writer.run(sub))
    bus.publish(RunStarted("bench-run", str(path.parent), "0" * 40, infos))
    for info in infos:
        bus.publish(TaskStateChanged(info.id, TaskState.PENDING, TaskState.READY, 0))
        bus.publish(TaskStateChanged(info.id, TaskState.READY, TaskState.RUNNING, 1))
    await asyncio.sleep(0.05)  # let the run start be written, as it is long before the output in real life
    start = time.perf_counter()
    for i in range(0, len(events), 100):  # the engine publishes as output arrives, yielding between reads
        for event in events[i:i + 100]:
            bus.publish(event)
        await asyncio.sleep(0)
    bus.publish(RunFinished("bench-run", {info.id: TaskState.SUCCEEDED for info in infos}))
    bus.close()
    await task
    return time.perf_counter() - start, writer.lines_written


def run_sqlite3(path: Path, events: list[LogLines]) -> tuple[float, int]:
    fresh(path)
    prepare_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in connection_pragmas(5000):
        conn.execute(pragma)
    conn.execute("INSERT INTO repos (path) VALUES ('/bench')")
    conn.execute("INSERT INTO sessions (repo_id, date, day_number, started_at) VALUES (1, '2026-03-04', 1, 0)")
    conn.execute("INSERT INTO runs (id, session_id) VALUES ('bench-run', 1)")
    ids = {}
    for i in range(TASKS):
        ids[f"t{i}"] = conn.execute("INSERT INTO tasks (session_id, run_id, task_key) VALUES (1, 'bench-run', ?)",
                                    (f"t{i}",)).lastrowid
    rows = [(ids[e.task_id], e.attempt, e.stream, e.at, line) for e in events for line in e.lines]
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO log_lines (task_id, attempt, stream, at, text) VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    count = conn.execute("SELECT count(*) FROM log_lines").fetchone()[0]
    conn.close()
    return elapsed, count


def main() -> int:
    t0 = time.perf_counter()
    lines = make_lines(LINES)
    events = make_events(lines)
    print(f"{len(lines)} lines, {len(events)} LogLines events, {TASKS} tasks, "
          f"avg {sum(map(len, lines)) / len(lines):.0f} chars (prepared in {time.perf_counter() - t0:.1f}s)")
    writer_best = base_best = 0.0
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as tmp:
        for round_ in range(1, ROUNDS + 1):
            elapsed, count = run_sqlite3(Path(tmp) / "baseline.db", events)
            assert count == LINES, count
            base_best = max(base_best, count / elapsed)
            print(f"round {round_}: sqlite3 executemany  {count / elapsed:>10,.0f} rows/s ({elapsed:.2f}s)")
            base_rate = count / elapsed
            elapsed, count = asyncio.run(run_writer(Path(tmp) / "writer.db", events))
            assert count == LINES, count
            writer_best = max(writer_best, count / elapsed)
            ratios.append(count / elapsed / base_rate)
            print(f"round {round_}: EventWriter          {count / elapsed:>10,.0f} rows/s ({elapsed:.2f}s)"
                  f"  ratio {ratios[-1]:.2f}")
    ratio = statistics.median(ratios)
    print(f"best: EventWriter {writer_best:,.0f} rows/s, sqlite3 {base_best:,.0f} rows/s "
          f"(ratio of the bests {writer_best / base_best:.2f}); median ratio of the rounds {ratio:.2f}"
          f" (total {time.perf_counter() - t0:.0f}s)")
    print(f"BENCH store_ingest ratio_vs_sqlite3 {ratio:.2f} target >= {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
