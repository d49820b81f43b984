"""The ``cockpit`` command line.

Commands without a screen import nothing from Textual, so they start fast; the screens are
imported only by the commands that open them.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from engine.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cockpit", description="Supervise AI coding agents and measure what sticks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a plan of agent tasks")
    run.add_argument("plan", help="the plan file (TOML)")
    run.add_argument("--headless", action="store_true", help="print progress instead of opening the cockpit")
    run.add_argument("--max-parallel", type=positive_int, metavar="N", help="at most N tasks at once")
    run.add_argument("--repo", metavar="PATH", help="the git repository (default: the current folder)")
    run.add_argument("--logs", action="store_true", help="with --headless, print the agents' output too")

    demo = sub.add_parser("demo", help="run the built-in demo plan in a scratch repository")
    demo.add_argument("--headless", action="store_true", help="print progress instead of opening the cockpit")
    demo.add_argument("--logs", action="store_true", help="with --headless, print the agents' output too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _dispatch(args)
    except UserError as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(Path(args.plan), args.repo, args.max_parallel, args.logs)
    if args.command == "demo":
        from engine.demo import PLAN_NAME, make_demo_repo

        root = make_demo_repo()
        print(f"demo repository: {root}")
        return _run(root / PLAN_NAME, str(root), None, args.logs)
    raise AssertionError(args.command)


def _run(plan_path: Path, repo: str | None, max_parallel: int | None, logs: bool) -> int:
    from engine.config import load_config
    from engine.plan import load_plan
    from engine.scheduler import Engine
    from engine.worktrees import repo_root, resolve_commit, stale_worktrees
    from tui.headless import run_headless

    root = repo_root(repo or ".")
    config = load_config(root)
    plan = load_plan(plan_path, config.profiles)
    resolve_commit(root, plan.base)  # a bad base is the user's error: say so before anything starts
    for stale in stale_worktrees(root):
        where = stale.path if stale.exists else f"{stale.path} (folder gone)"
        print(f"note: worktree of an earlier run kept: {where} on {stale.branch}", file=sys.stderr)
    engine = Engine(plan, config.profiles, root, max_parallel=max_parallel)
    return asyncio.run(run_headless(engine, show_logs=logs))


if __name__ == "__main__":
    sys.exit(main())
