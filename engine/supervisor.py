"""The per-task supervisor: a small program that runs one agent program and answers for every process
it starts (run as ``python -I -S supervisor.py PARENT STATUS_FD LC_CTYPE PROGRAM ARG...``; the standard library
only, so that it starts fast and imports nothing of the cockpit).

It makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux 3.4+): a process that
leaves the agent's process group or session (``setsid``, a double fork, a daemon) is still its
descendant, and when its parent dies it is re-parented here, not to init. So the supervisor can always
find every process of the task by walking the process tree under itself, whatever they did to leave.
It asks the kernel for a signal when the cockpit dies (``PR_SET_PDEATHSIG``), even by SIGKILL or a
closed terminal, and then ends the whole task.

Why a subreaper and not a cgroup: a cgroup is the stronger fence, but an unprivileged user can make one
only where systemd (or the container) delegates a subtree to them, which a terminal session often does
not have (cgroup v1 hosts, containers, non-systemd systems, macOS-free Linux CI runners). The subreaper
needs no privilege and no delegation, on every Linux since 3.4.

Talking to it (from :mod:`engine.process`):
- ``PARENT`` is the cockpit's pid. ``LC_CTYPE`` is ``-`` or ``=VALUE``: the program's ``LC_CTYPE``
  (absent, or that value), since Python changes its own when the locale is C (PEP 538) and the program
  must get exactly the environment the cockpit gave.
- ``STATUS_FD`` (``-1``: none) receives one line once the program started: ``ok PID`` or ``err ERRNO``.
- SIGUSR1 pauses every process of the task (SIGSTOP), SIGUSR2 resumes them (SIGCONT).
- SIGTERM, SIGHUP, SIGINT and the cockpit's death end the task: every process is frozen at once
  (SIGSTOP, so that nothing more is written nor sent in a grace period), then killed.
- When the program itself exits, whatever it left running is ended the same way.

The supervisor exits with the program's status: its code, or the signal that killed it (it kills itself
with the same signal), so a caller sees what it would have seen without it.
"""
import ctypes
import errno
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
END = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
WATCHED = {signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, *END}
STUBBORN_SECONDS = 10.0


def prctl(option, value):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: groups only
        return False


def descendants(root):
    """Every live process under ``root`` (by parent links in /proc), zombies left out; [] without /proc."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/" + entry + "/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 2 or fields[0] == b"Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


def signal_all(sig, pids):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def freeze(me):
    """SIGSTOP every process under ``me`` until no new one appears (a fork in flight shows up late)."""
    stopped = set()
    for _ in range(100):
        fresh = [p for p in descendants(me) if p not in stopped]
        if not fresh:
            return
        signal_all(signal.SIGSTOP, fresh)
        stopped.update(fresh)


def reap(program, status):
    """Reap every child that ended; the program's wait status once it is among them."""
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status, True
        if pid == 0:
            return status, False
        if pid == program:
            status = st


def end_all(me, program, status):
    """Freeze, then kill, every process of the task; reap them all. The program's wait status.

    A process the user may not signal (one that became another user, such as ``sudo``) cannot be
    killed; it is waited for ``STUBBORN_SECONDS`` at most, so that the task still ends."""
    freeze(me)
    give_up = time.monotonic() + STUBBORN_SECONDS
    while time.monotonic() < give_up:
        try:  # the program's own group too: all there is to find where there is no /proc
            os.killpg(program, signal.SIGKILL)
        except OSError:
            pass
        signal_all(signal.SIGKILL, descendants(me))
        status, none_left = reap(program, status)
        if none_left:
            return status
        time.sleep(0.005)
    return reap(program, status)[0]


def leave(status):
    if status is None:
        os._exit(1)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def main(argv):
    parent, status_fd, lc_ctype, program_argv = int(argv[1]), int(argv[2]), argv[3], argv[4:]
    env = dict(os.environ)
    if lc_ctype.startswith("="):  # "-" or "" (from a launcher script): none
        env["LC_CTYPE"] = lc_ctype[1:]
    else:
        env.pop("LC_CTYPE", None)
    me = os.getpid()
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGHUP)
    try:
        program = os.posix_spawnp(
            program_argv[0], program_argv, env,
            setsid=True, setsigmask=(), setsigdef=WATCHED,
        )
    except OSError as exc:
        code = exc.errno or errno.ENOENT
        if status_fd >= 0:
            os.write(status_fd, b"err %d\n" % code)
        else:
            os.write(2, ("cannot start %r: %s\n" % (program_argv[0], os.strerror(code))).encode())
        os._exit(127)
    if status_fd >= 0:
        os.write(status_fd, b"ok %d\n" % program)
        os.close(status_fd)
    # the program holds the pipes now: the reader sees their end when the last process of the task ends
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    status = None
    if os.getppid() != parent:  # the cockpit died before it could be watched
        leave(end_all(me, program, status))
    while True:
        sig = signal.sigwait(WATCHED)
        if sig == signal.SIGCHLD:
            status, _ = reap(program, status)
            if status is not None:  # the program ended: nothing it started outlives it
                leave(end_all(me, program, status))
        elif sig == signal.SIGUSR1:
            freeze(me)
        elif sig == signal.SIGUSR2:
            signal_all(signal.SIGCONT, descendants(me))
        else:
            leave(end_all(me, program, status))


if __name__ == "__main__":
    main(sys.argv)
