"""The ask channel: an agent that needs a decision asks here, and waits for the answer.

An agent (Claude Code's permission callback, an ACP agent's ``session/request_permission``) describes
what it wants to do as a :class:`Request`: the tool, its kind, the command or the files, a preview of
the change, and the options it offers, each of a kind (``allow_once``, ``allow_always``,
``reject_once``, ``reject_always``: ACP's names, so that an ACP agent's own option ids pass through).

The profile's :class:`AskPolicy` (``[agents.NAME.permissions]`` in cockpit.toml) answers first. What it
leaves to the developer becomes a :class:`Question`, published as :class:`QuestionAsked`; the agent
waits until the developer answers (:meth:`AskChannel.answer`), the task is stopped, or the run ends.
A run with no one to answer (headless) never waits: the policy's ``headless`` answer decides, by default
a denial with the reason "no one to ask in a headless run". Every request ends in one
:class:`QuestionAnswered` (who decided, what, for how long the agent waited).

"Always" answers are remembered here as rules, for the task or for the whole session (every task of
the run), and answer the next matching request without asking; the agent is still given the option
it offered, so an agent that keeps its own rules (ACP) keeps them too.

What an agent asks about is its own text (the tool's name, the command, the paths, the preview, its
options' labels), so the question and the answer are published made safe by one
:class:`~engine.agent_text.AgentText` (no control sequence, no secret), here, whatever agent asked:
the screen, the store and the headless log get them only from these events. The policy and the
remembered rules still judge the request as the agent sent it (what it would actually run).
"""
from __future__ import annotations

import asyncio
import fnmatch
import itertools
import os
import re
import shlex
import time
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Iterable

from engine.agent_text import AgentText

# What a tool does, as ACP's ToolKind names it: the policy decides by kind, whatever the agent.
TOOL_KINDS = ("read", "search", "edit", "delete", "move", "execute", "fetch", "think", "switch_mode", "other")
_POLICY_KIND = {"read": "read", "search": "read", "think": "read", "edit": "edit", "delete": "edit",
                "move": "edit", "execute": "execute", "fetch": "fetch"}
OPTION_KINDS = ("allow_once", "allow_always", "reject_once", "reject_always")
RULES = ("allow", "ask", "deny")
SCOPES = ("once", "task", "session")
HEADLESS_REASON = "no one to ask in a headless run"
OUTSIDE_REASON = "it reaches outside the task's worktree"
PREVIEW_LIMIT = 4000  # characters of a preview kept on a question


class AskError(Exception):
    """An answer that cannot be given (no such question, an option the agent did not offer); the text
    is for the user."""


@dataclass(frozen=True, slots=True)
class AskOption:
    """One answer the agent offers: ``id`` is the agent's own (ACP ``optionId``), ``kind`` one of
    :data:`OPTION_KINDS`, ``label`` its words."""

    id: str
    kind: str
    label: str = ""


STANDARD_OPTIONS = (
    AskOption("allow_once", "allow_once", "Allow once"),
    AskOption("allow_always", "allow_always", "Allow always"),
    AskOption("reject_once", "reject_once", "Deny"),
)


@dataclass(frozen=True, slots=True)
class Request:
    """What an agent wants to do, as it asks for it.

    ``tool`` is the agent's name for the tool (``Bash``, ``Write``, an ACP tool call's title); ``kind``
    one of :data:`TOOL_KINDS`; ``command`` the command line of an ``execute``; ``paths`` the files it
    reads or changes (absolute, or relative to the worktree); ``preview`` the change or the command in
    full (cut to :data:`PREVIEW_LIMIT`); ``reason`` why the agent asks, in its words; ``options`` what
    it offers (default: allow once, allow always, deny).
    """

    tool: str
    kind: str = "other"
    title: str = ""
    command: str | None = None
    paths: tuple[str, ...] = ()
    preview: str = ""
    reason: str = ""
    options: tuple[AskOption, ...] = STANDARD_OPTIONS
    tool_call_id: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    """A request the policy left to the developer (or decided: see :class:`QuestionAnswered`), as the
    cockpit shows it. ``outside`` lists the request's paths that lie outside the task's worktree."""

    id: str
    task_id: str
    attempt: int
    profile: str
    request: Request
    outside: tuple[str, ...]
    asked_at: float  # wall time

    @property
    def tool(self) -> str:
        return self.request.tool

    @property
    def options(self) -> tuple[AskOption, ...]:
        return self.request.options

    def offers(self, kind: str) -> bool:
        return any(o.kind == kind for o in self.request.options)

    def describe(self) -> str:
        """One line: ``Bash: rm -rf build`` / ``Write: src/a.py``."""
        r = self.request
        what = r.command if r.command is not None else ", ".join(r.paths) or r.title
        return f"{r.tool}: {' '.join(what.split())}" if what else r.tool


