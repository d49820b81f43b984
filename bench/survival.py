"""Survival: ``cockpit stuck`` on 20 cockpit sessions of a history shaped like a real one, against
the plain script that blames each touched file once per head and shares it between sessions.

The history (built with ``git fast-import`` for the bulk and real git commands for the sessions):
about 3,000 commits over three months, one every 45 minutes, on ~150 files in a dozen packages whose
edits concentrate on a few long-lived hot files; now and then a file is moved to another package, a
file is split in two, a block of code (a function) is moved from one file to another, and single
lines are moved. 20 cockpit sessions are spread over the first two months (so that the 1, 7 and 30
day horizons all fall inside the history): each has 2-4 tasks on branches ``cockpit/<run>/<task>``,
some depending on another (their branch starts from it), with 1-3 commits each (mostly edits of the
hot files), and each is decided the way developers do: merged (``--no-ff``), cherry-picked, squash-
merged, discarded (the branch deleted, then garbage-collected) or left undecided; a third of the
sessions also has a commit of the developer's own. They are recorded in a real store the way the
cockpit records them (:mod:`tests.helpers.recorded_runs`: the run's events through the store's event
writer, the decisions at their time, the work recorded as the session ends). Recording is not timed.

What is timed (wall clock), ROUNDS rounds, the order of the two sides alternated:
  ours  = ``cockpit stuck <the 20 labels> --json --db <store>`` as a subprocess in the repository
          (Python start-up and imports included): cold on a fresh copy of the recorded store and an
          empty cache folder (no blame kept from an earlier run); warm on the store the cold run
          filled (every answer ``"cached": true``).
  plain = a plain Python script (a subprocess too) that runs ``git blame -w -M -C --porcelain`` of
          every file the sessions touched (their tasks' and the developer's, as named at the head)
          once per head the command measured (HEAD and each session's horizon heads), one after the
          other, shares each between the sessions, and counts the lines of each commit. The same
          script at HEAD only (no horizon) is timed too and printed for scale.
Before the rounds, one untimed ``cockpit stuck`` on an empty store compiles the byte-code (into the
bench's temp folder: ``PYTHONPYCACHEPREFIX``) and warms the OS caches. The run takes about four
minutes on 2 cores: the plain script alone blames some 3,600 files.

Exactness (untimed): for every task merged with its own commits, the lines the command finds stuck
at HEAD are compared with an independent count: ``git blame -w -M -C`` of every file at HEAD, the
lines given to the task's commits whose content is one the task added (as a multiset).

Then HEAD moves on by one commit and both measure again: the command keeps the horizons it measured
(a horizon's head does not move) and blames at the new HEAD only; the plain script blames every
touched file at the new HEAD.

Figures:
  ratio_vs_shared_blame     = cockpit stuck cold / the plain script (totals over the rounds)
  warm_vs_shared_blame      = cockpit stuck warm / the plain script
  new_head_vs_plain_at_head = cockpit stuck after HEAD moved / the plain script at that HEAD
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sessions.store.store import Store  # noqa: E402
from sessions.survival.line_filter import line_hash_int, meaningful  # noqa: E402
from sessions.survival.work import SessionWork  # noqa: E402
from tests.helpers.recorded_runs import RecordedTask, record_session  # noqa: E402

COMMITS = 3000
PACKAGES = 12
FILES = 150
SESSIONS = 20
STEP = 45 * 60
T0 = 1_600_000_000
SEED = 11
ROUNDS = 1
DAY = 86_400


def _env(when: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
        GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com",
    )
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return env


def git(repo: Path, *args: str, input: bytes | None = None, when: int | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, input=input,
                          capture_output=True, env=_env(when))
    if check and done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- the history

WORDS = ("alpha", "beta", "gamma", "delta", "parse", "render", "value", "item", "node", "cache", "token",
         "buffer", "config", "result", "index", "offset", "frame", "record", "state", "query")


class Code:
    """Lines of code of varied shapes: definitions, long statements, short ones under git's
    20-character move score, blank lines and closing punctuation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def line(self) -> str:
        r, w = self.rng, self.rng.choice
        self.n += 1
        kind = r.random()
        if kind < 0.07:
            return ""
        if kind < 0.12:
            return "    )"
        if kind < 0.22:
            return f"    x{self.n % 97} += 1"  # short
        if kind < 0.30:
            return f"def {w(WORDS)}_{self.n}({w(WORDS)}, {w(WORDS)}):"
        if kind < 0.38:
            return f"    return {w(WORDS)}_{r.randrange(50)}"
        return (f"    {w(WORDS)}_{self.n} = {w(WORDS)}.{w(WORDS)}({w(WORDS)}_{r.randrange(100)}, "
                f"{r.randrange(1000)}) + {w(WORDS)}")

    def block(self, n: int) -> list[str]:
        return [self.line() for _ in range(n)]


