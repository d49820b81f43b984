"""Pending assessments, the human work rate, and `cockpit assess`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sessions.reports.assessment import pending_sessions
from sessions.store.store import Store
from sessions.summary.work_rate import human_work_rate
from tui.cli.main import main

DAY = 86400.0


async def _sessions(store: Store, repo: Path, n: int) -> list[int]:
    ids = []
    for i in range(n):
        row = await store.create_session(repo, f"objective {i}", "abc", date=f"2026-03-0{i + 1}")
        await store.end_session(row.id, "complete", "def")
        ids.append(row.id)
    return ids


async def test_pending_sessions_newest_first_and_too_early_comes_back(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    store = await Store.open(tmp_path / "c.db")
    try:
        a, b, c, d = await _sessions(store, repo, 4)
        now = time.time()
        await store.add_assessment(a, "fully")
        await store.add_assessment(b, "too-early", at=now - 4 * DAY)  # old enough: asked again
        await store.add_assessment(c, "too-early", at=now - 1 * DAY)  # too recent: not yet
        active = await store.create_session(repo, "now", "abc", date="2026-03-09")
        pending = await pending_sessions(store, str(repo), exclude=active.id, now=now)
        assert [p.row.id for p in pending] == [d, b]
        assert [p.asked_before for p in pending] == [False, True]
        # the age is configurable
        pending = await pending_sessions(store, str(repo), too_early_days=0.5, now=now)
        assert [p.row.id for p in pending] == [d, c, b]
    finally:
        await store.close()


async def test_human_work_rate_counts_only_valued_outcomes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    store = await Store.open(tmp_path / "c.db")
    try:
        ids = await _sessions(store, repo, 5)
        for sid, outcome in zip(ids, ["fully", "partially", "not-used", "too-early", "na"]):
            await store.add_assessment(sid, outcome)
        rate = human_work_rate(await store.list_sessions(repo))
        assert rate.all_time.value == pytest.approx(0.5) and rate.all_time.count == 3
        recent = human_work_rate(await store.list_sessions(repo), recent=2)
        # newest first: na (excluded), too-early (excluded), not-used 0.0, partially 0.5
        assert recent.recent.value == pytest.approx(0.25) and recent.recent.count == 2
        assert human_work_rate([]).all_time.value is None
    finally:
        await store.close()


def test_assess_command(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    (repo / "plan.toml").write_text('[[task]]\nid = "a"\nagent = "shell"\nprompt = "true"\n')
    assert main(["run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db]) == 0
    capsys.readouterr()
    code = main(["sessions", "--json", "--repo", str(repo), "--db", db])
    label = json.loads(capsys.readouterr().out)[0]["label"]
    assert main(["assess", label, "partially", "--note", "reworked", "--repo", str(repo), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "50% over 1 session" in out
    main(["sessions", "--json", "--repo", str(repo), "--db", db])
    assert json.loads(capsys.readouterr().out)[0]["outcome"] == "partially"
    with pytest.raises(SystemExit) as bad:  # argparse: one line, exit 2
        main(["assess", label, "sometimes", "--repo", str(repo), "--db", db])
    assert bad.value.code == 2
    assert main(["assess", "20990101.1", "fully", "--repo", str(repo), "--db", db]) == 2
    assert code == 0


def test_session_settings_in_cockpit_toml_reach_run_and_refuse_bad_values(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.db")
    (repo / "plan.toml").write_text('[[task]]\nid = "a"\nagent = "shell"\nprompt = "true"\n')
    (repo / "cockpit.toml").write_text('[assessment]\ntoo_early_days = 2\n\n[summary]\nfolder = "Notes"\n')
    assert main(["run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db]) == 0
    capsys.readouterr()
    (repo / "cockpit.toml").write_text('[assessment]\ntoo_early_days = "later"\n')
    assert main(["run", str(repo / "plan.toml"), "--headless", "--repo", str(repo), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cockpit.toml: [assessment] too_early_days must be a number of days" in err


def test_objective_check() -> None:
    from sessions.objective import check_objective

    assert check_objective("  ").level == "error"
    assert check_objective("Add the CSV export to the report command") is None
    assert check_objective("Add the export. Then fix the report").level == "warning"
    assert check_objective("Add the export\nand the report").level == "warning"
    long = check_objective(" ".join(["word"] * 26))
    assert long is not None and long.level == "warning" and "26 words" in long.message
    assert check_objective(" ".join(["word"] * 25)) is None
