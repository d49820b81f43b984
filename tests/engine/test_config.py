"""cockpit.toml: the repository's file over the user's over the built-ins, and errors naming the file."""
from __future__ import annotations

import re

import os
import textwrap
from pathlib import Path

import pytest

from tests.helpers.events import make_engine, plan_of
from engine.config import config_paths, load_config, user_config_path
from engine.errors import ConfigError, UserError
from engine.profiles import AgentProfile, ProfileSet, builtin_profiles
from engine.states import TaskState


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.fixture
def user_file(isolated_dirs: Path) -> Path:
    path = isolated_dirs / "config" / "cockpit" / "cockpit.toml"
    assert user_config_path() == path  # XDG_CONFIG_HOME is honoured: the real one is never read
    return path


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    path = tmp_path / "checkout"
    path.mkdir()
    return path


def config_error(repo_dir: Path, path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(repo_dir)
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_builtins_without_any_file(repo_dir: Path) -> None:
    config = load_config(repo_dir)
    assert config.files == []
    assert config.profiles.names() == [
        "aider", "claude", "claude-acp", "claude-cli", "codex", "codex-acp", "gemini", "gemini-acp", "opencode",
        "shell", "sonnet",
    ]
    assert config.profiles["claude"] == builtin_profiles()["claude"]
    assert load_config(None).profiles.names() == config.profiles.names()


def test_repo_file_overrides_user_file_which_overrides_builtins(repo_dir: Path, user_file: Path) -> None:
    write(user_file, """
        [agents.mine]
        argv = ["echo", "user", "{prompt}"]
        env = { FROM = "user" }
        description = "the user's"

        [agents.claude]
        env = { CLAUDE_CODE_MAX_OUTPUT_TOKENS = "8000" }
        max_parallel = 2
    """)
    repo_file = write(repo_dir / "cockpit.toml", """
        [agents.mine]
        argv = ["echo", "repo", "{prompt}"]

        [agents.claude]
        max_parallel = 1
    """)
    config = load_config(repo_dir)
    assert config.files == [user_file, repo_file]
    assert config_paths(repo_dir) == [user_file, repo_file]
    mine = config.profiles["mine"]
    assert mine.argv == ("echo", "repo", "{prompt}")  # the repository wins
    assert mine.environment() == {"FROM": "user"}  # what it does not set comes from the user's file
    assert mine.description == "the user's"
    claude = config.profiles["claude"]
    builtin = builtin_profiles()["claude"]
    assert claude.max_parallel == 1
    assert claude.environment() == {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8000"}
    assert (claude.argv, claude.output, claude.kind) == (builtin.argv, builtin.output, builtin.kind)


def test_user_file_alone_overrides_builtins(repo_dir: Path, user_file: Path) -> None:
    write(user_file, '[agents.shell]\nargv = ["sh", "-c", "{prompt}"]\n')
    config = load_config(repo_dir)
    assert config.files == [user_file]
    shell = config.profiles["shell"]
    assert shell.argv == ("sh", "-c", "{prompt}")
    assert shell.follow_up == "stdin" and shell.kind == "shell"  # kept from the built-in


def test_partial_override_of_builtin_keeps_other_fields(repo_dir: Path) -> None:
    write(repo_dir / "cockpit.toml", '[agents.codex]\ncopy_files = [".env", "config/local.json"]\n')
    codex = load_config(repo_dir).profiles["codex"]
    builtin = builtin_profiles()["codex"]
    assert codex.copy_files == (".env", "config/local.json")
    assert codex == builtin.with_changes(copy_files=(".env", "config/local.json"))


def test_extends(repo_dir: Path) -> None:
    write(repo_dir / "cockpit.toml", """
        [agents.fast]
        extends = "claude"
        argv = ["claude", "-p", "{prompt}", "--model", "haiku", "--output-format", "stream-json", "--verbose"]
        env = { A = "1" }

        [agents.faster]
        extends = "fast"
        max_parallel = 2
    """)
    profiles = load_config(repo_dir).profiles
    fast, faster = profiles["fast"], profiles["faster"]
    assert fast.name == "fast" and faster.name == "faster"
    assert fast.kind == "command" and fast.output == "claude-stream-json"  # claude -p, read as claude-cli reads it
    assert "haiku" in fast.argv
    assert faster.argv == fast.argv and faster.environment() == {"A": "1"}
    assert faster.max_parallel == 2
    assert profiles["claude"] == builtin_profiles()["claude"]  # the base is not changed


def test_claude_p_cannot_take_messages_on_its_input(repo_dir: Path) -> None:
    # claude -p reads its input as the prompt: a message written there later would be dropped silently
    write(repo_dir / "cockpit.toml", '[agents.cli]\nextends = "claude-cli"\nfollow_up = "stdin"\n')
    with pytest.raises(ConfigError, match="does not work with claude -p"):
        load_config(repo_dir)


def test_claude_profile_settings_and_permissions(repo_dir: Path) -> None:
    write(repo_dir / "cockpit.toml", """
        [agents.claude]
        model = "claude-sonnet-4-6"
        max_turns = 40

        [agents.claude.permissions]
        execute = "allow"
        outside = "ask"
        allow = ["Read"]
        deny = ["Bash(git push*)"]

        [agents.reviewer]
        extends = "claude"
        permission_mode = "plan"
    """)
    profiles = load_config(repo_dir).profiles
    claude, reviewer = profiles["claude"], profiles["reviewer"]
    assert claude.kind == "claude" and claude.claude.model == "claude-sonnet-4-6" and claude.claude.max_turns == 40
    policy = claude.permissions
    assert (policy.execute, policy.outside, policy.edit, policy.headless) == ("allow", "ask", "allow", "deny")
    assert policy.allow == ("Read",) and policy.deny == ("Bash(git push*)",)
    assert reviewer.claude.permission_mode == "plan" and reviewer.permissions == policy


@pytest.mark.parametrize("text, message", [
    ('[agents.claude.permissions]\nexecute = "maybe"\n', "execute must be one of allow, ask, deny"),
    ('[agents.claude.permissions]\nheadless = "ask"\n', "headless must be one of allow, deny"),
    ('[agents.claude.permissions]\nallow = "Bash"\n', "allow must be an array of rules"),
    ('[agents.claude.permissions]\nnetwork = "allow"\n', "unknown key 'network'"),
    ('[agents.claude]\npermission_mode = "yolo"\n', "permission_mode must be one of"),
    ('[agents.claude]\nmax_tokens = 5\n', "'max_tokens' does not apply to kind = \"claude\""),
    ('[agents.sh]\nkind = "shell"\nappend_system = "x"\n', "belongs to kind = \"claude\""),
])
def test_claude_settings_errors(repo_dir: Path, text: str, message: str) -> None:
    write(repo_dir / "cockpit.toml", text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(repo_dir)


def test_shell_kind_without_argv_gets_bash(repo_dir: Path) -> None:
    write(repo_dir / "cockpit.toml", '[agents.script]\nkind = "shell"\nenv = { X = "1" }\n')
    script = load_config(repo_dir).profiles["script"]
    assert script.kind == "shell"
    assert script.argv == ("bash", "-c", "{prompt}")


@pytest.mark.parametrize("text, expected", [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('agents = 3\n', "'agents' must be a table of profiles"),
    ('[agents]\nx = 3\n', "[agents.x] must be a table"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nmodel = "m"\n', "[agents.x]: unknown key 'model'"),
    ('[agents.x]\nargv = ["python3", "-c", "print(1)"]\n', "[agents.x]: argv must hold the placeholder {prompt}"),
    ('[agents.x]\nargv = []\n', "argv must be a non-empty array of strings"),
    ('[agents.x]\nargv = "echo {prompt}"\n', "argv must be a non-empty array of strings"),
    ('[agents.x]\nargv = ["echo", 1, "{prompt}"]\n', "argv must be a non-empty array of strings"),
    ('[agents.x]\nenv = { A = "1" }\n', "[agents.x]: a new profile needs 'argv'"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\noutput = "xml"\n',
     "[agents.x]: output must be one of text, claude-stream-json, codex-json, aider, gemini-stream-json, not 'xml'"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nkind = "robot"\n', "[agents.x]: kind must be one of "),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nfollow_up = "yes"\n', "follow_up must be one of none, stdin"),
    ('[agents.x]\nextends = "nobody"\n', "[agents.x]: extends unknown profile 'nobody' (known: aider, claude"),
    ('[agents.x]\nextends = 3\n', "extends unknown profile 3"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nenv = { A = 1 }\n', "env must be a table of strings"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\ncopy_files = "x"\n', "copy_files must be an array of paths"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\ncopy_files = ["/etc/passwd"]\n', "must be a path inside the repository"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\ncopy_files = ["../secret"]\n', "must be a path inside the repository"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\nmax_parallel = 0\n', "max_parallel must be a whole number of at least 1"),
    ('[agents.x]\nargv = ["a", "{prompt}"]\ndescription = 5\n', "description must be a string"),
    ('[agents.x\n', "TOML syntax error"),
])
def test_errors_name_the_file(repo_dir: Path, text: str, expected: str) -> None:
    path = write(repo_dir / "cockpit.toml", text)
    message = config_error(repo_dir, path)
    assert expected in message


def test_error_in_the_user_file_names_it(repo_dir: Path, user_file: Path) -> None:
    write(user_file, '[agents.x]\nargv = ["a"]\n')
    write(repo_dir / "cockpit.toml", '[agents.y]\nargv = ["b", "{prompt}"]\n')
    assert "argv must hold the placeholder" in config_error(repo_dir, user_file)


def test_not_utf8_config(repo_dir: Path) -> None:
    path = repo_dir / "cockpit.toml"
    path.write_bytes(b"[agents.x]\nargv = ['\xff{prompt}']\n")
    assert "not UTF-8" in config_error(repo_dir, path)


def test_a_directory_named_cockpit_toml_is_ignored(repo_dir: Path) -> None:
    (repo_dir / "cockpit.toml").mkdir()
    assert load_config(repo_dir).files == []


# ------------------------------------------------------------------------- prompt substitution
def test_prompt_is_one_argv_element() -> None:
    profile = AgentProfile("p", argv=("tool", "--message={prompt}", "{prompt}", "--x"))
    prompt = "it's \"quoted\"; $(rm -rf /) `id` && echo {prompt}\nsecond line"
    assert profile.command(prompt) == ["tool", f"--message={prompt}", prompt, "--x"]


def test_missing_program_message() -> None:
    ok = AgentProfile("ok", argv=("python3", "{prompt}"))
    assert ok.missing_program() is None
    ghost = AgentProfile("ghost", argv=("no-such-agent-program-xyz", "{prompt}"))
    assert ghost.missing_program() == (
        "agent profile 'ghost': program 'no-such-agent-program-xyz' is not installed (not found on PATH)"
    )
    assert AgentProfile("abs", argv=("/no/such/bin", "{prompt}")).missing_program() is not None
    assert AgentProfile("empty").missing_program() == "agent profile 'empty' has an empty argv"


NASTY_PROMPT = "it's \"quoted\" $(touch pwned) `touch pwned2`; touch pwned3 && echo $HOME | cat > pwned4 \\ end"


async def test_prompt_reaches_the_program_verbatim(repo, tmp_path: Path, runner) -> None:
    out = tmp_path / "received.txt"
    write(repo / "cockpit.toml", f"""
        [agents.echoer]
        kind = "shell"
        argv = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1]); print(sys.argv[1])", "{{prompt}}", "{out}"]
    """)
    profiles = load_config(repo).profiles
    plan = plan_of({"id": "t", "agent": "echoer", "prompt": NASTY_PROMPT}, profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles))
    assert states == {"t": TaskState.SUCCEEDED}
    assert out.read_text() == NASTY_PROMPT
    assert rec.lines("t", "stdout") == [NASTY_PROMPT]
    worktree = Path(rec.result("t").worktree)
    for name in ("pwned", "pwned2", "pwned3", "pwned4"):
        assert not (worktree / name).exists()
        assert not (repo / name).exists()
    assert rec.result("t").files == ()


async def test_profile_env_reaches_the_agent(repo, runner) -> None:
    profiles = ProfileSet()
    profiles.profiles["envy"] = profiles["shell"].with_changes(name="envy", env=(("GREETING", "hi there"),))
    plan = plan_of({"id": "t", "agent": "envy", "prompt": 'echo "$GREETING/$COCKPIT_TASK_ID/$COCKPIT_ATTEMPT"'},
                   profiles=profiles)
    states, rec = await runner.run(make_engine(plan, repo, profiles, run_id="r1"))
    assert states == {"t": TaskState.SUCCEEDED}
    assert rec.lines("t", "stdout") == ["hi there/t/1"]
    assert os.environ.get("GREETING") is None


def test_extra_sections_are_kept_raw_for_the_caller_that_declares_them(repo_dir: Path, user_file: Path) -> None:
    write(user_file, """
        [assessment]
        too_early_days = 5
    """)
    repo_file = write(repo_dir / "cockpit.toml", """
        [summary]
        folder = "Notes"

        [agents.mine]
        kind = "shell"
    """)
    config = load_config(repo_dir, extra_sections=("assessment", "summary"))
    assert [(raw.name, raw.path, raw.data) for raw in config.extra] == [
        ("assessment", user_file, {"too_early_days": 5}), ("summary", repo_file, {"folder": "Notes"})]
    assert "mine" in config.profiles
    # a caller that does not declare them: they are unknown keys, as before
    message = config_error(repo_dir, user_file)
    assert "unknown key 'assessment'" in message


def test_session_settings_errors_name_file_table_and_key(repo_dir: Path) -> None:
    from sessions.settings import SessionSettings, load_session_settings

    path = repo_dir / "cockpit.toml"
    assert load_session_settings(repo_dir) == SessionSettings()
    for text, expected in [
        ("[assessment]\ntoo_early_days = -1\n", "[assessment] too_early_days must be a number of days, 0 or more"),
        ("[assessment]\ntoo_early_days = \"soon\"\n", "not 'soon'"),
        ("[assessment]\nwhen = 3\n", "[assessment]: unknown key 'when' (known: too_early_days)"),
        ("[summary]\nfolder = true\n", "[summary] folder must be a folder such as \"Summary\", or false"),
        ("[summary]\nfolder = \"\"\n", "[summary] folder must be"),
        ("summary = 3\n", "'summary' must be a table, not an integer"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_session_settings(repo_dir)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and expected in message and "\n" not in message, message
    path.write_text("[assessment]\ntoo_early_days = 0.5\n[summary]\nfolder = false\n")
    assert load_session_settings(repo_dir) == SessionSettings(too_early_days=0.5, summary_folder=None)


def test_an_acp_profile_from_the_file(repo_dir: Path) -> None:
    write(repo_dir / "cockpit.toml", """
        [agents.mine]
        kind = "acp"
        argv = ["my-agent", "--acp"]
        mode = "auto"
        fs_read = false
        turn_tokens = false
        install = "npm install -g my-agent"

        [agents.codex-acp]
        terminals = false
    """)
    profiles = load_config(repo_dir).profiles
    mine = profiles["mine"]
    assert (mine.kind, mine.argv, mine.install) == ("acp", ("my-agent", "--acp"), "npm install -g my-agent")
    assert (mine.acp.mode, mine.acp.fs_read, mine.acp.fs_write, mine.acp.terminals) == ("auto", False, True, True)
    assert mine.acp.turn_tokens is False and profiles["codex-acp"].acp.turn_tokens is True
    assert profiles["codex-acp"].acp.mode == "auto" and profiles["codex-acp"].acp.terminals is False


@pytest.mark.parametrize("table, expected", [
    ('kind = "acp"\nargv = ["a", "{prompt}"]', "an acp profile's argv holds no {prompt}"),
    ('kind = "acp"', "needs 'argv'"),
    ('kind = "acp"\nargv = ["a"]\noutput = "text"', "'output' does not apply to kind = \"acp\""),
    ('kind = "acp"\nargv = ["a"]\nmode = 3', "mode must be the id"),
    ('kind = "acp"\nargv = ["a"]\nfs_read = "yes"', "fs_read must be true or false"),
    ('argv = ["a", "{prompt}"]\nmode = "x"', "unknown key 'mode' for a command profile"),
])
def test_acp_profile_errors(repo_dir: Path, table: str, expected: str) -> None:
    path = write(repo_dir / "cockpit.toml", f"[agents.bad]\n{table}\n")
    assert expected in config_error(repo_dir, path)
