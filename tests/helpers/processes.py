"""What runs on the machine, read from /proc: states, process groups, processes with a marker."""
from __future__ import annotations

import os

from engine.process import SUPERVISOR


def proc_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (``R``, ``S``, ``T``, ``Z``...), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()[0].decode()


def live_group_members(pgid: int) -> list[int]:
    """Pids of the processes of group ``pgid`` that are alive (zombies do not count)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def pids_with_marker(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (the supervisor a program runs
    under holds the program's command line too: it is not counted)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline and SUPERVISOR.encode() not in cmdline and proc_state(int(entry)) not in (None, "Z"):
            found.append(int(entry))
    return found


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def leaders_with_marker(marker: str) -> list[int]:
    """Process-group leaders whose command line holds ``marker`` (a forked child not yet exec'd
    shares its parent's command line, so the leader is the one to look at)."""
    return [pid for pid in pids_with_marker(marker) if process_group(pid) == pid]


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting for its parent to reap it is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return proc_state(pid) not in (None, "Z")
