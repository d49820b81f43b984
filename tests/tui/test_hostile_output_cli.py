"""What an agent prints can neither drive the user's terminal nor leave a secret behind: through the
headless logs, the store, ``show`` and ``export`` (a real shell agent, a real repository and store)."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import cli

ESC = "\x1b"
# sequences a terminal acts on: clipboard, window title, leaving the alternate screen, a reset, 8-bit CSI
SEQUENCES = [r"\e]52;c;cHduZWQ=\a", r"\e]0;pwned title\e\\", r"\e[?1049l", r"\ec", r"\e[2J", "\\x9b31m", r"\eP+q\e\\"]
SECRETS = {
    "ANTHROPIC_API_KEY=plainkeywithoutprefix123": "plainkeywithoutprefix123",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "DB_PASSWORD: hunter2hunter2": "hunter2hunter2",
    "SERVICE_TOKEN=tok_9f8e7d6c5b4a": "tok_9f8e7d6c5b4a",
    "glpat-abcdefghijklmnopqrstuvwx": "glpat-abcdefghijklmnopqrstuvwx",
}
PRIVATE_KEY_BODY = "MIIEowIBAAKCAQEAx4Ukpw0KFAKEKEYBODYLINE"


def plan_text() -> str:
    prints = "; ".join(f"printf 'seq {i} {s} after\\n'" for i, s in enumerate(SEQUENCES))
    secrets = "; ".join(f"echo '{line}'" for line in SECRETS)
    key = ("echo '-----BEGIN RSA PRIVATE KEY-----'; "
           f"echo '{PRIVATE_KEY_BODY}'; echo '-----END RSA PRIVATE KEY-----'")
    return f"""
[[task]]
id = "loud"
title = "Deploy with API_TOKEN=titletoken12345"
agent = "shell"
check = '''echo CHECK_SECRET=checksecret9876; printf '\\033]52;c;Y2hlY2s=\\a checked\\n' '''
prompt = '''
{prints}; {secrets}; {key}
printf '\\033[31mred\\033[0m\\n'
echo done > done.txt
'''
"""


def assert_harmless(text: str, where: str, payloads: bool = True) -> None:
    """No control sequence but colour, no secret; no payload of a removed sequence (``payloads``: the
    plan's own text, the script as written, holds them as plain characters)."""
    without_colour = re.sub(r"\x1b\[[0-9;:]*m", "", text)
    assert ESC not in without_colour, f"a control sequence reached {where}"
    assert "\x9b" not in text and "\x07" not in text, f"a control character reached {where}"
    if payloads:
        assert "pwned" not in text and "cHduZWQ" not in text, f"an OSC payload reached {where}"
    for secret in [*SECRETS.values(), PRIVATE_KEY_BODY, "titletoken12345", "checksecret9876"]:
        assert secret not in text, f"{secret} reached {where}"


def test_agent_output_is_harmless_everywhere(repo: Path, db: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "plan.toml").write_text(plan_text())
    code, out, err = cli(capsys, "run", str(repo / "plan.toml"), "--headless", "--logs", "--repo", str(repo),
                         "--db", db, "--objective", "Be loud.")
    assert code == 0, out + err
    assert_harmless(out + err, "the headless log")
    assert "seq 0  after" in out and "seq 2  after" in out  # the text around a sequence is kept
    assert "\x1b[31mred\x1b[0m" in out  # colour is kept where the terminal shows it
    assert "[REDACTED]" in out

    with sqlite3.connect(db) as conn:
        lines = "\n".join(str(v) for row in conn.execute("SELECT * FROM log_lines") for v in row)
        tasks = "\n".join(str(v) for row in conn.execute("SELECT * FROM tasks") for v in row)
    assert_harmless(lines, "the store's log lines")
    assert_harmless(tasks, "the store's tasks", payloads=False)

    code, out, _ = cli(capsys, "sessions", "--json", "--repo", str(repo), "--db", db)
    label = re.search(r'"label": "([^"]+)"', out).group(1)  # type: ignore[union-attr]
    for args in (("show", label, "--markdown"), ("show", label, "--json"), ("show", label)):
        code, out, err = cli(capsys, *args, "--repo", str(repo), "--db", db)
        assert code == 0, err
        assert_harmless(out + err, " ".join(args[::2]))
    target = tmp_path / "export.md"
    code, out, err = cli(capsys, "export", label, "-o", str(target), "--repo", str(repo), "--db", db)
    assert code == 0, err
    assert_harmless(target.read_text(), "the export")