@dataclass(frozen=True, slots=True)
class Answer:
    """The decision. ``option`` is the agent's option it maps to (None when the agent offered none of
    that kind); ``scope`` ``once``, ``task`` or ``session`` (what an "always" covers); ``reason`` is
    passed back to the agent with a denial; ``by`` ``developer``, ``policy``, ``headless`` or
    ``stopped`` (the task ended while it waited); ``rule`` what an always-answer remembered."""

    allow: bool
    option: AskOption | None
    scope: str = "once"
    reason: str = ""
    by: str = "policy"
    rule: str = ""

    @property
    def decision(self) -> str:
        return "allowed" if self.allow else "denied"

    def describe(self) -> str:
        scope = "" if self.scope == "once" else f" always ({'this task' if self.scope == 'task' else 'this session'})"
        return f"{self.decision}{scope}" + (f": {self.reason}" if self.reason else "")


@dataclass(slots=True)
class QuestionAsked:
    """A question waits for the developer."""

    question: Question
    at: float = field(default_factory=time.time)

    @property
    def task_id(self) -> str:
        return self.question.task_id


@dataclass(slots=True)
class QuestionAnswered:
    """A request was decided (every request ends in one): ``asked`` tells whether it waited for the
    developer (a :class:`QuestionAsked` came before it); ``waited`` is in seconds."""

    question: Question
    answer: Answer
    waited: float
    asked: bool
    at: float = field(default_factory=time.time)

    @property
    def task_id(self) -> str:
        return self.question.task_id


@dataclass(frozen=True)
class AskPolicy:
    """What a profile's agents may do without asking. Each of ``read`` (reading and searching files in
    the worktree), ``edit`` (writing, editing, deleting, moving files in it), ``execute`` (commands),
    ``fetch`` (the network), ``other`` and ``outside`` (anything that reaches outside the worktree,
    which comes first) is ``allow``, ``ask`` or ``deny``. ``headless`` is what a run with no one to ask
    answers instead of asking (``allow`` or ``deny``). ``allow`` and ``deny`` are rules that come before
    all of them: ``Tool`` or ``Tool(pattern)`` (``Bash(npm test*)``, ``Write(docs/*)``; a tool kind
    works as a tool name: ``execute(git status)``)."""

    read: str = "allow"
    edit: str = "allow"
    execute: str = "ask"
    fetch: str = "ask"
    other: str = "ask"
    outside: str = "deny"
    headless: str = "deny"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def rule_for(self, request: Request) -> str:
        """``allow``, ``ask`` or ``deny`` for a request inside the worktree (the rules lists aside)."""
        return getattr(self, _POLICY_KIND.get(request.kind, "other"))


DEFAULT_POLICY = AskPolicy()


def parse_rule(rule: str) -> tuple[str, str | None]:
    """``Bash(npm test*)`` -> ("bash", "npm test*"); ``Write`` -> ("write", None)."""
    rule = rule.strip()
    if rule.endswith(")") and "(" in rule:
        name, _, pattern = rule[:-1].partition("(")
        return name.strip().lower(), pattern.strip()
    return rule.lower(), None


def rule_matches(rule: str, request: Request, workdir: str) -> bool:
    name, pattern = parse_rule(rule)
    if name not in (request.tool.lower(), request.kind, "*"):
        return False
    if pattern is None or pattern in ("", "*"):
        return True
    if request.command is not None:
        return _command_matches(pattern, request.command)
    targets = [p for path in request.paths for p in (path, _relative(path, workdir))]
    return any(fnmatch.fnmatchcase(t, pattern) for t in targets)


_OPERATORS = re.compile(r"&&|\|\||;|\||`|\$\(|\n")


