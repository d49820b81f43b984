"""Roles: instructions added to a task's prompt, and the effective prompt an agent gets.

A task may name a role (``role = "tester"``). The built-in roles are ``spec-writer``, ``implementer``,
``tester`` and ``reviewer``; ``cockpit.toml`` may change them or add others::

    [roles.security-reviewer]
    instructions = "You review for security only: ..."
    dependency_diffs = true     # optional: the diffs of the tasks it depends on join its prompt
    description = "..."         # optional

A role with ``dependency_diffs`` (the built-in ``reviewer``) gets the diff of each task it depends on
(that task's branch against the commit it started from, at most :data:`DIFF_LIMIT` characters in all).

The effective prompt (:func:`compose_prompt`) is what the agent really gets; the engine publishes it
(a ``PromptSent`` event) just before the attempt's change to ``running``, when it is not the task's
prompt as written. It is laid out in sections:

- a program or API agent gets text: ``## Your role: NAME`` and the role's instructions, ``## Task``
  and the task's prompt, ``## Changes to review`` (diffs), ``## The check failed`` (the feedback of
  a failed check, see :mod:`engine.checks`);
- the ``shell`` kind runs its prompt as a bash script, so everything added is a block of ``#``
  comment lines (the role before the script, the rest after it): the script stays valid bash and is
  run unchanged. A script can still read what was added: bash gives its own text in
  ``$BASH_EXECUTION_STRING``, and the feedback of a failed check is also in the environment variable
  ``COCKPIT_CHECK_OUTPUT`` (set for every kind of agent on an attempt that follows a failed check).
- A retry the developer gave a message to adds it last (``## The developer's message on the last
  attempt``), also in ``COCKPIT_MESSAGE``.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

DIFF_LIMIT = 60_000  # characters of dependency diffs in a reviewer's prompt, all dependencies together


@dataclass(frozen=True)
class Role:
    name: str
    instructions: str
    dependency_diffs: bool = False
    description: str = ""


BUILTIN_ROLES: dict[str, Role] = {r.name: r for r in (
    Role(
        "spec-writer",
        "You are the spec writer. Do not implement anything. Write a specification that a developer can "
        "implement and test without asking questions. Read the existing code first, so that the spec uses "
        "its names, structure and conventions. Give: the goal in one short paragraph; the behaviour as "
        "numbered, testable requirements (inputs, outputs, errors and edge cases); the interfaces (modules, "
        "functions and commands with their signatures, file and data formats); what is out of scope; and "
        "acceptance tests as concrete examples (given this input, expect that output). Write it as a "
        "Markdown file in the repository (under docs/ unless the task names a place). Be short and precise; "
        "mark every open question as such instead of guessing.",
        description="writes a specification, no code",
    ),
    Role(
        "implementer",
        "You are the implementer. Make the change the task asks for, completely, in the style of the "
        "surrounding code. Read the relevant code (and the spec, if there is one) before you change "
        "anything. Keep the change focused: no unrelated refactoring, renaming or reformatting. Handle "
        "errors explicitly. Add or update tests for the new behaviour and its edge cases, run the "
        "project's tests before you finish and leave them passing. Leave no TODOs, stubs or "
        "commented-out code. End with a short summary: what changed, where, and anything left undone.",
        description="makes the change, with tests",
    ),
    Role(
        "tester",
        "You are the tester. Write tests; change production code only to fix a bug that your tests "
        "expose, and say so. Cover the behaviour the task describes: the normal cases, the edge cases "
        "(empty, large and invalid input, errors) and likely regressions. Use the project's test "
        "framework and conventions. Tests must be deterministic (no sleeps, no network, no dependence "
        "on the clock or on their order) and independent of each other; each checks one behaviour and "
        "its name says which. Run the tests: a failing test must fail for the right reason. End with "
        "what is covered, what is not, and any bug you found.",
        description="writes tests",
    ),
    Role(
        "reviewer",
        "You are the reviewer. Review the changes given below under 'Changes to review' (the work of "
        "the tasks this one depends on); do not rewrite them yourself. Check, in this order: "
        "correctness (logic errors, edge cases, error handling, concurrency), tests (do they cover the "
        "change, would they catch a regression), security (input validation, secrets, injection), and "
        "then clarity and consistency with the rest of the codebase. For each finding give the file "
        "and line, what is wrong, why it matters and a concrete fix, and mark it blocking or minor. "
        "Skip what a formatter would fix. End with a verdict: approve, or request changes, listing the "
        "blocking findings. Give the review as your final answer; write it to a file only if the task "
        "asks for one.",
        dependency_diffs=True,
        description="reviews the diffs of the tasks it depends on",
    ),
)}


@dataclass(frozen=True)
class DependencyDiff:
    task_id: str
    branch: str
    start: str
    head: str
    diff: str  # possibly cut to its share of DIFF_LIMIT
    cut: int = 0  # characters left out


def reviews_text(diffs: Sequence[DependencyDiff]) -> str:
    """The ``Changes to review`` section's body."""
    if not diffs:
        return "(this task depends on no other task: there is nothing to review)"
    parts = []
    for d in diffs:
        title = f"### Task {d.task_id!r}"
        if d.branch:
            title += f": branch {d.branch}, {d.start[:10]}..{d.head[:10]}"
        body = d.diff.rstrip("\n") if d.diff.strip() else "(no changes)"
        if d.diff.strip():
            body = f"```diff\n{body}\n```"
        if d.cut:
            body += f"\n[diff cut: {d.cut:,} more characters not shown]"
        parts.append(f"{title}\n{body}")
    return "\n\n".join(parts)


def compose_prompt(prompt: str, kind: str, role: Role | None = None, reviews: str | None = None,
                   feedback: str | None = None, message: str | None = None) -> str:
    """The effective prompt of an attempt (see the module's docstring for the layout)."""
    if role is None and reviews is None and feedback is None and message is None:
        return prompt
    after: list[tuple[str, str]] = []
    if reviews is not None:
        after.append(("Changes to review", reviews))
    if feedback is not None:
        after.append(("The check failed", feedback))
    if message is not None:
        after.append(("The developer's message on the last attempt", message))
    if kind == "shell":
        head = _comments(f"cockpit role: {role.name}", _wrap(role.instructions)) + "\n" if role else ""
        tail = "".join("\n" + _comments(f"cockpit: {title}", body) for title, body in after)
        return head + prompt.rstrip("\n") + "\n" + tail
    parts = []
    if role is not None:
        parts += [f"## Your role: {role.name}\n\n{role.instructions.strip()}", f"## Task\n\n{prompt.strip()}"]
    else:
        parts.append(prompt.rstrip())
    parts += [f"## {title}\n\n{body}" for title, body in after]
    return "\n\n".join(parts) + "\n"


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(p, 98) if p.strip() else "" for p in text.split("\n"))


def _comments(title: str, body: str) -> str:
    """``body`` as bash comment lines under ``# --- title ---`` (a comment ends at its line's end,
    whatever it holds, so any text is safe)."""
    lines = [f"# --- {title} ---"]
    lines += [f"# {line}".rstrip() for line in body.replace("\r", "").replace("\0", "").split("\n")]
    return "\n".join(lines) + "\n"

