"""The cockpit under a flood of log lines, against a plain Textual app of 8 ``Log`` widgets.

8 tasks (shell profile, no worktrees) run small Python programs that print lines of ~70
characters. The cockpit runs headless (``App.run_test``, 120x40) on a real recorded session: every
line goes through the engine, the event bus, the store's writer (SQLite) and the cockpit's event
pump into its pane. The baseline, in the same run, is the program one would write first: a Textual
app with 8 ``Log`` widgets (same grid, same ``max_lines``) reading the same programs' stdout and
writing every chunk of up to 100 lines as it arrives (one ``write_lines`` call a chunk).

Figures
- ``ratio_fast``: lines/s taken in by the cockpit / by the baseline, 200,000 lines as fast as the
  programs can write them. "Taken in" for the cockpit: every line persisted in the database AND
  handed to its pane (the pane draws only its tail; each task's last line is then found through
  its log view's search). For the baseline: every line written into its Log.
- ``key_p95_fast_ms``: 95th percentile of the delay from a key press to its action running, one
  press every 50 ms while the cockpit streams. The key is bound to a cheap action (the action
  records the time). Keys are sent the way ``Pilot.press`` sends them (the driver's
  ``send_message``) but without its wait-for-idle, which would space the presses by up to 1 s
  while the process is busy.
- ``ratio_steady`` and ``key_p95_steady_ms``: the same at a steady 10,000 lines/s in all (5 s,
  two interleaved runs a side, best rate). Each side's rate is its lines / time from its first line
  taken in to its last, so the constant delay of the store's flush (0.1 s) does not count against
  the cockpit. Both sides are bound by the source here: about 1.0 means the cockpit keeps up.
- ``rss_growth``: the cockpit's RSS once 1,000,000 lines were taken in / once 100,000 were.

Run: ``python bench/tui_stream.py`` (about a minute on 2 cores). Exit status 0 either way.

What keeps the cockpit ahead (see tui/screens/cockpit.py and tui/widgets/agent_pane.py): lines are
only buffered as they come (a bounded tail per pane) and drawn every 80 ms, one ``write_lines`` a
pane, at most ~2,000 lines a flush (panes take turns under a flood); hidden panes are not drawn;
the pane logs never relayout the screen (no width measuring, virtual size changes repaint only);
state changes restyle two widgets and are drawn with the next flush; the action keys are priority
bindings (no trip down to the focused widget and back); the run starts once the screen is laid out.
"""
from __future__ import annotations

import asyncio
import gc
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.widgets import Log  # noqa: E402

from engine.states import TaskState  # noqa: E402
from sessions.store.store import Store  # noqa: E402
from tui.app import CockpitApp  # noqa: E402
from tui.screens.cockpit import CockpitScreen  # noqa: E402
from tui.screens.log_view import LogViewScreen  # noqa: E402
from sessions.launcher import SessionLauncher  # noqa: E402
from tui.widgets.agent_pane import DEFAULT_MAX_LINES  # noqa: E402

TASKS = 8
SIZE = (120, 40)
FAST_LINES = 200_000
STEADY_RATE = 10_000  # lines/s in all
STEADY_SECONDS = 5.0
STEADY_REPEATS = 2
MEMORY_LINES = 1_000_000
MEMORY_MARK = 100_000
KEY_EVERY = 0.05
CHUNK = 100  # lines a write_lines call in the baseline
TEXT = "the quick brown fox jumps over the lazy dog"


