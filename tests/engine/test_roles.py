"""Roles: their instructions join the prompt; a reviewer reads the diffs of the tasks it depends on.

The effective prompt travels on the task's change to running and is kept in the store. Roles come
built in and from cockpit.toml, whose every new key is checked with a located error.
"""
from __future__ import annotations

import asyncio
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers.events import make_engine, plan_of
from tests.helpers.repos import git
from engine import scheduler
from engine.config import load_config
from engine.errors import ConfigError, PlanError
from engine.events import PromptSent, TaskStateChanged
from engine.plan import load_plan
from engine.profiles import AgentProfile, ProfileSet
from engine.roles import BUILTIN_ROLES, DependencyDiff, Role, compose_prompt, reviews_text
from engine.states import TaskState
from sessions.store.event_writer import EventWriter
from sessions.store.store import Store

S = TaskState


def capture_profile(name: str = "capture") -> AgentProfile:
    """A program agent (kind command) that writes the prompt it was given to prompt.txt."""
    return AgentProfile(name, argv=("bash", "-c", 'printf "%s" "$0" > prompt.txt', "{prompt}"))


def profiles_with(*extra: AgentProfile) -> ProfileSet:
    profiles = ProfileSet()
    for p in extra:
        profiles.profiles[p.name] = p
    return profiles


def running(rec, task_id: str) -> list[PromptSent]:
    """The effective prompts of the task's attempts (when they were not the prompt as written), each
    published just before the attempt's change to running."""
    found = []
    for i, e in enumerate(rec.events):
        if isinstance(e, PromptSent) and e.task_id == task_id:
            after = rec.events[i + 1]
            assert isinstance(after, TaskStateChanged) and after.new is S.RUNNING and after.attempt == e.attempt
            found.append(e)
    return found


# ------------------------------------------------------------------------------ the prompt itself
def test_builtin_roles_have_specific_instructions() -> None:
    assert set(BUILTIN_ROLES) == {"spec-writer", "implementer", "tester", "reviewer"}
    for role in BUILTIN_ROLES.values():
        assert len(role.instructions) > 300 and role.instructions.startswith(f"You are the {role.name.replace('-', ' ')}")
    assert BUILTIN_ROLES["reviewer"].dependency_diffs
    assert not any(r.dependency_diffs for n, r in BUILTIN_ROLES.items() if n != "reviewer")


def test_text_prompt_layout() -> None:
    role = Role("tester", "Write tests.")
    assert compose_prompt("Do X", "command") == "Do X"  # nothing added: the prompt as written
    assert compose_prompt("Do X\n", "anthropic", role) == "## Your role: tester\n\nWrite tests.\n\n## Task\n\nDo X\n"
    text = compose_prompt("Do X", "command", None, "the diffs", "it failed")
    assert text == "Do X\n\n## Changes to review\n\nthe diffs\n\n## The check failed\n\nit failed\n"