@dataclass
class Tree:
    files: dict[str, list[str]] = field(default_factory=dict)
    hot: list[str] = field(default_factory=list)


def _fast_import(repo: Path, tree: Tree, rng: random.Random, code: Code, first: int, count: int, clock: list[int],
                 fresh: bool) -> None:
    """``count`` commits on main by fast-import, from the tree's state (which they change)."""
    chunks: list[bytes] = []

    def data(payload: bytes) -> None:
        chunks.append(b"data %d\n" % len(payload) + payload + b"\n")

    for n in range(first, first + count):
        clock[0] += STEP
        chunks.append(b"commit refs/heads/main\n")
        chunks.append(b"author Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0000\n"
                      % (clock[0], clock[0]))
        data(f"change {n}".encode())
        if n == first and not fresh:
            chunks.append(b"from refs/heads/main^0\n")
        changed: set[str] = set()
        deleted: list[str] = []
        paths = sorted(tree.files)
        if n == 0:
            changed.update(paths)
        else:
            weights = [8.0 if p in tree.hot else 1.0 for p in paths]
            for path in sorted({rng.choices(paths, weights)[0] for _ in range(rng.randrange(1, 4))}):
                body = tree.files[path]
                for _ in range((rng.randrange(0, 3) if rng.random() < 0.5 else 0) + max(0, len(body) - 220) // 25):
                    if len(body) > 12:
                        del body[rng.randrange(len(body))]
                for _ in range(rng.randrange(1, 8)):
                    body.insert(rng.randrange(len(body) + 1), code.line())
                for _ in range(rng.randrange(0, 2)):
                    body[rng.randrange(len(body))] = code.line()
                changed.add(path)
            roll = rng.random()
            src = rng.choice(paths)
            if roll < 0.004 and src not in tree.hot:  # a file moved to another package
                new = f"pkg{rng.randrange(PACKAGES)}/{src.rsplit('/', 1)[1][:-3]}_m{n}.py"
                tree.files[new] = tree.files.pop(src)
                deleted.append(src)
                changed.discard(src)
                changed.add(new)
            elif roll < 0.007 and len(tree.files[src]) > 40:  # a file split in two
                body = tree.files[src]
                half = len(body) // 2
                new = src[:-3] + f"_part{n}.py"
                tree.files[new] = body[half:]
                del body[half:]
                changed.update({src, new})
            elif roll < 0.02:  # a block of code moved to another file
                dst = rng.choice(paths)
                body = tree.files[src]
                if dst != src and len(body) > 30:
                    at = rng.randrange(len(body) - 15)
                    size = rng.randrange(3, 15)
                    block = body[at:at + size]
                    del body[at:at + size]
                    target = tree.files[dst]
                    pos = rng.randrange(len(target) + 1)
                    target[pos:pos] = block
                    changed.update({src, dst})
            elif roll < 0.027:  # one line moved to another file
                dst = rng.choice(paths)
                body = tree.files[src]
                if dst != src and len(body) > 12:
                    line = body.pop(rng.randrange(len(body)))
                    tree.files[dst].insert(rng.randrange(len(tree.files[dst]) + 1), line)
                    changed.update({src, dst})
        for path in deleted:
            chunks.append(b"D " + path.encode() + b"\n")
        for path in sorted(changed):
            chunks.append(b"M 100644 inline " + path.encode() + b"\n")
            data(("\n".join(tree.files[path]) + "\n").encode())
        chunks.append(b"\n")
    git(repo, "fast-import", "--quiet", "--force", input=b"".join(chunks))


@dataclass
class Session:
    start: str
    end: str
    tasks: list[RecordedTask]
    day: dt.date
    own: bool


def _write(repo: Path, tree: Tree, paths: set[str]) -> None:
    for path in paths:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(tree.files[path]) + "\n", encoding="utf-8")


def _reload(repo: Path, tree: Tree) -> None:
    """The tree as the checkout holds it (after the session's merges)."""
    names = git(repo, "ls-files", "-z").split("\0")
    tree.files = {p: (repo / p).read_text(encoding="utf-8").split("\n")[:-1] for p in names if p}


