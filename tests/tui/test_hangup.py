"""The cockpit's terminal closes (SIGHUP): every task is cancelled, the session recorded, no agent left.

The real ``cockpit`` command runs on a pseudo-terminal of its own, as in a terminal window; closing
the terminal's side of it is what closing the window does.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.helpers.processes import pid_alive

WAIT = 60


def _controlling_tty() -> None:  # in the child, after setsid: the pty becomes its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def read_until(fd: int, needle: bytes, seen: bytearray, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
            if needle in seen:
                return True
    return False


@pytest.mark.parametrize("mode", [[], ["--headless", "--logs"]], ids=["cockpit", "headless"])
def test_a_closed_terminal_ends_the_session_and_leaves_no_agent(repo: Path, db: str, tmp_path: Path,
                                                                 mode: list[str]) -> None:
    pid_file = tmp_path / "agent.pid"
    (repo / "plan.toml").write_text(
        '[[task]]\nid = "long"\nagent = "shell"\n'
        f"prompt = '''( setsid bash -c 'echo $$ > {pid_file}; exec sleep 1000' & ); echo started; sleep 1000'''\n"
    )
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")  # 24 x 80
    env = {**os.environ, "TERM": "xterm-256color", "COCKPIT_DB": db}
    cockpit = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", "plan.toml", *mode, "--objective", "hang up"], cwd=repo, env=env,
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=_controlling_tty,
    )
    os.close(slave)
    seen = bytearray()
    try:
        for _ in range(WAIT * 5):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            read_until(master, b"\x00never", seen, 0.2)  # keep the terminal drained
        agent = int(pid_file.read_text())
        assert pid_alive(agent)
        os.close(master)  # the window closes
        master = -1
        cockpit.wait(WAIT)
    finally:
        if master >= 0:
            os.close(master)
        if cockpit.poll() is None:
            cockpit.kill()
            cockpit.wait(WAIT)
    for _ in range(WAIT * 10):
        if not pid_alive(agent):
            break
        time.sleep(0.1)
    assert not pid_alive(agent)
    out = subprocess.run([sys.executable, "-m", "tui.cli", "sessions", "--json", "--db", db], cwd=repo,
                         capture_output=True, text=True, timeout=WAIT)
    (session,) = json.loads(out.stdout)
    assert session["status"] == "abandoned" and not session["cockpit_gone"]
    detail = json.loads(subprocess.run(
        [sys.executable, "-m", "tui.cli", "show", str(session["id"]), "--json", "--db", db], cwd=repo,
        capture_output=True, text=True, timeout=WAIT).stdout)
    assert [t["state"] for t in detail["tasks"]] == ["cancelled"]
