"""Routing: agent = "auto" or a list of profiles, decided fixed, round-robin or by the best record.

The record comes from a real store holding past sessions, tasks, decisions and survival, read by the
sessions-side TrackRecord. Also: a profile's own max_parallel, and every new key's located error.
"""
from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers.events import make_engine, plan_of, wait_for_file
from engine.config import load_config
from engine.errors import ConfigError, PlanError, UserError
from engine.events import EventBus, RunStarted, TaskInfo, TaskOptions, TaskRouted, TaskStateChanged
from engine.plan import load_plan
from engine.profiles import AgentProfile, ProfileSet
from engine.routing import Record, Router
from engine.states import TaskState
from sessions.store.event_writer import EventWriter
from sessions.store.store import Store
from sessions.reports.track_record import StoreTrackRecord
from tui.cli.main import main
from sessions.launch import prepare

S = TaskState


def program(name: str, **options) -> AgentProfile:
    """An installed program agent (kind command: "auto" may choose it) that says who it is."""
    return AgentProfile(name, argv=("bash", "-c", f'echo "ran by {name}"; echo {name} > who.txt', "{prompt}"),
                        **options)


def ghost(name: str = "ghost") -> AgentProfile:
    return AgentProfile(name, argv=("no-such-agent-program-xyz", "{prompt}"))


def profile_set(*profiles: AgentProfile, builtins: bool = False) -> ProfileSet:
    """The given profiles (and ``shell``); the built-ins too with ``builtins``."""
    base = ProfileSet() if builtins else ProfileSet({"shell": ProfileSet().profiles["shell"]})
    for p in profiles:
        base.profiles[p.name] = p
    return base


class FixedRecord:
    def __init__(self, records: dict[tuple[str, str | None], tuple[int, float | None, float | None]]) -> None:
        self.records = records
        self.asked: list[tuple[str, str | None]] = []

    def record(self, profile: str, role: str | None) -> tuple[int, float | None, float | None]:
        self.asked.append((profile, role))
        return self.records.get((profile, role), (0, None, None))


def routed(rec) -> dict[str, TaskRouted]:
    return {e.task_id: e for e in rec.of(TaskRouted)}


# ----------------------------------------------------------------------------------- the router
def test_fixed_takes_the_first_available() -> None:
    router = Router()
    choice = router.choose(["a", "b", "c"], ["b", "c"], "fixed")
    assert (choice.profile, choice.strategy, choice.reason) == ("b", "fixed", "first available of a, b, c (a unavailable)")
    assert router.choose(["a", "b"], ["a", "b"], "fixed").reason == "first available of a, b"
    assert router.choose(["a", "b"], [], "fixed") is None


def test_round_robin_takes_turns_and_skips_the_unavailable() -> None:
    router = Router()
    picks = [router.choose(["a", "b", "c"], ["a", "b", "c"], "round-robin").profile for _ in range(4)]
    assert picks == ["a", "b", "c", "a"]
    assert router.choose(["a", "b", "c"], ["a", "c"], "round-robin").profile == "c"  # b's turn, b unavailable
    assert router.choose(["x", "y"], ["x", "y"], "round-robin").profile == "x"  # its own turn per list


def test_best_by_accepted_share_then_survival() -> None:
    record = FixedRecord({
        ("a", "tester"): (6, 0.5, 0.9), ("b", "tester"): (8, 0.75, None), ("c", "tester"): (5, 0.75, 0.4),
    })
    router = Router(record, min_tasks=5)
    choice = router.choose(["a", "b", "c"], ["a", "b", "c"], "best", "tester")
    assert choice.profile == "c" and choice.strategy == "best"  # b and c equal on share; c's survival measured
    assert choice.reason == ("best record of past tester tasks: 75% accepted of 5, survival 40% "
                             "(vs a 50% of 6, survival 90%; b 75% of 8)")
    assert sorted(record.asked) == [("a", "tester"), ("b", "tester"), ("c", "tester")]
    assert router.choose(["a", "b"], ["a", "b"], "best", "tester").profile == "b"