def test_shell_prompt_stays_the_same_script(tmp_path: Path) -> None:
    script = "echo start\ncat <<EOF\nheredoc body\nEOF\necho end"
    nasty = "line with 'quotes' and \"more\" and a backslash at the end \\\n$(touch pwned) `touch pwned2`\nEOF\n\r\0x"
    text = compose_prompt(script, "shell", Role("tester", "Write tests.\n\nSecond paragraph."), "diff +x", nasty)
    assert text.startswith("# --- cockpit role: tester ---\n# Write tests.\n#\n# Second paragraph.\n\necho start\n")
    assert "\n# --- cockpit: Changes to review ---\n# diff +x\n" in text
    assert "\n# $(touch pwned) `touch pwned2`\n# EOF\n" in text
    done = subprocess.run(["bash", "-c", text], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "start\nheredoc body\nend\n"
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_reviews_text() -> None:
    assert "nothing to review" in reviews_text([])
    text = reviews_text([
        DependencyDiff("impl", "cockpit/r/impl", "a" * 40, "b" * 40, "diff --git a/x b/x\n+new line\n", cut=1234),
        DependencyDiff("docs", "cockpit/r/docs", "c" * 40, "c" * 40, ""),
    ])
    assert text.startswith(f"### Task 'impl': branch cockpit/r/impl, {'a' * 10}..{'b' * 10}\n```diff\n")
    assert "+new line\n```\n[diff cut: 1,234 more characters not shown]" in text
    assert "### Task 'docs': branch cockpit/r/docs" in text and "(no changes)" in text


# ---------------------------------------------------------------------------- through the engine
async def test_a_role_adds_its_instructions(repo: Path, runner) -> None:
    profiles = profiles_with(capture_profile())
    plan = plan_of(
        {"id": "tests", "agent": "capture", "role": "tester", "prompt": "Cover parse_args."},
        {"id": "script", "role": "implementer",
         "prompt": 'printf "%s" "$BASH_EXECUTION_STRING" | grep -c "You are the ""implementer" > seen.txt'},
        {"id": "plain", "agent": "capture", "prompt": "Just this."},
        profiles=profiles,
    )
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert set(states.values()) == {S.SUCCEEDED}
    (start,) = running(rec, "tests")
    tester = BUILTIN_ROLES["tester"].instructions
    assert start.agent == "capture"
    assert start.prompt == f"## Your role: tester\n\n{tester}\n\n## Task\n\nCover parse_args.\n"
    branch = rec.result("tests").branch
    assert git(repo, "show", f"{branch}:prompt.txt") == start.prompt.rstrip("\n")  # what the program got
    (script_start,) = running(rec, "script")
    assert script_start.prompt.startswith("# --- cockpit role: implementer ---\n# You are the implementer.")
    assert git(repo, "show", f"{rec.result('script').branch}:seen.txt") == "1"
    assert running(rec, "plain") == []  # the prompt as written: nothing more to tell
    info = {t.id: t for t in rec.events[0].tasks}
    assert info["tests"].role == "tester" and info["plain"].role is None


async def test_a_reviewer_sees_the_diffs_of_its_dependencies(repo: Path, runner) -> None:
    profiles = profiles_with(capture_profile())
    plan = plan_of(
        {"id": "impl", "prompt": "printf 'def add(a, b):\\n    return a + b\\n' > calc.py"},
        {"id": "docs", "prompt": "echo '# Calc' > CALC.md"},
        {"id": "review", "agent": "capture", "role": "reviewer", "depends_on": ["impl", "docs"],
         "prompt": "Review the calculator."},
        {"id": "shell-review", "role": "reviewer", "depends_on": ["impl"],
         "prompt": 'printf "%s" "$BASH_EXECUTION_STRING" | grep -c "^# +    return a + b" > found.txt'},
        profiles=profiles,
    )
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert set(states.values()) == {S.SUCCEEDED}, rec.summary()
    (start,) = running(rec, "review")
    prompt = start.prompt
    impl, docs = rec.result("impl"), rec.result("docs")
    assert prompt.startswith("## Your role: reviewer\n\nYou are the reviewer.")
    assert "## Task\n\nReview the calculator.\n\n## Changes to review\n\n" in prompt
    assert f"### Task 'impl': branch {impl.branch}, {impl.start_commit[:10]}..{impl.head_commit[:10]}" in prompt
    assert "+++ b/calc.py\n" in prompt and "+def add(a, b):\n+    return a + b\n" in prompt
    assert f"### Task 'docs': branch {docs.branch}" in prompt and "+# Calc\n" in prompt
    assert "the diffs of 'impl', 'docs' join the prompt" in rec.lines("review", "engine")
    assert git(repo, "show", f"{rec.result('shell-review').branch}:found.txt") == "1"


async def test_the_reviewed_diff_is_bounded(repo: Path, runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "DIFF_LIMIT", 2000)
    profiles = profiles_with(capture_profile())
    plan = plan_of(
        {"id": "big", "prompt": "seq 1 5000 > numbers.txt"},
        {"id": "review", "agent": "capture", "role": "reviewer", "depends_on": ["big"], "prompt": "Review."},
        profiles=profiles,
    )
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"big": S.SUCCEEDED, "review": S.SUCCEEDED}
    (start,) = running(rec, "review")
    assert "+1\n+2\n" in start.prompt and "+4999\n" not in start.prompt
    assert "more characters not shown]" in start.prompt
    assert len(start.prompt) < 2000 + len(BUILTIN_ROLES["reviewer"].instructions) + 500


