"""The ``cockpit`` command line.

Commands without a screen import nothing from Textual, so they start fast; the screens are
imported only by the commands that open them. Every user error is one line and exit code 2.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import NoReturn, Sequence


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


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number more than zero, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    db_only = argparse.ArgumentParser(add_help=False)
    db_only.add_argument("--db", metavar="PATH", help="the database file (default: $COCKPIT_DB, else the user data dir)")
    common = argparse.ArgumentParser(add_help=False, parents=[db_only])
    common.add_argument("--repo", metavar="PATH", help="the git repository (default: the current folder)")

    parser = _Parser(prog="cockpit", description="Supervise AI coding agents and measure what sticks. "
                     "Without a command, in a git repository: open the cockpit's start screen.")
    parser.add_argument("--db", dest="start_db", metavar="PATH",
                        help="without a command: the database file (default: $COCKPIT_DB, else the user data dir)")
    parser.add_argument("--repo", dest="start_repo", metavar="PATH",
                        help="without a command: the git repository (default: the current folder)")
    parser.add_argument("--max-parallel", dest="start_max_parallel", type=positive_int, metavar="N",
                        help="without a command: at most N tasks at once")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="run a plan of agent tasks in a new session")
    run.add_argument("plan", help="the plan file (TOML)")
    run.add_argument("--headless", action="store_true", help="print progress instead of opening the cockpit")
    run.add_argument("--max-parallel", type=positive_int, metavar="N", help="at most N tasks at once")
    run.add_argument("--objective", default="", metavar="TEXT", help="the session's objective, one sentence")
    run.add_argument("--logs", action="store_true", help="with --headless, print the agents' output too")
    run.add_argument("--budget-usd", type=positive_number, metavar="USD",
                     help="the session's spending limit in dollars (over the plan's budget_usd): "
                          "reached, no new task starts")
    run.add_argument("--budget-tokens", type=positive_int, metavar="N",
                     help="the same in tokens (input, output and cache tokens together)")

    # the demo makes its own repository and plan: it has no --repo, no --max-parallel
    demo = sub.add_parser("demo", parents=[db_only], help="run the built-in demo plan in a scratch repository "
                          "(about a minute: time to pause, write to and cancel its agents)")
    demo.add_argument("--headless", action="store_true", help="print progress instead of opening the cockpit")
    demo.add_argument("--logs", action="store_true", help="with --headless, print the agents' output too")
    demo.add_argument("--fast", action="store_true", help="run it in about ten seconds")

    sessions = sub.add_parser("sessions", parents=[common], help="list the repository's sessions, newest first")
    sessions.add_argument("--all", action="store_true", help="the sessions of every repository")
    sessions.add_argument("--json", action="store_true", help="as JSON")

    show = sub.add_parser("show", parents=[common], help="one session (id or label YYYYMMDD.N)")
    show.add_argument("session")
    fmt = show.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_const", const="json", dest="format", help="as JSON")
    fmt.add_argument("--markdown", action="store_const", const="markdown", dest="format",
                     help="as the Markdown summary")

    export = sub.add_parser("export", parents=[common], help="write a session's Markdown summary")
    export.add_argument("session")
    export.add_argument("-o", "--output", metavar="FILE", help="a file or folder (default: standard output)")
    export.add_argument("--force", action="store_true", help="replace an existing, different file")

    imp = sub.add_parser("import", parents=[common], help="import summary files (files or folders)")
    imp.add_argument("paths", nargs="+", metavar="PATH")

    edit = sub.add_parser("edit", parents=[common],
                          help="open a session's summary form (saved summary, draft, or pre-filled) and save it")
    edit.add_argument("session", help="id or label YYYYMMDD.N")

    assess = sub.add_parser("assess", parents=[common], help="record how an earlier session's work was used")
    assess.add_argument("session")
    assess.add_argument("outcome", choices=("fully", "partially", "not-used", "too-early", "na"))
    assess.add_argument("--note", default="", metavar="TEXT", help="a word on why")

    stuck = sub.add_parser("stuck", parents=[common],
                           help="how much of each ended session's work git still holds (EWR git)")
    stuck.add_argument("sessions", nargs="*", metavar="SESSION",
                       help="sessions (id or label); default: every ended session of the repository")
    stuck.add_argument("--at", metavar="REV", help="measure at this commit (default: HEAD)")
    stuck.add_argument("--json", action="store_true", help="as JSON")
    stuck.add_argument("--allow-commit-graph", action="store_true",
                       help="write a git commit-graph when the repository has none (faster measures)")

    review = sub.add_parser("review", parents=[common],
                            help="open the review of a session's tasks (default: the newest session): accept or discard")
    review.add_argument("session", nargs="?", help="id or label YYYYMMDD.N")

    acc = sub.add_parser("accept", parents=[common],
                         help="bring a task's work into the branch your checkout is on (a merge of its branch)")
    acc.add_argument("session", help="id or label YYYYMMDD.N")
    acc.add_argument("task", help="the task's id in the plan")
    how = acc.add_mutually_exclusive_group()
    how.add_argument("--own", action="store_const", const="own", dest="mode",
                     help="only the task's own commits (copied), none of its dependencies' work")
    how.add_argument("--with-deps", action="store_const", const="with-deps", dest="mode",
                     help="with the work of its dependencies not accepted yet (each recorded as accepted)")
    acc.add_argument("--include", action="append", default=[], metavar="TASK",
                     help="with --with-deps: also bring in this discarded dependency (repeat for more)")

    dis = sub.add_parser("discard", parents=[common], help="delete a task's worktree and branch, recorded as discarded")
    dis.add_argument("session", help="id or label YYYYMMDD.N")
    dis.add_argument("task", help="the task's id in the plan")
    dis.add_argument("--reason", default="", metavar="TEXT", help="why, kept with the session")

    clean = sub.add_parser("clean", parents=[common],
                           help="remove the task branches and worktrees of decided tasks (accepted, discarded)")
    clean.add_argument("names", nargs="*", metavar="NAME",
                       help="also remove these undecided ones: a branch, RUN/TASK, a run id or a session")
    clean.add_argument("--dry-run", action="store_true", help="list what would be removed and kept; remove nothing")

    history = sub.add_parser("history", parents=[common],
                             help="open the history screen: past sessions, trends, and which agent's work sticks")
    history.add_argument("--all", action="store_true", help="the sessions of every repository")

    report = sub.add_parser("report", parents=[common],
                            help="the sessions' figures: EWR both ways, per session and per agent profile")
    report.add_argument("--since", metavar="DATE", help="only the sessions of DATE (YYYY-MM-DD) or later")
    report.add_argument("--all", action="store_true", help="the sessions of every repository")
    fmt = report.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_const", const="json", dest="format",
                     help="as JSON: sessions, totals and agents")
    fmt.add_argument("--csv", action="store_const", const="csv", dest="format",
                     help="the sessions table only, as CSV (one row per session; no totals or agents)")
    fmt.add_argument("--markdown", action="store_const", const="markdown", dest="format",
                     help="as a Markdown report: totals, sessions, agents, disagreements")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from engine.errors import UserError
    from sessions.git.facts import GitFactsError
    from sessions.store.db import StoreError

    try:
        return _dispatch(args)
    except (UserError, StoreError, GitFactsError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cockpit show X --json | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command is None:  # the start screen, in a git repository only
        from engine.worktrees import repo_root
        from tui.cli.run import run_cockpit

        repo = str(repo_root(args.start_repo or "."))
        return asyncio.run(run_cockpit(None, repo, args.start_db, "", args.start_max_parallel))
    if command in ("run", "demo"):
        from sessions.launch import prepare
        from tui.cli.run import run_cockpit, run_recorded

        budgets = {}
        if command == "demo":
            from engine.demo import FAST_STEP_SECONDS, PLAN_NAME, STEP_SECONDS, make_demo_repo

            root = make_demo_repo(step_seconds=FAST_STEP_SECONDS if args.fast else STEP_SECONDS)
            print(f"demo repository: {root}")
            plan_path, repo, max_parallel, objective = root / PLAN_NAME, str(root), None, "Run the demo plan"
        else:
            plan_path, repo, max_parallel, objective = Path(args.plan), args.repo, args.max_parallel, args.objective
            budgets = {"budget_usd": args.budget_usd, "budget_tokens": args.budget_tokens}
        if not args.headless:
            return asyncio.run(run_cockpit(plan_path, repo, args.db, objective, max_parallel, **budgets))
        # headless: no one answers the agents' questions; their profiles' policies do
        engine = prepare(plan_path, repo, max_parallel, db=args.db, interactive=False, **budgets)
        return asyncio.run(run_recorded(engine, plan_path, args.db, objective, args.logs))

    from tui.cli import session_commands as sc

    if command == "sessions":
        return asyncio.run(sc.list_sessions(args.db, args.repo, args.all, args.json))
    if command == "show":
        return asyncio.run(sc.show_session(args.db, args.session, args.repo, args.format or "text"))
    if command == "export":
        return asyncio.run(sc.export_session(args.db, args.session, args.repo, args.output, args.force))
    if command == "import":
        return asyncio.run(sc.import_files(args.db, args.paths, args.repo))
    if command == "edit":
        from tui.cli.edit import edit_session

        return asyncio.run(edit_session(args.db, args.session, args.repo))
    if command == "assess":
        return asyncio.run(sc.assess_session(args.db, args.session, args.repo, args.outcome, args.note))
    if command == "stuck":
        from tui.cli.stuck import stuck

        return asyncio.run(stuck(args.db, args.sessions, args.repo, args.at, args.json, args.allow_commit_graph))
    if command == "review":
        from tui.cli.review import run_review  # Textual is imported here only

        return asyncio.run(run_review(args.db, args.session, args.repo))
    if command == "accept":
        from tui.cli.decide import accept_task

        if args.include and args.mode != "with-deps":
            print("cockpit: --include brings in a discarded dependency with the task: use it with --with-deps",
                  file=sys.stderr)
            return 2
        return asyncio.run(accept_task(args.db, args.session, args.task, args.repo, args.mode or "merge", args.include))
    if command == "discard":
        from tui.cli.decide import discard_task

        return asyncio.run(discard_task(args.db, args.session, args.task, args.repo, args.reason))
    if command == "clean":
        from tui.cli.clean import clean

        return asyncio.run(clean(args.db, args.repo, args.names, args.dry_run))
    if command == "history":
        from tui.history_app import run_history  # Textual is imported here only

        return asyncio.run(run_history(args.db, args.repo, args.all))
    if command == "report":
        from tui.cli.report import report

        return asyncio.run(report(args.db, args.repo, args.all, args.since, args.format or "text"))
    raise AssertionError(command)

