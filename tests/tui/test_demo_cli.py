"""``cockpit demo``: its help offers only what it uses, and its pace (about a minute, ``--fast`` for a
quick look)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.demo import FAST_STEP_SECONDS, PLAN_NAME, STEP_SECONDS, make_demo_repo
from engine.plan import load_plan
from engine.profiles import ProfileSet
from tests.helpers.cli import cli


def test_demo_help_offers_no_flag_it_ignores(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli(capsys, "demo", "--help")
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--fast" in out and "--db" in out and "--headless" in out
    assert "--repo" not in out and "--max-parallel" not in out
    with pytest.raises(SystemExit) as done:
        cli(capsys, "demo", "--repo", ".")
    assert done.value.code == 2 and "unrecognized arguments: --repo" in capsys.readouterr().err


@pytest.mark.parametrize("step", [STEP_SECONDS, FAST_STEP_SECONDS])
def test_the_demo_plan_is_paced(tmp_path: Path, step: float) -> None:
    root = make_demo_repo(tmp_path, step_seconds=step)
    text = (root / PLAN_NAME).read_text()
    assert f'sleep "${{DEMO_DELAY:-{step:g}}}"' in text
    plan = load_plan(root / PLAN_NAME, ProfileSet(), {})
    # the longest chain of steps: wordcount, tests (twice: it fails once), changelog
    steps = {t.id: int(re.search(r"seq 1 (\d+)", t.prompt)[1]) + 1 for t in plan.tasks}
    chain = steps["wordcount"] + 2 * steps["tests"] + steps["changelog"]
    assert 45 <= chain * STEP_SECONDS <= 90  # about a minute at the demo's own pace
    assert chain * FAST_STEP_SECONDS <= 15