def test_best_falls_back_to_round_robin_below_the_minimum() -> None:
    record = FixedRecord({("a", None): (9, 1.0, None), ("b", None): (4, 0.0, None)})
    router = Router(record, min_tasks=5)
    first = router.choose(["a", "b"], ["a", "b"], "best")
    assert (first.profile, first.strategy) == ("a", "round-robin")
    assert first.reason == ("best: too few past tasks without a role in this repository (a 9, b 4; 5 needed); "
                            "round-robin over a, b")
    assert router.choose(["a", "b"], ["a", "b"], "best").profile == "b"  # never tried enough: it gets its turn
    assert router.choose(["a", "b"], ["a"], "best").profile == "a"  # only a is available, and a has 9
    assert router.choose(["a", "b"], ["a"], "best").strategy == "best"
    no_record = Router(None).choose(["a", "b"], ["a", "b"], "best")
    assert no_record.strategy == "round-robin" and "no track record" in no_record.reason


# ------------------------------------------------------------------------------------ the engine
async def test_fixed_routing_skips_what_is_not_installed(repo: Path, runner) -> None:
    profiles = profile_set(ghost(), program("p1"), program("p2"))
    plan = plan_of({"id": "t", "agent": ["ghost", "p1", "p2"], "prompt": "do it"}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"t": S.SUCCEEDED}
    event = routed(rec)["t"]
    assert (event.profile, event.strategy, event.candidates, event.attempt) == ("p1", "fixed", ("ghost", "p1", "p2"), 1)
    assert event.reason == "first available of ghost, p1, p2 (ghost unavailable)"
    assert rec.lines("t", "stdout") == ["ran by p1"]
    assert "agent p1 chosen (fixed): first available of ghost, p1, p2 (ghost unavailable)" in rec.lines("t", "engine")
    info = rec.events[0].tasks[0]
    assert (info.agent, info.candidates, info.routing) == ("ghost|p1|p2", ("ghost", "p1", "p2"), "fixed")


