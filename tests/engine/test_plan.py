"""Plans: a good file gives the right TaskSpecs; every bad one gives one located line."""
from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.durations import format_duration, parse_duration
from engine.errors import PlanError, UserError
from engine.plan import Plan, TaskSpec, find_cycle, load_plan, parse_plan
from engine.profiles import AgentProfile, ProfileSet


@pytest.fixture
def profiles() -> ProfileSet:
    return ProfileSet()


def write(tmp_path: Path, text: str, name: str = "plan.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def plan_error(path: Path, profiles: ProfileSet) -> str:
    """The message of the PlanError that loading ``path`` gives, checked to be one line naming it."""
    with pytest.raises(PlanError) as info:
        load_plan(path, profiles)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(str(path)), message
    assert isinstance(info.value, UserError)
    return message


# ------------------------------------------------------------------------------------ good plans
def test_good_plan_parses_to_task_specs(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        max_parallel = 3
        base = "main"
        agent = "shell"

        [[task]]
        id = "spec"
        title = "Write the spec"
        agent = "claude"
        prompt = "Write docs/spec.md"
        timeout = "15m"
        retries = 1

        [[task]]
        id = "code"
        prompt = '''
        echo "multi-line"
        '''
        depends_on = ["spec"]
        timeout = 90

        [[task]]
        id = "test.all_2"
        title = "  "
        prompt = "make test"
        depends_on = "code"
        timeout = "2.5s"
    """)
    plan = load_plan(path, profiles)
    assert isinstance(plan, Plan)
    assert plan.max_parallel == 3
    assert plan.base == "main"
    assert plan.source == str(path)
    assert plan.tasks == (
        TaskSpec("spec", "Write the spec", "Write docs/spec.md", "claude", (), 900.0, 1),
        TaskSpec("code", "code", 'echo "multi-line"\n', "shell", ("spec",), 90.0, 0),
        TaskSpec("test.all_2", "test.all_2", "make test", "shell", ("code",), 2.5, 0),
    )
    assert plan.task("code").depends_on == ("spec",)
    with pytest.raises(KeyError):
        plan.task("nope")


def test_defaults(tmp_path: Path, profiles: ProfileSet) -> None:
    plan = load_plan(write(tmp_path, """
        [[task]]
        id = "only"
        agent = "shell"
        prompt = "true"
    """), profiles)
    assert plan.max_parallel == 4
    assert plan.base is None
    (task,) = plan.tasks
    assert task == TaskSpec("only", "only", "true", "shell", (), None, 0)


def test_duplicate_dependencies_are_kept_once_in_order(profiles: ProfileSet) -> None:
    plan = parse_plan({"agent": "shell", "task": [
        {"id": "a", "prompt": "x"}, {"id": "b", "prompt": "x"},
        {"id": "c", "prompt": "x", "depends_on": ["b", "a", "b"]},
    ]}, profiles)
    assert plan.task("c").depends_on == ("b", "a")


@pytest.mark.parametrize("value, seconds", [
    ("1h30m", 5400.0), (90, 90.0), ("2.5s", 2.5), ("90", 90.0), (0.5, 0.5), ("15m", 900.0),
    ("1h 30m 10s", 5410.0), ("500ms", 0.5), ("1d", 86400.0), ("2H", 7200.0), ("  45s ", 45.0),
])
def test_task_durations(profiles: ProfileSet, value: object, seconds: float) -> None:
    plan = parse_plan({"agent": "shell", "task": [{"id": "a", "prompt": "x", "timeout": value}]}, profiles)
    assert plan.tasks[0].timeout == pytest.approx(seconds)


def test_deep_chain_of_5000_tasks_parses(tmp_path: Path, profiles: ProfileSet) -> None:
    n = 5000
    parts = ['agent = "shell"']
    for i in range(n):
        dep = f'\ndepends_on = ["t{i - 1}"]' if i else ""
        parts.append(f'[[task]]\nid = "t{i}"\nprompt = "echo {i}"{dep}\n')
    path = tmp_path / "deep.toml"
    path.write_text("\n".join(parts))
    plan = load_plan(path, profiles)
    assert len(plan.tasks) == n
    assert plan.tasks[-1].depends_on == (f"t{n - 2}",)
    assert find_cycle(plan.tasks) is None


def test_deep_cycle_is_found_without_recursion(profiles: ProfileSet) -> None:
    n = 5000
    tasks = [TaskSpec(f"t{i}", "", "x", "shell", (f"t{(i + 1) % n}",)) for i in range(n)]
    cycle = find_cycle(tasks)
    assert cycle is not None
    assert cycle[0] == cycle[-1] and len(cycle) == n + 1


# ------------------------------------------------------------------------------------ bad files
def test_missing_file(tmp_path: Path, profiles: ProfileSet) -> None:
    message = plan_error(tmp_path / "nope.toml", profiles)
    assert "no such file" in message


def test_directory_is_not_a_plan(tmp_path: Path, profiles: ProfileSet) -> None:
    folder = tmp_path / "plan.toml"
    folder.mkdir()
    message = plan_error(folder, profiles)
    assert "directory" in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, '[[task]]\nid = "a"\nagent = "shell"\nprompt = "x"\n')
    path.chmod(0)
    try:
        assert "cannot be read" in plan_error(path, profiles)
    finally:
        path.chmod(0o644)


def test_not_utf8(tmp_path: Path, profiles: ProfileSet) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b'agent = "shell"\n[[task]]\nid = "a"\nprompt = "caf\xe9"\n')
    message = plan_error(path, profiles)
    assert message.startswith(f"{path}:4:")
    assert "UTF-8" in message and "0xe9" in message


def test_toml_syntax_error_has_line_and_column(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        [[task]]
        id = "a"
        prompt = "unterminated
    """)
    message = plan_error(path, profiles)
    assert "TOML syntax error" in message
    assert "line 3" in message and "column" in message


@pytest.mark.parametrize("text", ["", "# nothing here\n", 'agent = "shell"\ntask = []\n'])
def test_no_tasks(tmp_path: Path, profiles: ProfileSet, text: str) -> None:
    message = plan_error(write(tmp_path, text), profiles)
    assert "no tasks" in message


def test_task_must_be_an_array_of_tables(tmp_path: Path, profiles: ProfileSet) -> None:
    message = plan_error(write(tmp_path, 'task = "a"\n'), profiles)
    assert "[[task]]" in message


def test_unknown_plan_key_with_suggestion(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        max_paralel = 2
        [[task]]
        id = "a"
        agent = "shell"
        prompt = "x"
    """)
    message = plan_error(path, profiles)
    assert "unknown key 'max_paralel'" in message
    assert "did you mean 'max_parallel'?" in message


def test_unknown_task_key_with_suggestion_names_the_task_line(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        agent = "shell"

        [[task]]
        id = "a"
        prompt = "x"

        [[task]]
        id = "b"
        prompt = "x"
        depends = ["a"]
    """)
    message = plan_error(path, profiles)
    assert message.startswith(f"{path}:7:")
    assert "unknown key in task 'b' 'depends'" in message
    assert "did you mean 'depends_on'?" in message


def test_unknown_key_without_near_match_has_no_suggestion(tmp_path: Path, profiles: ProfileSet) -> None:
    message = plan_error(write(tmp_path, """
        [[task]]
        id = "a"
        agent = "shell"
        prompt = "x"
        zzzzzz = 1
    """), profiles)
    assert "'zzzzzz'" in message and "did you mean" not in message


BAD_VALUES = [
    ("max_parallel = 0\n", "", "max_parallel must be a whole number of at least 1, not 0"),
    ("max_parallel = true\n", "", "max_parallel"),
    ("max_parallel = 1.5\n", "", "max_parallel"),
    ('base = ""\n', "", "base must be a branch"),
    ("agent = 5\n", "", "agent must be a string naming a profile, not an integer"),
    ("", "retries = -1\n", "retries must be a whole number from 0 to 20, not -1"),
    ("", 'retries = "x"\n', "retries must be a whole number from 0 to 20, not 'x'"),
    ("", "retries = 21\n", "retries must be a whole number"),
    ("", "retries = true\n", "retries must be a whole number"),
    ("", "title = 3\n", "title must be a string, not an integer"),
    ("", "agent = 5\n", "agent must be a string, not an integer"),
    ("", 'depends_on = [1]\n', "depends_on must be an array of task ids"),
    ("", 'timeout = "15 minutes"\n', "timeout: bad duration '15 minutes'"),
    ("", 'timeout = "-1"\n', "timeout: bad duration '-1'"),
    ("", "timeout = -1\n", "timeout: bad duration -1: must be more than zero"),
    ("", "timeout = 0\n", "timeout: bad duration 0: must be more than zero"),
    ("", 'timeout = "0s"\n', "must be more than zero"),
    ("", "timeout = true\n", "timeout: bad duration True"),
    ("", "timeout = nan\n", "timeout: bad duration nan"),
    ("", "timeout = inf\n", "timeout: bad duration inf"),
    ("", "timeout = [1]\n", "timeout: bad duration [1]"),
]


@pytest.mark.parametrize("top, extra, expected", BAD_VALUES)
def test_wrong_types_and_values(tmp_path: Path, profiles: ProfileSet, top: str, extra: str, expected: str) -> None:
    text = (
        top
        + ("" if top.startswith("agent") else 'agent = "shell"\n')
        + '\n[[task]]\nid = "first"\nprompt = "x"\n'
        + '\n[[task]]\nid = "second"\nprompt = "x"\n'
        + extra
    )
    path = tmp_path / "plan.toml"
    path.write_text(text)
    message = plan_error(path, profiles)
    assert expected in message
    if extra:  # a task's error names the line of its [[task]] header
        header = text.splitlines().index("[[task]]", text.splitlines().index("[[task]]") + 1) + 1
        assert message.startswith(f"{path}:{header}: task 'second'"), message


@pytest.mark.parametrize("prompt_line, expected", [
    ("", "task 'a' has no prompt"),
    ('prompt = ""', "task 'a': prompt must be non-empty text"),
    ('prompt = "   \\n "', "task 'a': prompt must be non-empty text"),
    ("prompt = 7", "task 'a': prompt must be non-empty text"),
])
def test_missing_or_empty_prompt(tmp_path: Path, profiles: ProfileSet, prompt_line: str, expected: str) -> None:
    path = write(tmp_path, f'agent = "shell"\n\n[[task]]\nid = "a"\n{prompt_line}\n')
    message = plan_error(path, profiles)
    assert message == f"{path}:3: {expected}"


@pytest.mark.parametrize("id_line, expected", [
    ("", "task has no 'id'"),
    ("id = 3", "task id 3 must be letters"),
    ('id = "has space"', "task id 'has space' must be letters"),
    ('id = "-dash"', "must be letters"),
    ('id = "x.lock"', "must be letters"),
    ('id = "a/b"', "must be letters"),
])
def test_bad_ids(tmp_path: Path, profiles: ProfileSet, id_line: str, expected: str) -> None:
    path = write(tmp_path, f'agent = "shell"\n[[task]]\n{id_line}\nprompt = "x"\n')
    message = plan_error(path, profiles)
    assert message.startswith(f"{path}:2: ")
    assert expected in message


def test_duplicate_ids_name_both_places(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        agent = "shell"

        [[task]]
        id = "a"
        prompt = "x"

        [[task]]
        id = "a"
        prompt = "y"
    """)
    message = plan_error(path, profiles)
    assert message == f"{path}:7: duplicate task id 'a' (first at {path}:3)"


def test_unknown_dependency(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        agent = "shell"
        [[task]]
        id = "a"
        prompt = "x"
        [[task]]
        id = "b"
        prompt = "x"
        depends_on = ["a", "ghost"]
    """)
    assert plan_error(path, profiles) == f"{path}:5: task 'b' depends on unknown task 'ghost'"


def test_self_dependency(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        agent = "shell"
        [[task]]
        id = "a"
        prompt = "x"
        depends_on = ["a"]
    """)
    assert plan_error(path, profiles) == f"{path}:2: task 'a' depends on itself"


def test_cycle_is_named(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, """
        agent = "shell"

        [[task]]
        id = "ok"
        prompt = "x"

        [[task]]
        id = "a"
        prompt = "x"
        depends_on = ["ok", "b"]

        [[task]]
        id = "b"
        prompt = "x"
        depends_on = ["c"]

        [[task]]
        id = "c"
        prompt = "x"
        depends_on = ["a"]
    """)
    assert plan_error(path, profiles) == f"{path}:7: dependency cycle: a -> b -> c -> a"


def test_unknown_agent_profile_lists_known_ones(tmp_path: Path) -> None:
    profiles = ProfileSet()
    profiles.profiles["mine"] = AgentProfile("mine", argv=("x", "{prompt}"))
    path = write(tmp_path, """
        [[task]]
        id = "a"
        prompt = "x"
        agent = "cluade"
    """)
    message = plan_error(path, profiles)
    assert message.startswith(f"{path}:1: task 'a': unknown agent profile 'cluade'")
    assert f"(known: {', '.join(profiles.names())})" in message
    assert {"claude", "codex", "mine", "shell"} <= set(profiles.names())


def test_unknown_default_agent_is_reported_on_the_task(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, 'agent = "robot"\n[[task]]\nid = "a"\nprompt = "x"\n')
    assert "unknown agent profile 'robot'" in plan_error(path, profiles)


def test_task_without_any_agent(tmp_path: Path, profiles: ProfileSet) -> None:
    path = write(tmp_path, '[[task]]\nid = "a"\nprompt = "x"\n')
    assert "task 'a' has no agent" in plan_error(path, profiles)


def test_inline_tasks_are_named_by_position(profiles: ProfileSet) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan({"agent": "shell", "task": [{"id": "a", "prompt": "x"}, {"id": "b"}]}, profiles, "p.toml")
    assert str(info.value) == "p.toml (task #2): task 'b' has no prompt"


# ------------------------------------------------------------------------------------ durations
@pytest.mark.parametrize("value, seconds", [
    (90, 90.0), (2.5, 2.5), ("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("1h30m", 5400.0),
    ("1h 30m", 5400.0), ("2.5s", 2.5), ("250ms", 0.25), ("1d", 86400.0), ("1M", 60.0), ("0.5", 0.5),
])
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [
    "15 minutes", "-1", -1, 0, 0.0, "0", "0s", "", "  ", "m", "1x", "1h30", "h1", "1.5.2s", True, False,
    None, [1], {"s": 1}, math.nan, math.inf, -math.inf, "nan", "inf", "9" * 400, "9" * 400 + "d",
])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value).startswith(f"bad duration {value!r}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("seconds, text", [
    (0, "0.0s"), (4.2, "4.2s"), (59.4, "59.4s"), (60, "1m00s"), (185, "3m05s"), (3599, "59m59s"),
    (3600, "1h00m"), (3720, "1h02m"), (90000, "25h00m"),
])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@settings(deadline=None)  # no per-example time limit: CI machines may be busy
@given(st.integers(min_value=1, max_value=10 * 86400))
def test_format_then_parse_keeps_the_shown_precision(seconds: int) -> None:
    back = parse_duration(format_duration(seconds))
    if seconds < 3600:
        assert back == seconds
    else:
        assert 0 <= seconds - back < 60