def _command_matches(pattern: str, command: str) -> bool:
    """``npm test*`` (or Claude Code's ``npm test:*``) is a prefix of words: it takes ``npm test`` and
    ``npm test -x``, never ``npm tester``; a compound command (``a && b``, a pipe) matches only when
    each of its parts does. Any other pattern is a glob over the whole command."""
    command = " ".join(command.split())
    if pattern.endswith(":*"):
        pattern = pattern[:-2] + "*"
    if not (pattern.endswith("*") and not any(c in pattern[:-1] for c in "*?[")):
        return fnmatch.fnmatchcase(command, pattern)
    prefix = pattern[:-1]
    parts = [p.strip() for p in _OPERATORS.split(command)] if _OPERATORS.search(command) else [command]
    for part in parts:
        if prefix.endswith(" "):
            ok = part.startswith(prefix) or part == prefix.rstrip()
        else:
            ok = part == prefix or part.startswith(prefix + " ")
        if not ok:
            return False
    return True


def command_prefix(command: str) -> str:
    """What "always" covers for a command: its program and, when the second word is a subcommand
    (``git status``, ``npm test``), that word too. A compound command (``a && b``, pipes) is taken
    whole: allowing its first program would allow what follows it."""
    if any(op in command for op in ("&&", "||", ";", "|", "`", "$(", ">", "<", "\n")):
        return " ".join(command.split())
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return ""
    if len(words) > 1 and words[1][:1].isalpha() and "/" not in words[1] and "." not in words[1]:
        return f"{words[0]} {words[1]}"
    return words[0]


def always_rule(request: Request) -> str:
    """The rule an "always" answer to ``request`` remembers."""
    if request.command is not None:
        prefix = command_prefix(request.command)
        return f"{request.tool}({prefix}*)" if prefix else request.tool
    return request.tool


def outside_paths(paths: Iterable[str], workdir: str) -> tuple[str, ...]:
    """The paths that resolve (symbolic links followed) outside ``workdir``."""
    if not workdir:
        return ()
    root = os.path.realpath(workdir)
    out = []
    for path in paths:
        if not path:
            continue
        full = os.path.realpath(os.path.join(root, os.path.expanduser(path)))
        if full != root and not full.startswith(root + os.sep):
            out.append(path)
    return tuple(out)


def _relative(path: str, workdir: str) -> str:
    if workdir and os.path.isabs(path):
        try:
            return os.path.relpath(path, workdir)
        except ValueError:
            return path
    return path


def _pick(options: tuple[AskOption, ...], *kinds: str) -> AskOption | None:
    for kind in kinds:
        for option in options:
            if option.kind == kind:
                return option
    return None


class _Waiting:
    """A question waiting for the developer; ``request`` is the agent's own (the question's is made safe),
    for the rules an answer remembers and checks."""

    __slots__ = ("question", "request", "future", "since", "workdir")

    def __init__(self, question: Question, request: Request, future: asyncio.Future[Answer], workdir: str) -> None:
        self.question = question
        self.request = request
        self.future = future
        self.workdir = workdir
        self.since = time.monotonic()


Publish = Callable[[object], None]
WaitHook = Callable[[str, bool], None]  # (task_id, waiting): the first question opened / the last closed
Asker = Callable[[Request], Awaitable[Answer]]