# ------------------------------------------------------------------------------------ programs
def fast_program(task: int, lines: int) -> str:
    code = (
        "import sys; w = sys.stdout.write\n"
        f"for i in range({lines}): w(f'line {{i:>7}} of task {task}: {TEXT}\\n')\n"
    )
    return f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def paced_program(task: int, per_second: float, seconds: float) -> str:
    """Writes ``per_second`` lines a second in bursts every 20 ms, flushed, for ``seconds``."""
    code = (
        "import sys, time\n"
        f"n, step, total = 0, 0.02, int({per_second} * {seconds})\n"
        "start = time.monotonic()\n"
        "while n < total:\n"
        f"    due = min(total, int((time.monotonic() - start) * {per_second}) + 1)\n"
        f"    sys.stdout.write(''.join(f'line {{i:>7}} of task {task}: {TEXT}\\n' for i in range(n, due)))\n"
        "    sys.stdout.flush(); n = due\n"
        "    time.sleep(step)\n"
    )
    return f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def last_line(task: int, lines: int) -> str:
    return f"line {lines - 1:>7} of task {task}: {TEXT}"


def plan_text(programs: list[str]) -> str:
    out = ['agent = "shell"', f"max_parallel = {TASKS}", ""]
    for n, prompt in enumerate(programs):
        out += ["[[task]]", f'id = "w{n}"', f"prompt = '''\n{prompt}\n'''", ""]
    return "\n".join(out)


def make_repo(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
                       cwd=folder, check=True)
    return folder


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class KeyProbe:
    """Sends a key every KEY_EVERY seconds as Pilot does (minus its idle waits); the action stamps."""

    def __init__(self, app: App, key: str = "t") -> None:
        self.app = app
        self.key = key
        self.sent: list[float] = []
        self.ran: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def action(self) -> None:
        self.ran.append(time.perf_counter())

    async def _loop(self) -> None:
        driver = self.app._driver
        assert driver is not None
        while True:
            event = events.Key(self.key, self.key)
            event.set_sender(self.app)
            self.sent.append(time.perf_counter())
            driver.send_message(event)
            await asyncio.sleep(KEY_EVERY)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.sleep(0.3)  # the last presses still on their way
        return [(r - s) * 1000 for s, r in zip(self.sent, self.ran)]


async def wait_until(check, timeout: float, what: str, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(step)


# ------------------------------------------------------------------------------------- cockpit
async def run_cockpit(work: Path, programs: list[str], lines: int, lines_per_task: int,
                      keys: bool, verify: bool = False, rss_mark: int = 0) -> dict[str, Any]:
    repo = make_repo(work / "repo")
    plan = work / "plan.toml"
    plan.write_text(plan_text(programs))
    store = await Store.open(work / "cockpit.db")
    launcher = SessionLauncher(store, repo, note=lambda text: None, use_worktrees=False, max_parallel=TASKS)
    live = await launcher.launch("bench", plan)
    marks: dict[str, float] = {}
    start_live = live.start

    async def timed_start() -> None:
        marks["start"] = time.perf_counter()
        await start_live()

    live.start = timed_start  # type: ignore[method-assign]
    app = CockpitApp(launcher, live=live)
    result: dict[str, Any] = {}
    gc.collect()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, CockpitScreen) and app.screen.pump is not None, 30,
                         "the cockpit")
        screen: CockpitScreen = app.screen  # type: ignore[assignment]
        probe = KeyProbe(app)
        screen.action_focus_tasks = probe.action  # type: ignore[method-assign]
        pump = screen.pump
        assert pump is not None
        if keys:  # from the first line on: while streaming
            await wait_until(lambda: pump.lines > 0, 30, "the first line")
            probe.start()
        writer = live.recorder.writer

        def taken_in() -> int:  # lines both persisted and handed to their pane
            return min(pump.lines, writer.lines_written)

        if rss_mark:
            await wait_until(lambda: taken_in() >= rss_mark, 120, f"{rss_mark} lines")
            result["rss_mark"] = rss_mb()
        first: list[float] = []

        def done() -> bool:
            if not first and taken_in() > 0:
                first.append(time.perf_counter())
            return (taken_in() >= lines and all(s.terminal for s in screen.states.values())
                    and writer.lines_written >= pump.lines)

        await wait_until(done, 180, "every line taken in")
        end = time.perf_counter()
        delays = await probe.stop()
        bad = {t: str(s) for t, s in screen.states.items() if s is not TaskState.SUCCEEDED}
        if bad:
            raise RuntimeError(f"tasks did not succeed: {bad}")
        result.update(
            seconds=end - marks["start"], first_to_last=end - first[0], lines=pump.lines,
            written=writer.lines_written, delays=delays, rss_end=rss_mb(),
            drawn=sum(len(p.log_widget.lines) for p in screen.panes.values()),
        )
        if verify:  # every task's last line, found in the database through its log view
            found = 0
            for n, task_id in enumerate(screen.panes):
                view = LogViewScreen(live.store, live.row.id, live.engine.run_id, task_id)
                await app.push_screen(view)
                await wait_until(lambda: view.task_row_id is not None and bool(view.page), 30, "the log view")
                found += await view.search(last_line(n, lines_per_task)) == 1
                view.dismiss()
                await pilot.pause()
            result["found_in_log_view"] = found
    await launcher.close()
    await store.close()
    return result