def _session(repo: Path, tree: Tree, rng: random.Random, code: Code, number: int, clock: list[int]) -> Session:
    """One cockpit session made with real git commands in the checkout (on main)."""
    start = git(repo, "rev-parse", "main").strip()
    run = f"bench{number}"
    tasks: list[RecordedTask] = []
    heads: dict[str, str] = {}
    paths = sorted(tree.files)
    for k in range(rng.randrange(2, 5)):
        key = f"t{k}"
        dep = f"t{k - 1}" if k and rng.random() < 0.3 else None
        branch = f"cockpit/{run}/{key}"
        git(repo, "checkout", "-q", "-b", branch, heads[dep] if dep else start)
        _reload(repo, tree)
        task_start = git(repo, "rev-parse", "HEAD").strip()
        for _ in range(rng.randrange(1, 4)):
            clock[0] += 600
            touched = {rng.choice(tree.hot) if rng.random() < 0.6 else rng.choice(paths)}
            if rng.random() < 0.2:
                new = f"pkg{rng.randrange(PACKAGES)}/{run}_{key}_{clock[0]}.py"
                tree.files[new] = code.block(rng.randrange(10, 40))
                touched.add(new)
            for path in sorted(touched):
                body = tree.files[path]
                pos = rng.randrange(len(body) + 1)
                body[pos:pos] = code.block(rng.randrange(3, 25))
            _write(repo, tree, touched)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"{run} {key}", when=clock[0])
        heads[key] = git(repo, "rev-parse", "HEAD").strip()
        tasks.append(RecordedTask(key, task_start, heads[key], agent=rng.choice(["claude", "codex", "sonnet"]),
                                  depends_on=(dep,) if dep else (), cost_usd=round(rng.uniform(0.05, 2.0), 2)))
    git(repo, "checkout", "-q", "main")
    _reload(repo, tree)
    own = rng.random() < 0.35
    if own:
        clock[0] += 300
        path = rng.choice(sorted(tree.files))
        tree.files[path][0:0] = code.block(rng.randrange(2, 8))
        _write(repo, tree, {path})
        git(repo, "commit", "-qam", "my own fix", when=clock[0])
    for task in tasks:
        clock[0] += 120
        roll = rng.random()
        branch = f"cockpit/{run}/{task.key}"
        how = ("merge" if roll < 0.55 else "cherry-pick" if roll < 0.65 else "squash" if roll < 0.75
               else "discard" if roll < 0.92 else "undecided")
        ok = True
        if how == "merge":
            ok = subprocess.run(["git", "merge", "-q", "--no-ff", "-m", f"Accept {task.key}", branch], cwd=repo,
                                capture_output=True, env=_env(clock[0])).returncode == 0
        elif how == "cherry-pick":
            ok = subprocess.run(["git", "cherry-pick", f"{task.start}..{task.head}"], cwd=repo,
                                capture_output=True, env=_env(clock[0])).returncode == 0
        elif how == "squash":
            ok = subprocess.run(["git", "merge", "-q", "--squash", branch], cwd=repo, capture_output=True,
                                env=_env(clock[0])).returncode == 0
            ok = ok and subprocess.run(["git", "commit", "-qm", f"Squashed {task.key}"], cwd=repo,
                                       capture_output=True, env=_env(clock[0])).returncode == 0
        if not ok:  # a conflict: the developer gives up on it
            for abort in (["merge", "--abort"], ["cherry-pick", "--abort"], ["reset", "-q", "--hard", "main"]):
                subprocess.run(["git", *abort], cwd=repo, capture_output=True, env=_env())
            how = "discard"
        if how in ("merge", "cherry-pick", "squash"):
            task.decision, task.decided_at = "accepted", clock[0]
        elif how == "discard":
            task.decision, task.decided_at = "discarded", clock[0]
            git(repo, "branch", "-q", "-D", branch)
        elif rng.random() < 0.5:  # reviewed late: accepted three days on
            git(repo, "merge", "-q", "--no-ff", "-m", f"Accept {task.key}", branch, when=clock[0])
            task.decision, task.decided_at = "accepted", clock[0] + 3 * DAY
    _reload(repo, tree)
    tree.hot = [p for p in tree.hot if p in tree.files] or sorted(tree.files)[:5]
    end = git(repo, "rev-parse", "main").strip()
    day = dt.datetime.fromtimestamp(clock[0], tz=dt.timezone.utc).date()
    return Session(start, end, tasks, day, own)


