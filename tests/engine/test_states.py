"""Task states: every allowed transition passes, every other one raises (the full matrix)."""
from __future__ import annotations

import itertools

import pytest

from engine.states import TERMINAL, TRANSITIONS, InvalidTransition, TaskState

S = TaskState

# Written out here from the design, not copied from the engine, so that a change there shows.
ALLOWED = {
    (S.PENDING, S.READY), (S.PENDING, S.SKIPPED), (S.PENDING, S.CANCELLED),
    (S.READY, S.RUNNING), (S.READY, S.FAILED), (S.READY, S.CANCELLED), (S.READY, S.SKIPPED),
    (S.RUNNING, S.PAUSED), (S.RUNNING, S.SUCCEEDED), (S.RUNNING, S.FAILED),
    (S.RUNNING, S.TIMED_OUT), (S.RUNNING, S.CANCELLED), (S.RUNNING, S.BUDGET_EXCEEDED),
    (S.PAUSED, S.RUNNING), (S.PAUSED, S.FAILED), (S.PAUSED, S.TIMED_OUT), (S.PAUSED, S.CANCELLED),
    (S.PAUSED, S.BUDGET_EXCEEDED),
    (S.FAILED, S.RUNNING), (S.FAILED, S.READY),
    (S.TIMED_OUT, S.RUNNING), (S.TIMED_OUT, S.READY),
    (S.CANCELLED, S.READY),
    (S.SKIPPED, S.PENDING),
    (S.BUDGET_EXCEEDED, S.READY),  # a developer's retry only: never automatic
    (S.SUCCEEDED, S.READY),  # the developer's follow-up continues its conversation: never automatic
}
ALL_PAIRS = list(itertools.product(TaskState, TaskState))


def test_the_matrix_covers_every_state() -> None:
    assert len(ALL_PAIRS) == 100
    assert set(TRANSITIONS) == set(TaskState)


@pytest.mark.parametrize("old, new", sorted(ALLOWED), ids=lambda s: str(s))
def test_allowed_transition(old: TaskState, new: TaskState) -> None:
    assert new in TRANSITIONS[old]


@pytest.mark.parametrize("old, new", [p for p in ALL_PAIRS if p not in ALLOWED], ids=lambda s: str(s))
def test_every_other_transition_is_refused(old: TaskState, new: TaskState) -> None:
    assert new not in TRANSITIONS[old]
    err = InvalidTransition("task-7", old, new)  # what the engine raises for it
    assert (err.task_id, err.old, err.new) == ("task-7", old, new)
    assert str(err) == f"task 'task-7': invalid state transition {old.value} -> {new.value}"


def test_engine_table_matches_the_design() -> None:
    table = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}
    assert table == ALLOWED


def test_no_state_goes_to_itself() -> None:
    for state in TaskState:
        assert state not in TRANSITIONS[state]


def test_terminal_states() -> None:
    assert TERMINAL == {S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLED, S.SKIPPED, S.BUDGET_EXCEEDED}
    assert [s for s in TaskState if s.terminal] == [s for s in TaskState if s in TERMINAL]
    assert not S.RUNNING.terminal and not S.PAUSED.terminal and not S.PENDING.terminal
    assert TRANSITIONS[S.SUCCEEDED] == frozenset({S.READY})  # only the developer's follow-up reopens it


def test_state_shows_as_its_value() -> None:
    assert f"{S.TIMED_OUT}" == "timed_out"
    assert str(S.RUNNING) == "running"
    assert S("paused") is S.PAUSED