async def test_the_effective_prompt_and_the_role_are_stored(repo: Path, tmp_path: Path) -> None:
    profiles = profiles_with(capture_profile())
    plan = plan_of({"id": "t", "agent": "capture", "role": "spec-writer", "prompt": "Spec the parser."},
                   {"id": "u", "prompt": "true"}, profiles=profiles)
    engine = make_engine(plan, repo, profiles)
    async with await Store.open(tmp_path / "db.sqlite") as store:
        session = await store.create_session(repo, "roles", None)
        writer = EventWriter(store, session.id, engine.run_id)
        writing = asyncio.create_task(writer.run(engine.bus.subscribe()))
        await engine.run()
        await writing
        tasks = {t.key: t for t in await store.tasks(session.id)}
    assert tasks["t"].role == "spec-writer" and tasks["t"].prompt == "Spec the parser."
    assert tasks["t"].effective_prompt.startswith("## Your role: spec-writer\n\nYou are the spec writer.")
    assert tasks["u"].role is None and tasks["u"].effective_prompt is None  # the prompt as written


# ------------------------------------------------------------------------------ config and plans
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


async def test_roles_from_cockpit_toml(repo: Path, runner) -> None:
    write(repo / "cockpit.toml", '''
        [roles.tester]
        instructions = "Only pytest, and no mocks."

        [roles.security]
        instructions = "Look for injection."
        dependency_diffs = true
        description = "security review"
    ''')
    config = load_config(repo)
    assert config.roles["tester"] == Role("tester", "Only pytest, and no mocks.", False, BUILTIN_ROLES["tester"].description)
    assert config.roles["security"] == Role("security", "Look for injection.", True, "security review")
    assert config.roles["reviewer"] == BUILTIN_ROLES["reviewer"]
    plan_path = write(repo / "plan.toml", '''
        agent = "shell"
        [[task]]
        id = "a"
        prompt = "echo a > a.txt"
        [[task]]
        id = "sec"
        role = "security"
        depends_on = ["a"]
        prompt = "true"
        [[task]]
        id = "t"
        role = "tester"
        prompt = "true"
    ''')
    plan = load_plan(plan_path, config.profiles, config.roles)
    states, rec = await runner.run(make_engine(plan, repo, config.profiles, roles=config.roles))
    assert set(states.values()) == {S.SUCCEEDED}
    (sec,) = running(rec, "sec")
    assert sec.prompt.startswith("# --- cockpit role: security ---\n# Look for injection.\n")
    assert "# --- cockpit: Changes to review ---" in sec.prompt and "# +a" in sec.prompt
    (t,) = running(rec, "t")
    assert t.prompt.startswith("# --- cockpit role: tester ---\n# Only pytest, and no mocks.\n")
    with pytest.raises(PlanError, match=r"plan.toml:5: task 'sec': unknown role 'security' \(did you mean"):
        load_plan(plan_path, config.profiles)  # without the config's roles


@pytest.mark.parametrize("text, expected", [
    ('[roles.new]\ndescription = "x"\n', "[roles.new]: a new role needs 'instructions'"),
    ('[roles.tester]\ninstructions = ""\n', "[roles.tester]: instructions must be non-empty text"),
    ('[roles.tester]\ninstructions = 3\n', "[roles.tester]: instructions must be non-empty text"),
    ('[roles.tester]\ndependency_diffs = "yes"\n', "[roles.tester]: dependency_diffs must be true or false, not 'yes'"),
    ('[roles.tester]\ndescription = 1\n', "[roles.tester]: description must be a string"),
    ('[roles.tester]\ninstruction = "x"\n', "[roles.tester]: unknown key 'instruction' (known: dependency_diffs, description, instructions)"),
    ('[roles."bad name"]\ninstructions = "x"\n', "[roles.bad name]: a role name is letters, digits"),
    ('roles = 3\n', "'roles' must be a table of roles, not an integer"),
    ('[roles]\ntester = "x"\n', "[roles.tester] must be a table, not a string"),
])
def test_role_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "cockpit.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and expected in message, message


@pytest.mark.parametrize("line, expected", [
    ('role = "testr"', "task 'a': unknown role 'testr' (did you mean 'tester'?) (known: implementer, reviewer, "
                       "spec-writer, tester; add one in cockpit.toml under [roles.NAME])"),
    ("role = 3", "task 'a': role must be a string naming a role, not an integer"),
])
def test_plan_role_errors_are_located(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path / "plan.toml", f'agent = "shell"\n\n[[task]]\nid = "a"\nprompt = "x"\n{line}\n')
    with pytest.raises(PlanError) as info:
        load_plan(path, ProfileSet())
    assert str(info.value) == f"{path}:3: {expected}"