def generate(repo: Path) -> list[Session]:
    rng = random.Random(SEED)
    code = Code(rng)
    git(repo, "init", "-q", "-b", "main")
    tree = Tree()
    for i in range(FILES):
        tree.files[f"pkg{i % PACKAGES}/mod_{i}.py"] = code.block(rng.randrange(30, 160))
    tree.hot = sorted(tree.files)[:8]
    clock = [T0]
    sessions: list[Session] = []
    # Sessions over the first four months, the rest of the history after them.
    spots = sorted(rng.sample(range(min(200, COMMITS // 10), max(COMMITS - 1200, COMMITS // 2)), SESSIONS))
    done = 0
    for number, spot in enumerate(spots, 1):
        _fast_import(repo, tree, rng, code, done, spot - done, clock, fresh=done == 0)
        git(repo, "reset", "-q", "--hard", "main")
        _reload(repo, tree)
        done = spot
        sessions.append(_session(repo, tree, rng, code, number, clock))
    _fast_import(repo, tree, rng, code, done, COMMITS - done, clock, fresh=False)
    git(repo, "reset", "-q", "--hard", "main")
    # Discarded branches are gone for good: their commits only live in the stored records.
    git(repo, "reflog", "expire", "--expire=now", "--all")
    return sessions


# --------------------------------------------------------------------------- the store


async def record(db: Path, repo: Path, sessions: list[Session]) -> list[str]:
    labels = []
    async with await Store.open(db) as store:
        for s in sessions:
            sid = await record_session(store, repo, s.start, s.end, s.tasks, date=s.day)
            labels.append((await store.get_session(sid)).label)
    return labels


async def works(db: Path, labels: list[str]) -> list[SessionWork]:
    found = []
    async with await Store.open(db) as store:
        rows = {r.label: r for r in await store.list_sessions()}
        for label in labels:
            found.append(SessionWork.from_json(await store.fingerprint(rows[label].id)))
    return found


def copy_store(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


# --------------------------------------------------------------------------- the two sides


def command_env(pycache: Path) -> dict[str, str]:
    env = _env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def cockpit() -> list[str]:
    script = Path(sys.executable).parent / "cockpit"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("cockpit")
    return [found] if found else [sys.executable, "-m", "tui.cli"]


def stuck(command: list[str], env: dict[str, str], repo: Path, db: Path, labels: list[str]) -> tuple[float, list[dict]]:
    t = time.perf_counter()
    done = subprocess.run([*command, "stuck", *labels, "--json", "--db", str(db)], cwd=repo, capture_output=True,
                          env=env)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"cockpit stuck exited {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
    return took, json.loads(done.stdout)


def check(items: list[dict], labels: list[str], cached: bool, expected: list[dict] | None) -> None:
    def fail(what: str) -> None:
        raise SystemExit(f"cockpit stuck ({'warm' if cached else 'cold'}): {what}")

    if [i.get("session") for i in items] != labels:
        fail(f"expected the sessions {labels}")
    for item in items:
        if item["method"] == "lost" and item["added"] is None:
            fail(f"{item['session']} not measured: {item['reason']}")
        if not item["added"] or item["ratio"] is None:
            fail(f"{item['session']}: no figures ({item['added']}, {item['ratio']})")
        if not all(item["horizons_reached"].values()) or None in item["horizons"].values():
            fail(f"{item['session']}: a horizon is missing {item['horizons']}")
        if item["cached"] is not cached:
            fail(f"{item['session']}: cached is {item['cached']}, expected {cached}")
    strip = [{k: v for k, v in i.items() if k != "cached"} for i in items]
    if expected is not None and strip != [{k: v for k, v in i.items() if k != "cached"} for i in expected]:
        fail("the answer differs from the first cold run's")


PLAIN = r'''
import json, subprocess, sys
jobs = json.load(open(sys.argv[1]))
counts = {}
for head, path in jobs:
    out = subprocess.run(["git", "blame", "-w", "-M", "-C", "--porcelain", head, "--", path],
                         capture_output=True, check=True).stdout
    mine = counts.setdefault(head, {})
    for line in out.split(b"\n"):
        if line[:1] not in (b"\t", b"") and len(line) > 40 and line[40:41] == b" ":
            sha = line[:40].decode()
            mine[sha] = mine.get(sha, 0) + 1
print(sum(len(v) for v in counts.values()))
'''


def plain(env: dict[str, str], repo: Path, jobs_file: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN, str(jobs_file)], cwd=repo, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


# --------------------------------------------------------------------------- exactness


def blame_everything(repo: Path, head: str) -> list[tuple[str, bytes]]:
    """(commit, line) of every line of every file at ``head``: ``git blame -w -M -C`` of the whole
    history, file by file."""
    found: list[tuple[str, bytes]] = []
    for path in git(repo, "ls-tree", "-r", "--name-only", head).splitlines():
        out = subprocess.run(["git", "blame", "-w", "-M", "-C", "--porcelain", head, "--", path], cwd=repo,
                             capture_output=True, check=True).stdout
        sha = ""
        for line in out.split(b"\n"):
            if line[:1] == b"\t":
                found.append((sha, line[1:]))
            elif len(line) > 40 and line[40:41] == b" ":
                sha = line[:40].decode()
    return found


def independent(everything: list[tuple[str, bytes]], work: SessionWork, task: str) -> int:
    """The task's lines among ``everything`` (a multiset of the contents it added)."""
    part = work.parts[task]
    wanted: Counter[int] = Counter()
    for counts in part.files.values():
        for h, n in counts.items():
            wanted[int(h, 16)] += n
    commits = set(part.commits)
    found = 0
    for sha, line in everything:
        if sha in commits and meaningful(line):
            h = line_hash_int(line)
            if wanted[h] > 0:
                wanted[h] -= 1
                found += 1
    return found


# --------------------------------------------------------------------------- the bench


def main() -> int:
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-survival-"))
    try:
        repo = tmp / "repo"
        repo.mkdir()
        t = time.perf_counter()
        sessions = generate(repo)
        count = git(repo, "rev-list", "--count", "main").strip()
        renames = len(git(repo, "log", "--format=", "-M", "--diff-filter=R", "--name-only", "main").split())
        print(f"repository: {count} commits, {len(git(repo, 'ls-files').split())} files at HEAD, {renames} moved "
              f"(plus splits and moved code), built in {time.perf_counter() - t:.1f}s")
        recorded = tmp / "recorded.db"
        t = time.perf_counter()
        labels = asyncio.run(record(recorded, repo, sessions))
        git(repo, "gc", "-q", "--prune=now")  # after the works were recorded, as time would do
        decided = Counter(task.decision or "undecided" for s in sessions for task in s.tasks)
        print(f"store: {len(labels)} sessions, {sum(len(s.tasks) for s in sessions)} tasks ({dict(decided)}), "
              f"{sum(s.own for s in sessions)} with a commit of the developer's, recorded in {time.perf_counter() - t:.1f}s")
        all_works = asyncio.run(works(recorded, labels))

        command = cockpit()
        env = command_env(tmp / "pycache")
        # Untimed: byte-code compiled (into tmp), the interpreter and the code in the OS caches.
        _, empty = stuck(command, env, repo, tmp / "warm-up.db", [])
        if empty != []:
            raise SystemExit(f"cockpit stuck on an empty store answered {empty!r}")
        cold: list[float] = []
        warm: list[float] = []
        base: list[float] = []
        at_head: list[float] = []
        first: list[dict] | None = None
        jobs: list[tuple[str, str]] = []
        heads: set[str] = set()
        jobs_file, head_file = tmp / "jobs.json", tmp / "jobs-at-head.json"
        for n in range(ROUNDS):
            db = tmp / f"round-{n}.db"
            copy_store(recorded, db)
            env["XDG_CACHE_HOME"] = str(tmp / f"cache-{n}")  # cold: no blame kept from an earlier run
            plain_first = n % 2 == 1  # round 0 runs the command first: it gives the heads
            if plain_first:
                base.append(plain(env, repo, jobs_file))
                at_head.append(plain(env, repo, head_file))
            took, items = stuck(command, env, repo, db, labels)
            check(items, labels, False, first)
            cold.append(took)
            if first is None:
                first = items
                heads = _measured_heads(db, labels)
                jobs = plain_jobs_at(repo, heads, all_works)
                jobs_file.write_text(json.dumps(jobs))
                head_file.write_text(json.dumps([j for j in jobs if j[0] == items[0]["head"]]))
            if not plain_first:
                base.append(plain(env, repo, jobs_file))
                at_head.append(plain(env, repo, head_file))
            took, items = stuck(command, env, repo, db, labels)
            check(items, labels, True, first)
            warm.append(took)
        assert first is not None
        # HEAD moves on (one more commit): the horizons measured are kept, only HEAD is blamed again;
        # against the plain script at that HEAD only.
        last = int(git(repo, "log", "-1", "--format=%ct", "main").strip())
        hot = sorted(all_works[0].parts.values(), key=lambda p: -p.added)[0]
        path = sorted(hot.files)[0]
        with open(repo / path, "a", encoding="utf-8") as f:
            f.write("    moved_on = 1\n")
        git(repo, "commit", "-qam", "HEAD moves on", when=last + STEP)
        new_head = git(repo, "rev-parse", "HEAD").strip()
        moved_file = tmp / "jobs-new-head.json"
        moved_file.write_text(json.dumps(plain_jobs_at(repo, {new_head}, all_works)))
        took_moved, moved_items = stuck(command, env, repo, db, labels)
        if [i["horizons"] for i in moved_items] != [i["horizons"] for i in first]:
            raise SystemExit("cockpit stuck at the new HEAD changed a horizon")
        plain_moved = plain(env, repo, moved_file)
        for item in first:
            hz = " ".join(f"{k}={v:.2f}" for k, v in item["horizons"].items())
            own = item["own"]
            print(f"session {item['session']} tasks={len(item['tasks'])} added={item['added']:5d} "
                  f"stuck={item['surviving']:5d} ratio={item['ratio']:.3f} {hz} method={item['method']}"
                  + (f" own=+{own['added']}" if own and own["added"] else ""))
        agree = total = 0
        everything = blame_everything(repo, first[0]["head"])
        for item, work in zip(first, all_works):
            for task in item["tasks"]:
                if task["decision"] == "accepted" and task["method"] == "blame":
                    total += 1
                    theirs = independent(everything, work, task["task"])
                    agree += theirs == task["surviving"]
                    if theirs != task["surviving"]:
                        print(f"  differs: {item['session']} {task['task']}: {task['surviving']} vs whole-file {theirs}")
        print(f"exact: {agree} of {total} merged tasks agree with whole-file blame of every file at HEAD")
        ours, theirs, again = sum(cold), sum(base), sum(warm)
        print(f"cockpit stuck, cold: {ours:.2f}s over {ROUNDS} rounds ({', '.join(f'{v:.2f}' for v in cold)})")
        print(f"plain shared blame:  {theirs:.2f}s over {ROUNDS} rounds ({len(jobs)} blames a round, "
              f"{len(heads)} heads)")
        print(f"cockpit stuck, warm: {again:.2f}s over {ROUNDS} rounds")
        print(f"(for scale: the plain script at HEAD only, no horizon: {sum(at_head):.2f}s)")
        print(f"HEAD moved on one commit: cockpit stuck {took_moved:.2f}s (horizons kept), "
              f"the plain script at that HEAD only {plain_moved:.2f}s")
        print(f"bench: {time.perf_counter() - began:.0f}s in all, {os.cpu_count()} cpus")
        print(f"BENCH survival ratio_vs_shared_blame {ours / theirs:.3f} target <= 1.0")
        print(f"BENCH survival warm_vs_shared_blame {again / theirs:.4f} target <= 0.05")
        print(f"BENCH survival new_head_vs_plain_at_head {took_moved / plain_moved:.3f} target <= 1.0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _measured_heads(db: Path, labels: list[str]) -> set[str]:
    """HEAD and every horizon head the command measured (from the results it stored)."""
    conn = sqlite3.connect(db)
    try:
        heads = set()
        for head, data in conn.execute("SELECT head, data FROM survival"):
            heads.add(head)
            heads.update(p["head"] for p in json.loads(data)["horizon_points"].values() if p["head"])
        return heads
    finally:
        conn.close()


def plain_jobs_at(repo: Path, heads: set[str], all_works: list[SessionWork]) -> list[tuple[str, str]]:
    touched: set[str] = set()
    for work in all_works:
        for part in [*work.parts.values(), *([work.own] if work.own else [])]:
            touched.update(part.files)
    jobs = []
    for head in sorted(heads):
        present = set(git(repo, "ls-tree", "-r", "--name-only", head).splitlines())
        jobs.extend((head, p) for p in sorted(touched & present))
    return jobs


if __name__ == "__main__":
    sys.exit(main())
