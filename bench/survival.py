"""Survival measure: 20 sessions measured with ``sessions.survival.measure`` against naive blame.

A repository of a few thousand commits is generated with ``git fast-import`` (a few hundred files,
edits concentrated on hot files, some renames), one commit every 45 minutes, so that the 1, 7 and
30 day horizons all fall inside the history. 20 sessions are spans of 2-8 consecutive commits.

Baseline (naive): for every session, plain ``git blame --porcelain <rev> -- <file>`` of the same
files at the same revisions the measure looked at (each counted file at the session's end, and its
name at every head measured: HEAD and the three horizon heads), one after the other. Sessions are
timed in turn (ours, then naive, for each), so a change of load falls on both sides alike; naive
runs after ours, so it has the commit-graph ours wrote and a warm cache.

Figures:
  ratio_vs_naive_blame = time to measure the 20 sessions cold (no fingerprint, no cache; the
                         commit-graph the measure may write is included) / naive blame time.
  cached_vs_uncached   = time to measure the same 20 again through a filled DictCache / the cold time.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sessions.survival import DictCache, SurvivalResult, ewr_git, measure  # noqa: E402

COMMITS = 2000
FILES = 200
SESSIONS = 20
STEP = 45 * 60  # seconds between commits: 2000 commits span 62 days
T0 = 1_600_000_000
SEED = 7


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


def sessions(commits: list[str]) -> list[tuple[str, str]]:
    rng = random.Random(SEED + 1)
    spans = []
    last_start = len(commits) - 1100  # leave > 34 days after every session: all horizons reached
    for i in range(SESSIONS):
        s = 100 + (last_start - 100) * i // SESSIONS + rng.randrange(20)
        spans.append((commits[s], commits[s + rng.randrange(2, 9)]))
    return spans


# --------------------------------------------------------------------------- measuring


def naive(repo: Path, result: SurvivalResult) -> int:
    """Plain blame, one at a time, of the same files at the same revisions; how many blames."""
    heads = [result.head] + [p.head for p in result.horizon_points.values() if p.head]
    count = 0
    for f in result.per_file:
        subprocess.run(["git", "blame", "--porcelain", result.end, "--", f.path], cwd=repo,
                       capture_output=True, env=_env())
        count += 1
        if f.path_at_head is None:
            continue
        for head in dict.fromkeys(heads):
            subprocess.run(["git", "blame", "--porcelain", head, "--", f.path_at_head], cwd=repo,
                           capture_output=True, env=_env())
            count += 1
    return count


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-survival-"))
    try:
        repo = tmp / "repo"
        repo.mkdir()
        t = time.perf_counter()
        commits = generate(repo)
        print(f"repository: {len(commits)} commits, {FILES} files, built in {time.perf_counter() - t:.1f}s")
        spans = sessions(commits)
        now = T0 + COMMITS * STEP + 86_400

        # Warm the page cache the same way for both sides.
        git(repo, "rev-list", "--count", "--all")

        # Session by session, ours cold (no fingerprint, no cache; a commit-graph it writes is
        # counted), then naive blame of the same files at the same revisions, sequentially.
        # Interleaved, so a change of load on the machine falls on both sides alike.
        cache = DictCache()
        results: list[SurvivalResult] = []
        ours = baseline = 0.0
        blames = 0
        for s, e in spans:
            t = time.perf_counter()
            results.append(measure(repo, s, e, now=now, cache=cache, allow_commit_graph=True))
            ours += time.perf_counter() - t
            t = time.perf_counter()
            blames += naive(repo, results[-1])
            baseline += time.perf_counter() - t

        # Cached: the same 20 again through the filled cache.
        t = time.perf_counter()
        again = [measure(repo, s, e, now=now, cache=cache, allow_commit_graph=True) for s, e in spans]
        cached = time.perf_counter() - t
        assert all(a is r for a, r in zip(again, results))

        for i, r in enumerate(results):
            hz = " ".join(f"{k}={'-' if v is None else f'{v:.2f}'}" for k, v in r.horizons.items())
            ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
            print(
                f"session {i:2d} {r.start[:8]}..{r.end[:8]} files={len(r.per_file):2d} "
                f"added={r.added:4d} surviving={r.surviving:4d} ratio={ratio} {hz} "
                f"method={r.method} reverted={r.reverted}"
            )
        rate, count = ewr_git(results)
        print(f"EWR(git) over {count} sessions: {rate:.3f}" if rate is not None else "EWR(git): none")
        print(f"measure, cold:  {ours:.2f}s ({ours / len(spans) * 1000:.0f} ms a session, {os.cpu_count()} cpus)")
        print(f"naive blame:    {baseline:.2f}s ({blames} blames)")
        print(f"measure, cache: {cached * 1000:.1f} ms")
        print(f"BENCH survival ratio_vs_naive_blame {ours / baseline:.3f} target <= 1.0")
        print(f"BENCH survival cached_vs_uncached {cached / ours:.4f} target <= 0.1")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
