"""Survival: ``cockpit stuck`` on 20 recorded sessions against naive blame of the same files.

A repository of a few thousand commits is generated with ``git fast-import`` (a few hundred files,
edits concentrated on hot files, some renames), one commit every 45 minutes, so that the 1, 7 and
30 day horizons all fall inside the history. 20 sessions are spans of 2-8 consecutive commits of
it, recorded in a new store (an SQLite file in the bench's temp folder) through the project's own
API as the cockpit records a session that ends normally: ``Store.create_session`` (with the start
commit and the start commit's day, so labels are ``YYYYMMDD.N``), ``Store.end_session`` with the
end commit, and ``take_fingerprint`` (what ``sessions.lifecycle.finish_session`` does), so each
session has its stored fingerprint. Recording is not timed.

What is timed (wall clock, ``time.perf_counter`` around ``subprocess.run``):
  ours  = ``cockpit stuck <the 20 labels> --json --db <store>`` run as a subprocess, the way a user
          runs it: the ``cockpit`` console script of this interpreter, in the repository (cwd), no
          ``--allow-commit-graph`` (the default; the repository has no commit-graph, and neither
          side writes one). The time includes Python start-up, the imports, opening the store,
          finding the sessions, measuring them at HEAD and writing the results, and printing the
          JSON. Its output is parsed and checked (exit status 0, the 20 labels in order, numbers
          present, every horizon reached, the same answer every time) so a failure is never timed.
          cold: a fresh copy of the recorded store, with nothing in its ``survival`` table;
          warm: the same command again on the store the cold run just filled (every answer must
          come back ``"cached": true``).
  naive = plain ``git blame --porcelain <rev> -- <file>`` of the same files at the same revisions,
          one after the other: each of the session's files (the stored result's ``per_file``) at
          every head the command measured (HEAD and the three horizon heads, read from the results
          the cold run stored), under its name at that head (renames followed; a blame that fails
          stops the bench). Not at the session's end: the command reads the session's lines from
          the fingerprint stored when the session ended, so the blames at the end are made then,
          and are timed on neither side.
The bench runs ROUNDS rounds; each round takes a fresh copy of the store and runs cold, naive and
warm, naive first in every other round (after round 1, which gives the list of blames), so a slow
moment of the machine, and the caches the first side warms, fall on both sides alike. Before the
rounds one untimed ``cockpit stuck --json`` on an empty store compiles the byte-code and warms the
OS caches. The command's byte-code goes to the bench's temp folder (``PYTHONPYCACHEPREFIX``; a
PYTHONDONTWRITEBYTECODE of the environment is dropped for it), so the timed runs load compiled
modules as an installed cockpit does, and nothing is written into the source tree.

Figures (totals over the rounds):
  ratio_vs_naive_blame = cockpit stuck cold / naive blame.
  cached_vs_uncached   = cockpit stuck warm / cockpit stuck cold (both include Python start-up).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sessions.survival.recorded import cached_survival, take_fingerprint  # noqa: E402
from sessions.store.store import Store  # noqa: E402
from sessions.survival.results import SurvivalResult, ewr_git  # noqa: E402

COMMITS = 2000
FILES = 200
SESSIONS = 20
STEP = 45 * 60  # seconds between commits: 2000 commits span 62 days
T0 = 1_600_000_000
SEED = 7
ROUNDS = 3


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    return env


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, check=True, env=_env()
    ).stdout


# --------------------------------------------------------------------------- the repository


def _line(rng: random.Random, tag: str) -> str:
    kind = rng.random()
    if kind < 0.08:
        return ""
    if kind < 0.14:
        return "    }"
    return f"    value_{tag} = compute_{rng.randrange(10_000)}(alpha_{rng.randrange(100)}, beta) + {rng.randrange(1000)}"


def generate(repo: Path) -> list[str]:
    """Build the repository; returns the commit shas, oldest first."""
    rng = random.Random(SEED)
    git(repo, "init", "-q", "-b", "main")
    paths = [f"src/mod{i // 25}/file_{i}.py" for i in range(FILES)]
    files: dict[str, list[str]] = {p: [_line(rng, f"{p[-8:-3]}_{j}") for j in range(rng.randrange(30, 110))] for p in paths}
    weights = [1.0 / (i + 1) ** 0.8 for i in range(FILES)]  # some files are hot
    chunks: list[bytes] = []

    def data(payload: bytes) -> None:
        chunks.append(b"data %d\n" % len(payload))
        chunks.append(payload)
        chunks.append(b"\n")

    for n in range(COMMITS):
        when = T0 + n * STEP
        chunks.append(b"commit refs/heads/main\nmark :%d\n" % (n + 1))
        chunks.append(b"author Bench <bench@example.com> %d +0000\n" % when)
        chunks.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        data(f"change {n}".encode())
        if n:
            chunks.append(b"from :%d\n" % n)
        if n == 0:
            touched = list(paths)
        else:
            touched = sorted({rng.choices(paths, weights)[0] for _ in range(rng.randrange(1, 4))})
        ops: list[bytes] = []
        for path in touched:
            body = files[path]
            if n:
                for _ in range(rng.randrange(0, 6) + max(0, len(body) - 180) // 20):  # deletions
                    if len(body) > 10:
                        del body[rng.randrange(len(body))]
                for k in range(rng.randrange(1, 10)):  # insertions (files grow, up to ~200 lines)
                    body.insert(rng.randrange(len(body) + 1), _line(rng, f"c{n}_{k}"))
                for _ in range(rng.randrange(0, 3)):  # rewrites
                    body[rng.randrange(len(body))] = _line(rng, f"r{n}")
            if n and rng.random() < 0.004:  # a rename now and then
                new = path.replace(".py", f"_v{n}.py")
                files[new] = files.pop(path)
                paths[paths.index(path)] = new
                ops.append(b"D " + path.encode() + b"\n")
                path = new
            payload = ("\n".join(files[path]) + "\n").encode()
            ops.append(b"M 100644 inline " + path.encode() + b"\n")
            chunks.append(b"".join(ops))
            ops = []
            data(payload)
        chunks.append(b"\n")
    git(repo, "fast-import", "--quiet", input=b"".join(chunks))
    git(repo, "reset", "-q", "--hard", "main")
    return git(repo, "rev-list", "--reverse", "main").decode().split()


def sessions(commits: list[str]) -> list[tuple[str, str, dt.date]]:
    """(start, end, day of the start commit) of each session."""
    rng = random.Random(SEED + 1)
    spans = []
    last_start = len(commits) - 1100  # leave > 34 days after every session: all horizons reached
    for i in range(SESSIONS):
        s = 100 + (last_start - 100) * i // SESSIONS + rng.randrange(20)
        day = dt.datetime.fromtimestamp(T0 + s * STEP, tz=dt.timezone.utc).date()
        spans.append((commits[s], commits[s + rng.randrange(2, 9)], day))
    return spans


# --------------------------------------------------------------------------- the store


async def record(db: Path, repo: Path, spans: list[tuple[str, str, dt.date]]) -> list[str]:
    """The sessions, recorded as ended normally (with their fingerprints); their labels."""
    labels = []
    async with await Store.open(db) as store:
        for start, end, day in spans:
            row = await store.create_session(repo, "bench session", start, day)
            await store.end_session(row.id, "complete", end)
            if not await take_fingerprint(store, row.id, repo, start, end):
                raise SystemExit(f"no fingerprint was taken for session {row.label} ({start[:8]}..{end[:8]})")
            labels.append(row.label)
    return labels


async def stored_results(db: Path, items: list[dict[str, Any]]) -> list[SurvivalResult]:
    """The results the command stored for its answers ``items``."""
    results = []
    async with await Store.open(db) as store:
        for item in items:
            result = await cached_survival(store, item["id"], item["head"])
            if result is None:
                raise SystemExit(f"cockpit stuck stored no result for {item['session']} at {item['head'][:8]}")
            results.append(result)
    return results


def copy_store(src: Path, dst: Path) -> None:
    """A fresh copy of the recorded store (SQLite's backup: whatever the WAL still holds comes too)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


# --------------------------------------------------------------------------- the command


def cockpit() -> list[str]:
    """The ``cockpit`` console script installed for this interpreter, else the one on PATH (maybe a
    version manager's shim, a little slower), else ``python -m tui.cli.main``."""
    script = Path(sys.executable).parent / "cockpit"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("cockpit")
    return [found] if found else [sys.executable, "-m", "tui.cli"]


def command_env(pycache: Path) -> dict[str, str]:
    """The bench's git environment; Python byte-code written to and read from ``pycache`` (never
    into the source tree), even where PYTHONDONTWRITEBYTECODE is set, so that after one run the
    command loads compiled modules as an installed cockpit does."""
    env = _env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def stuck(
    command: list[str], env: dict[str, str], repo: Path, db: Path, labels: list[str]
) -> tuple[float, list[dict[str, Any]]]:
    """``cockpit stuck LABELS --json --db DB`` in ``repo``: its wall time and its parsed answer."""
    argv = [*command, "stuck", *labels, "--json", "--db", str(db)]
    t = time.perf_counter()
    done = subprocess.run(argv, cwd=repo, capture_output=True, env=env)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"cockpit stuck exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
    try:
        items = json.loads(done.stdout)
    except ValueError as exc:
        raise SystemExit(f"cockpit stuck --json printed no JSON ({exc}): {done.stdout[:200]!r}") from None
    return took, items


def check(items: list[dict[str, Any]], labels: list[str], cached: bool, expected: list[dict[str, Any]] | None) -> None:
    """Exit (never time a failure) unless ``items`` answers for every session with numbers."""
    def fail(what: str) -> None:
        raise SystemExit(f"cockpit stuck ({'warm' if cached else 'cold'}): {what}")

    got = [i.get("session") for i in items] if isinstance(items, list) else items
    if got != labels:
        fail(f"expected the {len(labels)} sessions {labels}, got {got!r}")
    for item in items:
        name = item["session"]
        if item["method"] == "lost" or item["reason"] is not None:
            fail(f"{name} not measured: {item['method']} ({item['reason']})")
        if not (isinstance(item["added"], int) and item["added"] > 0 and isinstance(item["surviving"], int)
                and isinstance(item["ratio"], float) and 0.0 <= item["ratio"] <= 1.0):
            fail(f"{name}: no figures (added {item['added']}, surviving {item['surviving']}, ratio {item['ratio']})")
        if None in item["horizons"].values() or not all(item["horizons_reached"].values()):
            fail(f"{name}: a horizon is missing {item['horizons']} (all are reached in this history)")
        if item["cached"] is not cached:
            fail(f"{name}: cached is {item['cached']}, expected {cached}")
    if expected is not None and [_answer(i) for i in items] != [_answer(i) for i in expected]:
        fail("the answer differs from the first cold run's")


def _answer(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "cached"}


# --------------------------------------------------------------------------- naive


class Names:
    """Where a file is at a given commit of the generated history (its renames followed)."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.moves: dict[str, str] = {}  # old name -> new name (the generator never reuses a name)
        out = git(repo, "log", "--format=", "--name-status", "-M", "--diff-filter=R", "main").decode()
        for line in out.splitlines():
            _status, old, new = line.split("\t")
            self.moves[old] = new
        self.trees: dict[str, set[str]] = {}

    def at(self, path: str, rev: str) -> str | None:
        """The name at ``rev`` of the file named ``path`` earlier; None when it is not there."""
        if rev not in self.trees:
            self.trees[rev] = set(git(self.repo, "ls-tree", "-r", "--name-only", rev).decode().splitlines())
        found = None
        while True:
            if path in self.trees[rev]:
                found = path
            if path not in self.moves:
                return found
            path = self.moves[path]


def blames(result: SurvivalResult, names: Names) -> list[tuple[str, str]]:
    """(revision, path) of the blames the naive way needs for what the command measured: each of
    the session's files (the result's ``per_file``, named as at the session's end) at every head
    measured (HEAD and the horizon heads), under its name at that head, where it exists. Not at the
    session's end: the command reads that from the stored fingerprint."""
    heads = dict.fromkeys([result.head] + [p.head for p in result.horizon_points.values() if p.head])
    jobs = []
    for f in result.per_file:
        for head in heads:
            name = names.at(f.path, head)
            if name is not None:
                jobs.append((head, name))
    return jobs


def naive(repo: Path, jobs: list[tuple[str, str]]) -> float:
    """Plain blame of ``jobs``, one at a time: wall time. Exits when one fails (never time a failure)."""
    env = _env()
    failed = []
    t = time.perf_counter()
    for rev, path in jobs:
        done = subprocess.run(["git", "blame", "--porcelain", rev, "--", path], cwd=repo, capture_output=True, env=env)
        if done.returncode != 0:
            failed.append(f"{rev[:8]} {path}")
    took = time.perf_counter() - t
    if failed:
        raise SystemExit(f"naive blame: {len(failed)} of {len(jobs)} blames failed: {', '.join(failed[:5])}")
    return took


# --------------------------------------------------------------------------- the bench


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> int:
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-survival-"))
    try:
        repo = tmp / "repo"
        repo.mkdir()
        t = time.perf_counter()
        commits = generate(repo)
        print(f"repository: {len(commits)} commits, {FILES} files, built in {time.perf_counter() - t:.1f}s")
        spans = sessions(commits)
        recorded = tmp / "recorded.db"
        t = time.perf_counter()
        labels = asyncio.run(record(recorded, repo, spans))
        print(f"store: {len(labels)} sessions recorded with their fingerprints in {time.perf_counter() - t:.1f}s")

        command = cockpit()
        env = command_env(tmp / "pycache")
        print(f"command: {' '.join(command)} stuck <{len(labels)} labels> --json --db <store> (cwd: the repository)")
        # Untimed: byte-code compiled (into tmp), interpreter, code and repository in the OS caches.
        git(repo, "rev-list", "--count", "--all")
        _, empty = stuck(command, env, repo, tmp / "warm-up.db", [])
        if empty != []:
            raise SystemExit(f"cockpit stuck on an empty store answered {empty!r}")

        cold: list[float] = []
        warm: list[float] = []
        baseline: list[float] = []
        first: list[dict[str, Any]] | None = None
        results: list[SurvivalResult] = []
        jobs: list[tuple[str, str]] = []
        for n in range(ROUNDS):
            db = tmp / f"round-{n}.db"
            copy_store(recorded, db)
            naive_first = n % 2 == 1  # round 0 runs the command first: it gives the list of blames
            if naive_first:
                baseline.append(naive(repo, jobs))
            took, items = stuck(command, env, repo, db, labels)
            check(items, labels, cached=False, expected=first)
            cold.append(took)
            if first is None:
                first = items
                results = asyncio.run(stored_results(db, items))
                names = Names(repo)
                jobs = [job for r in results for job in blames(r, names)]
            if not naive_first:
                baseline.append(naive(repo, jobs))
            took, items = stuck(command, env, repo, db, labels)
            check(items, labels, cached=True, expected=first)
            warm.append(took)
        graph = git(repo, "rev-parse", "--git-path", "objects/info/commit-graph").decode().strip()
        if (repo / graph).exists():
            raise SystemExit("a commit-graph was written: the sides did not see the same repository")

        assert first is not None
        for item, r in zip(first, results):
            hz = " ".join(f"{k}={'-' if v is None else f'{v:.2f}'}" for k, v in item["horizons"].items())
            print(
                f"session {item['session']} {item['start'][:8]}..{item['end'][:8]} files={len(r.per_file):2d} "
                f"added={item['added']:4d} surviving={item['surviving']:4d} ratio={item['ratio']:.3f} {hz} "
                f"method={item['method']} reverted={item['reverted']}"
            )
        rate, count = ewr_git(results)
        print(f"EWR(git) over {count} sessions: {rate:.3f}" if rate is not None else "EWR(git): none")
        ours, theirs, again = sum(cold), sum(baseline), sum(warm)
        print(f"cockpit stuck, cold: {ours:.2f}s over {ROUNDS} rounds ({_seconds(cold)}; "
              f"{ours / ROUNDS / len(labels) * 1000:.0f} ms a session, {os.cpu_count()} cpus)")
        print(f"naive blame:         {theirs:.2f}s over {ROUNDS} rounds ({_seconds(baseline)}; "
              f"{len(jobs)} blames a round)")
        print(f"cockpit stuck, warm: {again:.2f}s over {ROUNDS} rounds ({_seconds(warm)})")
        print(f"bench: {time.perf_counter() - began:.0f}s in all")
        print(f"BENCH survival ratio_vs_naive_blame {ours / theirs:.3f} target <= 1.0")
        print(f"BENCH survival cached_vs_uncached {again / ours:.4f} target <= 0.1")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
