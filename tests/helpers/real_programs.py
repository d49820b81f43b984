"""The real agent programs the tests run, installed from npm and PyPI into a cache folder.

Each program is pinned to the version its built-in profile was checked with, and installed once into
``~/.cache/cockpit-test-tools/<name>-<version>`` (``COCKPIT_TEST_TOOLS`` names another folder): npm
packages with ``npm install --prefix``, aider into a virtual environment of its own (it is large and
pins its own dependencies). An install is made in a temporary folder and renamed into place when it
is complete, under a lock, so two test runs never see half of one. :func:`install_all` starts every
install at once (``python -m tests.helpers.real_programs`` does it before the tests, in CI); a test
asks for its program with :func:`program`, which waits for it. A program that cannot be installed
fails its test with the installer's own words: it is never skipped.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 900  # seconds for one install (aider's venv is the slowest, a minute or two)


@dataclass(frozen=True)
class Tool:
    name: str  # the command
    package: str
    version: str
    registry: str  # npm | pypi

    @property
    def folder(self) -> Path:
        return root() / f"{self.name}-{self.version}"

    @property
    def bin(self) -> Path:
        return self.folder / ("node_modules/.bin" if self.registry == "npm" else "venv/bin")


TOOLS = {t.name: t for t in (
    Tool("codex", "@openai/codex", "0.171.0", "npm"),
    Tool("codex-acp", "@zed-industries/codex-acp", "0.16.0", "npm"),
    Tool("gemini", "@google/gemini-cli", "0.61.0", "npm"),
    Tool("aider", "aider-chat", "0.86.2", "pypi"),
    Tool("claude-code-acp", "@zed-industries/claude-code-acp", "0.16.2", "npm"),
    Tool("opencode", "opencode-ai", "1.18.33", "npm"),
)}


# fixed on import: a test that gives its agents a home of their own must not move the cache
_ROOT = Path(os.environ.get("COCKPIT_TEST_TOOLS") or Path.home() / ".cache" / "cockpit-test-tools")


def root() -> Path:
    return _ROOT


class InstallFailed(Exception):
    pass


def _run(argv: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise InstallFailed(f"{' '.join(argv[:4])} … exited {proc.returncode}:\n{tail}")


def install(tool: Tool) -> Path:
    """The folder of ``tool``'s commands, installing it first if it is not there yet."""
    done = tool.folder / ".installed"
    if done.exists():
        return tool.bin
    root().mkdir(parents=True, exist_ok=True)
    with open(root() / f".{tool.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():  # another run installed it while this one waited
            return tool.bin
        # built in place (a virtual environment cannot be moved), complete once .installed is written
        building = tool.folder
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        started = time.monotonic()
        if tool.registry == "npm":
            npm = shutil.which("npm")
            if npm is None:
                raise InstallFailed("npm is not installed: the real agent programs come from the npm registry")
            _run([npm, "install", "--prefix", str(building), "--no-audit", "--no-fund", "--loglevel=error",
                  f"{tool.package}@{tool.version}"])
        else:
            _run([sys.executable, "-m", "venv", str(building / "venv")])
            _run([str(building / "venv/bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  f"{tool.package}=={tool.version}"])
        (building / ".installed").write_text(f"{tool.package} {tool.version} in {time.monotonic() - started:.0f}s\n")
    return tool.bin


_pool: ThreadPoolExecutor | None = None
_installs: dict[str, Future[Path]] = {}


def install_all() -> dict[str, Future[Path]]:
    """Start every install at once (each in a thread); the futures by name."""
    global _pool
    if not _installs:
        _pool = ThreadPoolExecutor(max_workers=len(TOOLS), thread_name_prefix="install")
        for name, tool in TOOLS.items():
            _installs[name] = _pool.submit(install, tool)
    return _installs


def program(name: str) -> Path:
    """The folder holding the commands of ``name`` (installed if need be; every install starts at once)."""
    future = install_all()[name]
    return future.result(timeout=INSTALL_TIMEOUT)


def main() -> int:
    failed = 0
    for name, future in install_all().items():
        try:
            print(f"{name}: {program(name)}", flush=True)
        except Exception as exc:  # each failure is told; the tests that need the program will fail too
            failed += 1
            print(f"{name}: install failed: {exc}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