# ------------------------------------------------------------------------------------ baseline
class PlainLogs(App[None]):
    """8 Log widgets; each chunk of up to CHUNK lines is written as it is read."""

    CSS_PATH = "tui_stream.tcss"
    BINDINGS = [Binding("t", "stamp", "stamp", id="bench.stamp", tooltip="record the time")]

    def __init__(self) -> None:
        super().__init__()
        self.probe: KeyProbe | None = None

    def compose(self) -> ComposeResult:
        for n in range(TASKS):
            yield Log(max_lines=DEFAULT_MAX_LINES, id=f"log{n}")

    def action_stamp(self) -> None:
        if self.probe is not None:
            self.probe.action()


async def feed(log: Log, argv: list[str], counter: list[int], first: list[float]) -> None:
    """Read the program's output as it comes; write each chunk of up to CHUNK lines at once."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    rest = b""
    while data := await proc.stdout.read(1 << 16):
        *complete, rest = (rest + data).split(b"\n")
        lines = [line.decode() for line in complete]
        for i in range(0, len(lines), CHUNK):
            chunk = lines[i:i + CHUNK]
            log.write_lines(chunk)
            if not first:
                first.append(time.perf_counter())
            counter[0] += len(chunk)
            await asyncio.sleep(0)
    await proc.wait()


async def run_baseline(programs: list[str], lines: int, keys: bool) -> dict[str, Any]:
    app = PlainLogs()
    gc.collect()
    async with app.run_test(size=SIZE):
        probe = KeyProbe(app)
        app.probe = probe
        counter, first = [0], []
        start = time.perf_counter()

        async def probe_from_first_line() -> None:
            await wait_until(lambda: counter[0] > 0, 30, "the first line")
            probe.start()

        if keys:
            asyncio.create_task(probe_from_first_line())
        await asyncio.gather(*(feed(app.query_one(f"#log{n}", Log), ["bash", "-c", p], counter, first)
                               for n, p in enumerate(programs)))
        end = time.perf_counter()
        delays = await probe.stop()
        if counter[0] != lines:
            raise RuntimeError(f"baseline read {counter[0]} lines, expected {lines}")
        return {"seconds": end - start, "first_to_last": end - first[0], "lines": counter[0], "delays": delays}


# ---------------------------------------------------------------------------------------- main
def show(name: str, r: dict[str, Any], rate: float) -> None:
    extra = f", {r['written']} persisted, {r['drawn']} on screen" if "written" in r else ""
    print(f"  {name:<18} {r['lines']:>9,} lines in {r['seconds']:6.2f} s = {rate:>9,.0f} lines/s{extra}; "
          f"key p95 {p95(r['delays']):.1f} ms over {len(r['delays'])} presses")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tui-stream-") as tmp:
        tmp_path = Path(tmp)
        for name in ("config", "data", "cache", "state", "worktrees"):
            (tmp_path / name).mkdir()
        os.environ.update(
            XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
            XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"),
            COCKPIT_WORKTREES=str(tmp_path / "worktrees"), GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
        )
        per_task = FAST_LINES // TASKS
        fast = [fast_program(n, per_task) for n in range(TASKS)]
        print(f"fast: {TASKS} tasks x {per_task:,} lines, as fast as they can; a key every {KEY_EVERY * 1000:.0f} ms")
        base_fast = await run_baseline(fast, FAST_LINES, keys=True)
        cock_fast = await run_cockpit(tmp_path / "fast", fast, FAST_LINES, per_task, keys=True, verify=True)
        base_rate = base_fast["lines"] / base_fast["seconds"]
        cock_rate = cock_fast["lines"] / cock_fast["seconds"]
        show("baseline (8 Logs)", base_fast, base_rate)
        show("cockpit", cock_fast, cock_rate)
        print(f"  every task's last line found through its log view: {cock_fast['found_in_log_view']}/{TASKS}")

        per_task_rate = STEADY_RATE / TASKS
        steady_lines = int(per_task_rate * STEADY_SECONDS) * TASKS
        steady = [paced_program(n, per_task_rate, STEADY_SECONDS) for n in range(TASKS)]
        print(f"steady: {STEADY_RATE:,} lines/s in all for {STEADY_SECONDS:g} s, "
              f"{STEADY_REPEATS} interleaved runs each (best rate; key delays of all runs)")
        base_runs, cock_runs = [], []
        for n in range(STEADY_REPEATS):
            base_runs.append(await run_baseline(steady, steady_lines, keys=True))
            cock_runs.append(await run_cockpit(tmp_path / f"steady{n}", steady, steady_lines, 0, keys=True))
        base_steady = min(base_runs, key=lambda r: r["first_to_last"])
        cock_steady = min(cock_runs, key=lambda r: r["first_to_last"])
        base_steady["delays"] = [d for r in base_runs for d in r["delays"]]
        cock_steady["delays"] = [d for r in cock_runs for d in r["delays"]]
        base_srate = base_steady["lines"] / base_steady["first_to_last"]
        cock_srate = cock_steady["lines"] / cock_steady["first_to_last"]
        show("baseline (8 Logs)", {**base_steady, "seconds": base_steady["first_to_last"]}, base_srate)
        show("cockpit", {**cock_steady, "seconds": cock_steady["first_to_last"]}, cock_srate)

        print(f"memory: {MEMORY_LINES:,} lines through the cockpit (in a process of its own)")
        done = subprocess.run([sys.executable, __file__, "--memory", str(tmp_path / "memory")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the memory run failed: {done.stderr.strip()[-2000:]}")
        rss_mark, rss_end, mem_rate = (float(v) for v in done.stdout.split()[-3:])
        growth = rss_end / rss_mark
        print(f"  {MEMORY_LINES:,} lines at {mem_rate:,.0f} lines/s; RSS {rss_mark:.1f} MB after "
              f"{MEMORY_MARK:,} lines, {rss_end:.1f} MB after {MEMORY_LINES:,}")

    print(f"BENCH tui_stream ratio_fast {cock_rate / base_rate:.2f} target >= 1.0")
    print(f"BENCH tui_stream key_p95_fast_ms {p95(cock_fast['delays']):.1f} target <= 50")
    print(f"BENCH tui_stream ratio_steady {cock_srate / base_srate:.2f} target >= 1.0")
    print(f"BENCH tui_stream key_p95_steady_ms {p95(cock_steady['delays']):.1f} target <= 50")
    print(f"BENCH tui_stream rss_growth {growth:.2f} target <= 1.25")


async def memory_only(folder: Path) -> None:
    """The memory figure, in a fresh process: prints RSS at the mark, RSS at the end, lines/s."""
    per_task = MEMORY_LINES // TASKS
    programs = [fast_program(n, per_task) for n in range(TASKS)]
    r = await run_cockpit(folder, programs, MEMORY_LINES, per_task, keys=False, rss_mark=MEMORY_MARK)
    print(r["rss_mark"], r["rss_end"], r["lines"] / r["seconds"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory"]:
        asyncio.run(memory_only(Path(sys.argv[2])))
    else:
        asyncio.run(main())