async def test_round_robin_over_a_list(repo: Path, runner) -> None:
    profiles = profile_set(program("p1"), program("p2"))
    tasks = [{"id": f"t{i}", "prompt": "x"} for i in range(4)]
    plan = plan_of(*tasks, agent=["p1", "p2"], routing="round-robin", max_parallel=1, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert set(states.values()) == {S.SUCCEEDED}
    assert [routed(rec)[f"t{i}"].profile for i in range(4)] == ["p1", "p2", "p1", "p2"]
    assert routed(rec)["t0"].reason == "round-robin over p1, p2"


async def test_auto_chooses_among_installed_non_shell_profiles(repo: Path, runner) -> None:
    profiles = profile_set(ghost("a-ghost"), program("p1"), program("p2"))
    plan = plan_of({"id": "t", "agent": "auto", "prompt": "x"}, {"id": "u", "agent": "auto", "prompt": "x"},
                   routing="round-robin", max_parallel=1, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    assert engine.auto_profiles == ("a-ghost", "p1", "p2")  # shell never: its prompt is a script
    states, rec = await runner.run(engine)
    assert set(states.values()) == {S.SUCCEEDED}
    assert [routed(rec)[t].profile for t in ("t", "u")] == ["p1", "p2"]
    assert routed(rec)["t"].candidates == ("a-ghost", "p1", "p2")
    # a configured list of candidates instead
    engine = make_engine(plan, repo, profiles, auto_profiles=["p2"])
    states, rec = await runner.run(engine)
    assert [routed(rec)[t].profile for t in ("t", "u")] == ["p2", "p2"]


async def test_no_installed_candidate_fails_the_task(repo: Path, runner) -> None:
    profiles = profile_set(ghost("g1"), ghost("g2"))
    plan = plan_of({"id": "t", "agent": ["g1", "g2"], "prompt": "x"},
                   {"id": "after", "prompt": "true", "depends_on": ["t"]}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"t": S.FAILED, "after": S.SKIPPED}
    (failed,) = [e for e in rec.transitions("t") if e.new is S.FAILED]
    assert failed.reason == "no candidate profile is available (g1: not installed; g2: not installed)"


async def test_best_routes_by_a_track_record(repo: Path, runner) -> None:
    profiles = profile_set(program("p1"), program("p2"))
    record = FixedRecord({("p1", "tester"): (6, 0.5, None), ("p2", "tester"): (5, 0.8, 0.7)})
    plan = plan_of({"id": "t", "agent": "auto", "role": "tester", "prompt": "x"}, routing="best", profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles, track_record=record))
    assert states == {"t": S.SUCCEEDED}
    event = routed(rec)["t"]
    assert (event.profile, event.strategy) == ("p2", "best")
    assert event.reason == "best record of past tester tasks: 80% accepted of 5, survival 70% (vs p1 50% of 6)"
    # below the minimum (configurable), round-robin
    states, rec = await runner.run(make_engine(plan, repo, profiles, track_record=record, min_track_record=6))
    event = routed(rec)["t"]
    assert (event.profile, event.strategy) == ("p1", "round-robin") and "6 needed" in event.reason


async def test_a_profile_runs_at_most_its_own_max_parallel(repo: Path, tmp_path: Path, runner) -> None:
    gate = tmp_path / "gate"
    slow = AgentProfile("slow", argv=("bash", "-c", f"{wait_for_file(gate)}; echo done", "{prompt}"), max_parallel=1)
    profiles = profile_set(slow)
    plan = plan_of(*[{"id": f"s{i}", "agent": "slow", "prompt": "x"} for i in range(3)],
                   {"id": "other", "prompt": "echo other"}, max_parallel=4, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    run, rec = runner.start(engine)
    await rec.wait_state("other", S.SUCCEEDED)  # other profiles go on while slow is full
    await rec.wait_line("s1", "waiting: profile 'slow' already runs 1 task (its max_parallel)")
    await rec.wait_state("s0", S.RUNNING)
    assert [engine.tasks[f"s{i}"].state for i in range(3)] == [S.RUNNING, S.READY, S.READY]
    gate.touch()
    assert set((await asyncio.wait_for(run, 30)).values()) == {S.SUCCEEDED}
    slow_running = 0
    most = 0
    for e in rec.transitions():
        if e.task_id.startswith("s"):
            slow_running += (e.new is S.RUNNING) - (e.old is S.RUNNING)
            most = max(most, slow_running)
    assert most == 1
    assert [e.task_id for e in rec.transitions() if e.new is S.RUNNING and e.task_id != "other"] == ["s0", "s1", "s2"]


# ------------------------------------------------------------------------ the store's track record
async def record_session(store: Store, repo: Path, tasks: list[tuple[str, str, str | None, str, str | None]],
                         survival: float | None = None) -> int:
    """A past session of ``repo`` whose tasks (key, profile used, role, final state, decision) ran."""
    session = await store.create_session(repo, "the past", None)
    bus = EventBus()
    run_id = f"past-{session.id}"
    writer = EventWriter(store, session.id, run_id)
    subscription = bus.subscribe()
    bus.publish(RunStarted(run_id, str(repo), "", tuple(
        TaskInfo(key, key, "auto", "do it", (), None, 0, options=TaskOptions(role, "", ("p1", "p2"), "best"))
        for key, _, role, _, _ in tasks)))
    for key, profile, _, state, _ in tasks:
        bus.publish(TaskRouted(key, profile, "best", "the past", ("p1", "p2"), 1))
        bus.publish(TaskStateChanged(key, S.READY, S.RUNNING, 1))
        bus.publish(TaskStateChanged(key, S.RUNNING, S(state), 1))
    bus.close()
    await writer.run(subscription)
    for key, _, _, _, decision in tasks:
        if decision is not None:
            await store.set_decision(session.id, key, decision)
    if survival is not None:  # an older measure, then the newest (the one that counts)
        await store.save_survival(session.id, "0" * 40, json.dumps({"ratio": 0.1, "added": 100, "surviving": 10}),
                                  computed_at=1.0)
        await store.save_survival(session.id, "1" * 40, json.dumps(
            {"ratio": survival, "added": 100, "surviving": round(survival * 100)}), computed_at=2.0)
    await store.end_session(session.id, "complete", None)
    return session.id


async def seed(db: Path, repo: Path, other_repo: Path) -> None:
    async with await Store.open(db) as store:
        await record_session(store, repo, [
            ("a1", "p1", "tester", "succeeded", "accepted"),
            ("a2", "p1", "tester", "succeeded", "discarded"),
            ("a3", "p1", "tester", "failed", None),  # undecided: left out of the share
            ("a4", "p1", "tester", "succeeded", None),
            ("a5", "p1", "tester", "cancelled", None),
            ("a6", "p1", None, "succeeded", "accepted"),  # another role (it shares the session's lines)
            ("a7", "p1", "tester", "failed", "discarded"),
            ("b1", "p2", "tester", "succeeded", "accepted"),
            ("b2", "p2", "tester", "succeeded", "accepted"),
        ], survival=0.5)
        await record_session(store, repo, [
            ("b3", "p2", "tester", "succeeded", "accepted"),
            ("b4", "p2", "tester", "timed_out", None),
        ], survival=0.9)
        await record_session(store, repo, [("b5", "p2", "tester", "succeeded", "accepted")])  # not measured
        await record_session(store, other_repo, [("c1", "p1", "tester", "succeeded", "accepted")] * 1)


async def test_store_track_record(repo_factory, tmp_path: Path) -> None:
    repo, other = repo_factory("repo"), repo_factory("other")
    db = tmp_path / "db.sqlite"
    assert StoreTrackRecord.load(db, repo).record("p1", "tester") == Record(0, None, None)  # no database yet
    assert not db.exists()
    await seed(db, repo, other)
    record = StoreTrackRecord.load(db, repo)
    # the figures of the report's agent table, per role: session 1's 50 of 100 lines are shared by
    # its four accepted tasks (a1, a6, b1, b2: none says how many lines it added, so equally)
    assert record.record("p1", "tester") == Record(3, 1 / 3, 0.5)
    p2 = record.record("p2", "tester")  # b1, b2 (session 1), b3 (session 2: 90 of 100), b5 (not measured)
    assert p2.tasks == 4 and p2.accepted_share == 1.0 and p2.survival == pytest.approx((25 + 90) / (50 + 100))
    assert record.record("p1", None) == Record(1, 1.0, 0.5)
    assert record.record("p3", "tester") == Record(0, None, None)
    assert StoreTrackRecord.load(db, other).record("p1", "tester") == Record(1, 1.0, None)


def test_best_through_cockpit_run_and_show(repo_factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, other = repo_factory("repo"), repo_factory("other")
    db = tmp_path / "db.sqlite"
    asyncio.run(seed(db, repo, other))
    (repo / "cockpit.toml").write_text(textwrap.dedent('''
        [agents.p1]
        argv = ["bash", "-c", "echo p1 > who.txt", "{prompt}"]
        [agents.p2]
        argv = ["bash", "-c", "echo p2 > who.txt", "{prompt}"]
        [routing]
        profiles = ["p1", "p2"]
        min_tasks = 3
    '''))
    (repo / "plan.toml").write_text(textwrap.dedent('''
        agent = "auto"
        routing = "best"
        check = "test -s who.txt && echo '1 passed in 0.01s'"
        [[task]]
        id = "tests"
        role = "tester"
        prompt = "Write the tests."
        [[task]]
        id = "fixed"
        agent = "shell"
        prompt = "true"
        check = false
    '''))
    code = main(["run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", str(db)])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert ("→ tests agent p2 (best): best record of past tester tasks: 100% accepted of 4, survival 77% "
            "(vs p1 33% of 3, survival 50%)") in out
    label = next(line.split()[1] for line in out.splitlines() if line.startswith("session "))
    assert main(["show", label, "--json", "--repo", str(repo), "--db", str(db)]) == 0
    shown = json.loads(capsys.readouterr()[0])
    tasks = {t["id"]: t for t in shown["tasks"]}
    assert tasks["tests"]["agent"] == "p2" and tasks["tests"]["role"] == "tester"
    assert tasks["tests"]["route"].startswith("best: best record of past tester tasks: 100% accepted of 4")
    assert tasks["tests"]["check"]["ok"] is True and tasks["tests"]["check"]["counts"]["passed"] == 1
    assert tasks["fixed"]["agent"] == "shell" and tasks["fixed"]["route"] is None and tasks["fixed"]["check"] is None
    assert tasks["fixed"]["role"] is None


def test_prepare_refuses_a_routed_task_without_any_installed_candidate(repo: Path, tmp_path: Path) -> None:
    (repo / "cockpit.toml").write_text('[agents.g1]\nargv = ["no-such-agent-program-xyz", "{prompt}"]\n')
    plan = repo / "plan.toml"
    plan.write_text('[[task]]\nid = "t"\nagent = ["g1"]\nprompt = "x"\n\n[[task]]\nid = "u"\nagent = ["g1", "g1b"]\nprompt = "x"\n')
    with pytest.raises(PlanError, match="unknown agent profile 'g1b'"):
        prepare(plan, str(repo), None, db=tmp_path / "db")
    (repo / "cockpit.toml").write_text('[agents.g1]\nargv = ["no-such-agent-program-xyz", "{prompt}"]\n'
                                       '[agents.g2]\nextends = "g1"\n')
    plan.write_text('[[task]]\nid = "u"\nagent = ["g1", "g2"]\nprompt = "x"\n')
    with pytest.raises(UserError) as info:
        prepare(plan, str(repo), None, db=tmp_path / "db")
    assert str(info.value) == (f"{plan}: task 'u': agent 'g1|g2': none of its candidate profiles (g1, g2) is "
                               "installed (or has its API key)")


# ----------------------------------------------------------------------------- plans and config
@pytest.mark.parametrize("top, line, expected", [
    ("", 'agent = []', "task 'b': agent must be a profile, \"auto\", or a non-empty array of profiles"),
    ("", 'agent = ["shell", 3]', "task 'b': agent must be a profile"),
    ("", 'agent = ["claude", "auto"]', "task 'b': agent: \"auto\" cannot be one of a list"),
    ("", 'agent = ["claude", "cluade"]', "task 'b': agent: unknown agent profile 'cluade'"),
    ("", 'agent = ["claude", "codex", "claude"]', "task 'b': agent: profile 'claude' is listed twice"),
    ("", 'agent = {a = 1}', "task 'b': agent must be a string, not a table"),
    ("", 'routing = "best"', "task 'b': routing applies to agent = \"auto\" or a list of profiles, not to the "
                             "fixed profile 'shell'"),
    ("", 'agent = "auto"\nrouting = "smart"', "task 'b': routing must be one of fixed, round-robin, best, not 'smart'"),
    ('routing = 1\n', "", "routing must be one of fixed, round-robin, best, not 1"),
])
def test_routing_plan_errors_are_located(tmp_path: Path, top: str, line: str, expected: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(f'agent = "shell"\n{top}\n[[task]]\nid = "a"\nprompt = "x"\n\n[[task]]\nid = "b"\nprompt = "x"\n{line}\n')
    with pytest.raises(PlanError) as info:
        load_plan(path, ProfileSet())
    message = str(info.value)
    assert "\n" not in message and expected in message, message
    where = f"{path}:{path.read_text().splitlines().index('[[task]]', 4) + 1}: " if line else f"{path}: "
    assert message.startswith(where), message


def test_routing_plan_values(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(textwrap.dedent('''
        agent = ["claude", "codex"]
        routing = "best"
        [[task]]
        id = "a"
        prompt = "x"
        [[task]]
        id = "b"
        prompt = "x"
        agent = "auto"
        routing = "round-robin"
        [[task]]
        id = "c"
        prompt = "x"
        agent = ["codex"]
    '''))
    a, b, c = load_plan(path, ProfileSet()).tasks
    assert (a.agent, a.agents, a.routing) == ("claude|codex", ("claude", "codex"), "best")
    assert (b.agent, b.agents, b.routing) == ("auto", ("auto",), "round-robin")
    assert (c.agent, c.agents, c.routing) == ("codex", (), "fixed")  # a list of one is that profile


def test_routing_config(tmp_path: Path) -> None:
    (tmp_path / "cockpit.toml").write_text(textwrap.dedent('''
        [routing]
        profiles = ["codex", "mine"]
        min_tasks = 8
        [agents.mine]
        extends = "claude"
        max_parallel = 2
    '''))
    config = load_config(tmp_path)
    assert config.routing.profiles == ("codex", "mine") and config.routing.min_tasks == 8
    assert config.profiles["mine"].max_parallel == 2
    assert load_config(None).routing.profiles is None and load_config(None).routing.min_tasks == 5


@pytest.mark.parametrize("text, expected", [
    ('[routing]\nprofiles = ["nope"]\n', "[routing] profiles: unknown agent profile 'nope'"),
    ('[routing]\nprofiles = []\n', "[routing]: profiles must be a non-empty array of distinct profile names"),
    ('[routing]\nprofiles = ["claude", "claude"]\n', "[routing]: profiles must be a non-empty array"),
    ('[routing]\nprofiles = ["auto"]\n', "[routing]: profiles lists the profiles \"auto\" chooses from"),
    ('[routing]\nmin_tasks = 0\n', "[routing]: min_tasks must be a whole number of at least 1, not 0"),
    ('[routing]\nstrategy = "best"\n', "[routing]: unknown key 'strategy' (known: min_tasks, profiles)"),
    ('routing = "best"\n', "'routing' must be a table, not a string"),
    ('[agents.auto]\nextends = "claude"\n', "[agents.auto]: the name 'auto' is reserved"),
    ('[agents.mine]\nextends = "claude"\nmax_parallel = 0\n', "[agents.mine]: max_parallel must be a whole number"),
])
def test_routing_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "cockpit.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and expected in message, message