class AskChannel:
    """The engine's part that takes agents' requests and the developer's answers.

    ``publish`` puts events on the run's bus; ``interactive`` says whether someone can answer (False:
    headless); ``on_wait`` is told when a task starts and stops waiting for the developer (the engine
    stops the task's clock meanwhile, so waiting does not count against its timeout); ``text`` makes
    what is published safe (the engine's, which also knows the secrets of its environment).
    """

    def __init__(self, publish: Publish, *, interactive: bool = True, on_wait: WaitHook | None = None,
                 text: AgentText | None = None) -> None:
        self._publish = publish
        self.text = text if text is not None else AgentText()
        self.interactive = interactive
        self._on_wait = on_wait
        self._ids = itertools.count(1)
        self._waiting: dict[str, _Waiting] = {}  # question id -> waiting, in the order asked
        self._task_rules: dict[str, list[tuple[str, bool]]] = {}  # task id -> [(rule, allow)]
        self._session_rules: list[tuple[str, bool]] = []
        self.asked = 0  # requests that waited for the developer
        self.denied: dict[str, int] = {}  # task id -> requests denied (by anyone)

    # ----------------------------------------------------------------- agents' side
    def asker(self, task_id: str, attempt: int, profile: str, workdir: str,
              policy: AskPolicy | None = None) -> Asker:
        """The function an agent of this attempt calls to ask (``AgentContext.ask``)."""
        policy = policy or DEFAULT_POLICY

        async def ask(request: Request) -> Answer:
            return await self.ask(task_id, attempt, profile, workdir, policy, request)

        return ask

    async def ask(self, task_id: str, attempt: int, profile: str, workdir: str, policy: AskPolicy,
                  request: Request) -> Answer:
        if request.kind not in TOOL_KINDS:
            request = _with(request, kind="other")
        if len(request.preview) > PREVIEW_LIMIT:
            request = _with(request, preview=request.preview[:PREVIEW_LIMIT] + "\n… (cut)")
        outside = outside_paths(request.paths, workdir)
        question = Question(f"q{next(self._ids)}", task_id, attempt, profile, self._safe(request),
                            tuple(self.text.text(p) for p in outside), time.time())
        answer = self._decide(task_id, request, outside, policy, workdir)
        if answer is not None:
            return self._done(question, answer, 0.0, asked=False)
        loop = asyncio.get_running_loop()
        waiting = _Waiting(question, request, loop.create_future(), workdir)
        first = not any(w.question.task_id == task_id for w in self._waiting.values())
        self._waiting[question.id] = waiting
        self.asked += 1
        if first and self._on_wait is not None:
            self._on_wait(task_id, True)
        self._publish(QuestionAsked(question))
        try:
            # awaited directly, not through asyncio.shield: the agent wakes one turn of the event loop
            # after the answer instead of two, and under a flood of output a turn is long
            answer = await waiting.future
        except asyncio.CancelledError:  # the agent gave up (it was stopped): the question goes
            if self._waiting.get(question.id) is waiting:
                self._close(waiting, Answer(False, _pick(request.options, "reject_once"),
                                            reason="the agent stopped waiting", by="stopped"))
            raise
        return answer

    def _safe(self, r: Request) -> Request:
        """The request as it may be shown and kept: each of the agent's texts made safe (option ids and
        kinds stay: they are how the agent is answered)."""
        text = self.text.text
        return replace(
            r, tool=text(r.tool), title=text(r.title), command=text(r.command) if r.command is not None else None,
            paths=tuple(text(p) for p in r.paths), preview=text(r.preview), reason=text(r.reason),
            options=tuple(replace(o, label=text(o.label)) for o in r.options),
        )

    def _decide(self, task_id: str, r: Request, outside: tuple[str, ...], policy: AskPolicy,
                workdir: str) -> Answer | None:
        """The policy's answer, a remembered one, or None: ask the developer (or, headless, the
        policy's headless answer)."""
        for rule in policy.deny:
            if rule_matches(rule, r, workdir):
                return self._deny(r, f"the profile's rules deny {rule}")
        for rule in policy.allow:
            if rule_matches(rule, r, workdir):
                return Answer(True, _pick(r.options, "allow_once", "allow_always"), rule=rule)
        if outside:
            verdict = policy.outside
            if verdict == "deny":
                return self._deny(r, f"{OUTSIDE_REASON} ({', '.join(outside)})")
        else:
            verdict = ""
        remembered = self._remembered(task_id, r, workdir)
        if remembered is not None:
            return remembered
        if not verdict:
            verdict = policy.rule_for(r)
        if verdict == "allow":
            return Answer(True, _pick(r.options, "allow_once", "allow_always"))
        if verdict == "deny":
            return self._deny(r, f"the profile's permissions deny {_POLICY_KIND.get(r.kind, 'other')} requests")
        if not self.interactive:
            if policy.headless == "allow":
                return Answer(True, _pick(r.options, "allow_once", "allow_always"), by="headless")
            return Answer(False, _pick(r.options, "reject_once", "reject_always"), reason=HEADLESS_REASON,
                          by="headless")
        return None

    @staticmethod
    def _deny(r: Request, reason: str) -> Answer:
        return Answer(False, _pick(r.options, "reject_once", "reject_always"), reason=reason)

    def _remembered(self, task_id: str, r: Request, workdir: str) -> Answer | None:
        for scope, rules in (("task", self._task_rules.get(task_id, ())), ("session", self._session_rules)):
            for rule, allow in rules:
                if rule_matches(rule, r, workdir):
                    if allow:
                        return Answer(True, _pick(r.options, "allow_always", "allow_once"), scope, rule=rule)
                    return Answer(False, _pick(r.options, "reject_always", "reject_once"), scope,
                                  reason=f"denied always ({rule})", rule=rule)
        return None

    # ----------------------------------------------------------------- the developer's side
    def waiting(self) -> list[Question]:
        """The questions waiting for the developer, oldest first."""
        return [w.question for w in self._waiting.values()]

    def waiting_for(self, task_id: str) -> list[Question]:
        return [w.question for w in self._waiting.values() if w.question.task_id == task_id]

    def question(self, question_id: str) -> Question:
        waiting = self._waiting.get(question_id)
        if waiting is None:
            raise AskError(f"no question {question_id!r} is waiting (it was answered, or its task ended)")
        return waiting.question

    def answer(self, question_id: str, kind: str, scope: str = "once", reason: str = "") -> Answer:
        """The developer's answer: ``kind`` one of :data:`OPTION_KINDS`; for an ``*_always`` kind,
        ``scope`` ``task`` or ``session``; ``reason`` goes back to the agent with a denial."""
        waiting = self._waiting.get(question_id)
        if waiting is None:
            raise AskError(f"no question {question_id!r} is waiting (it was answered, or its task ended)")
        if kind not in OPTION_KINDS:
            raise AskError(f"unknown answer {kind!r} (one of {', '.join(OPTION_KINDS)})")
        q = waiting.question
        allow = kind.startswith("allow")
        always = kind.endswith("always")
        if always:
            if scope not in ("task", "session"):
                raise AskError("an answer for always needs a scope: task or session")
        else:
            scope = "once"
        # the agent's own option of that kind; an "always" the agent does not offer is remembered here
        # and sent to it as a one-time answer
        option = _pick(q.options, kind) or _pick(q.options, "allow_once" if allow else "reject_once")
        if option is None and allow:
            raise AskError(f"the agent offers no way to allow {q.describe()}")
        rule = ""
        if always:
            rule = always_rule(waiting.request)  # the agent's own command: the next request is matched on it
            rules = self._task_rules.setdefault(q.task_id, []) if scope == "task" else self._session_rules
            rules.append((rule, allow))
        answer = Answer(allow, option, scope, reason.strip() if not allow else "", "developer", rule)
        self._close(waiting, answer)
        if always:  # the new rule may answer other questions waiting now (never one reaching outside)
            for other in list(self._waiting.values()):
                if not other.question.outside:
                    again = self._remembered(other.question.task_id, other.request, other.workdir)
                    if again is not None:
                        self._close(other, again)
        return answer

    def stop_task(self, task_id: str, reason: str = "the task was stopped") -> None:
        """Deny what the task's agent waits for (it is being stopped), and forget its task rules when the
        task is over."""
        for waiting in [w for w in self._waiting.values() if w.question.task_id == task_id]:
            self._close(waiting, Answer(False, _pick(waiting.question.options, "reject_once"), reason=reason,
                                        by="stopped"))

    def forget_task(self, task_id: str) -> None:
        self._task_rules.pop(task_id, None)

    def close(self) -> None:
        for waiting in list(self._waiting.values()):
            self._close(waiting, Answer(False, _pick(waiting.question.options, "reject_once"),
                                        reason="the run ended", by="stopped"))

    # ----------------------------------------------------------------- bookkeeping
    def _close(self, waiting: _Waiting, answer: Answer) -> None:
        q = waiting.question
        self._waiting.pop(q.id, None)
        waited = time.monotonic() - waiting.since
        if not waiting.future.done():
            waiting.future.set_result(answer)
        self._done(q, answer, waited, asked=True)
        if self._on_wait is not None and not any(w.question.task_id == q.task_id for w in self._waiting.values()):
            self._on_wait(q.task_id, False)

    def _done(self, q: Question, answer: Answer, waited: float, asked: bool) -> Answer:
        if not answer.allow:
            self.denied[q.task_id] = self.denied.get(q.task_id, 0) + 1
        text = self.text.text  # a reason or a rule may quote the agent's command or paths
        shown = replace(answer, reason=text(answer.reason), rule=text(answer.rule),
                        option=replace(answer.option, label=text(answer.option.label)) if answer.option else None)
        self._publish(QuestionAnswered(q, shown, waited, asked))
        return answer


def _with(request: Request, **changes: object) -> Request:
    return replace(request, **changes)  # type: ignore[arg-type]
