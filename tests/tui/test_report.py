"""``cockpit report``: JSON, CSV, Markdown and the terminal table, on the database of
tests/helpers/history_data.py (real runs, decisions, assessments, imported summaries, saved survival)."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import cli
from tests.helpers.repos import make_git_repo
from tests.helpers.history_data import DATA, Built, build, isolate
from sessions.reports.history import ROW_COLUMNS
from tui.cli.main import main

I1, I2 = "20260304.2", "20260306.1"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base / "_home")
        return build(base)


def report(capsys: pytest.CaptureFixture[str], built: Built, *args: str) -> str:
    code, out, err = cli(capsys, "report", "--repo", str(built.repo), "--db", built.db, *args)
    assert code == 0, err
    return out


def test_json(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(capsys, built, "--json"))
    assert set(data) >= {"sessions", "totals", "agents"}
    sessions = data["sessions"]
    assert [s["label"] for s in sessions] == [built.labels[k] for k in ("D", "C", "B", "A", I2, I1)]
    assert all(list(s) == list(ROW_COLUMNS) for s in sessions)
    by_label = {s["label"]: s for s in sessions}
    a = by_label[built.labels["A"]]
    assert (a["ewr_git"], a["survival_added"], a["survival_surviving"], a["interventions"]) == (0.6, 10, 6, 4)
    assert (a["accepted"], a["discarded"], a["tasks"], a["rating"], a["outcome"]) == (2, 1, 3, 5, "fully")
    assert by_label[built.labels["B"]]["disagreement"] is True
    assert by_label[I2]["ewr_git"] is None and by_label[I2]["outcome"] is None  # null, not measured

    t = data["totals"]
    assert (t["ewr_human"], t["ewr_human_count"], t["ewr_human_last_10"], t["ewr_human_last_10_count"]) == (
        0.75, 4, 0.75, 4)
    assert t["ewr_git"] == pytest.approx(21 / 29) and t["ewr_git_count"] == 4
    assert (t["sessions"], t["disagreements"]) == (6, 2)

    agents = {a["agent"]: a for a in data["agents"]}
    assert agents["careful"]["survival"] == pytest.approx(0.6)
    assert agents["hasty"]["cost_per_surviving_line"] == pytest.approx(0.0369 / 6.5)
    assert agents["shell"]["cost_per_surviving_line"] is None
    assert agents["codex"]["accepted_share"] is None
    for key in ("tasks", "accepted_share", "survival", "interventions_per_task", "cost_per_surviving_line"):
        assert key in agents["careful"]


def test_json_has_nulls_where_nothing_is_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_git_repo(tmp_path / "fresh")
    db = str(tmp_path / "fresh.db")
    assert cli(capsys, "import", str(DATA / "summary20260306.1.md"), "--repo", str(repo), "--db", db)[0] == 0
    code, out, _ = cli(capsys, "report", "--json", "--repo", str(repo), "--db", db)
    data = json.loads(out)
    t = data["totals"]
    assert (t["ewr_human"], t["ewr_human_count"], t["ewr_git"], t["ewr_git_count"]) == (None, 0, None, 0)
    assert t["ewr_human_last_10"] is None and t["cost_per_surviving_line"] is None
    assert data["agents"] == [] and len(data["sessions"]) == 1
    code, out, _ = cli(capsys, "report", "--repo", str(repo), "--db", db)
    assert "no assessed sessions yet" in out and "no session measured yet" in out


def test_csv_is_the_sessions_table(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, built, "--csv")
    lines = out.splitlines()
    assert lines[0] == ",".join(ROW_COLUMNS)
    assert len(lines) == 1 + 6  # a header, one line per session, nothing else
    records = list(csv.DictReader(io.StringIO(out)))
    by_label = {r["label"]: r for r in records}
    a = by_label[built.labels["A"]]
    assert (a["ewr_git"], a["survival_added"], a["disagreement"], a["outcome"]) == ("0.6", "10", "false", "fully")
    assert by_label[I2]["ewr_git"] == "" and by_label[I2]["cost_usd"] == "1.37"
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--help"])
    assert exit_.value.code == 0
    assert "sessions table only" in " ".join(capsys.readouterr().out.split())


def test_markdown(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, built, "--markdown")
    assert out.startswith("# Session Cockpit report\n")
    heads = [line for line in out.splitlines() if line.startswith("## ")]
    assert heads == ["## Totals", "## Sessions", "## Agents", "## Disagreements"]
    totals, rest = out.split("## Sessions")
    sessions, rest = rest.split("## Agents")
    agents, disagreements = rest.split("## Disagreements")
    assert "| EWR (human), all time | 75% over 4 sessions |" in totals
    assert "| EWR (git) | 72% of 29 lines over 4 sessions measured |" in totals
    assert sum(line.startswith("| 2026") for line in sessions.splitlines()) == 6
    assert f"| {built.labels['B']} ⚠ |" in sessions and f"| {built.labels['A']} |" in sessions
    agent_lines = {line.split(" | ")[0].strip("| "): line for line in agents.splitlines() if line.startswith("| ")}
    assert set(agent_lines) >= {"careful", "hasty", "shell", "codex"}
    assert "| 60% |" in agent_lines["careful"] and "| 87% |" in agent_lines["hasty"]
    marked = [line for line in disagreements.splitlines() if line.startswith("- **")]
    assert [m.split("**")[1] for m in marked] == [built.labels["C"], built.labels["B"]]
    assert "outcome not-used, 100% of 5 lines surviving" in marked[0]


def test_text_table(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    out = report(capsys, built)
    lines = out.splitlines()
    assert lines[0] == f"6 sessions in {built.repo.resolve()}"
    assert lines[1] == "EWR(human): 75% over 4 sessions; last 10: 75% over 4 sessions"
    assert lines[2] == "EWR(git):   72% of 29 lines over 4 sessions measured"
    row = next(line for line in lines if line.startswith(built.labels["B"]))
    assert row.split()[:3] == [built.labels["B"], "!", "complete"]
    assert any(line.startswith("! the outcome and git disagree") for line in lines)
    d = next(line for line in lines if line.startswith(built.labels["D"]))
    assert d.split()[:4] == [built.labels["D"], "blocked", "-", "pending"] and " ? " in d  # no cost known
    header = next(line for line in lines if line.startswith("agent "))
    assert header.split()[:3] == ["agent", "tasks", "accepted"]


def test_since_filters_by_date(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(report(capsys, built, "--json", "--since", "2026-03-05"))
    assert I1 not in [s["label"] for s in data["sessions"]] and len(data["sessions"]) == 5
    # without 20260304.2 (fully, 9 of 10): EWR(human) 2/3 over 3, EWR(git) 12/19 over 3
    assert (data["totals"]["ewr_human"], data["totals"]["ewr_human_count"]) == (pytest.approx(2 / 3), 3)
    assert (data["totals"]["ewr_git"], data["totals"]["ewr_git_count"]) == (pytest.approx(12 / 19), 3)
    assert data["scope"]["since"] == "2026-03-05"
    out = report(capsys, built, "--csv", "--since", built.today)
    assert len(out.splitlines()) == 1 + 4


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026-02-30"])
def test_bad_since_is_one_line_and_exit_2(built: Built, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, out, err = cli(capsys, "report", "--since", bad, "--repo", str(built.repo), "--db", built.db)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--since" in err and bad in err and "Traceback" not in err


def test_all_repositories(built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "copy.db")
    shutil.copy(built.db, db)
    other = make_git_repo(tmp_path / "other")
    assert cli(capsys, "import", str(DATA / "summary20260304.2.md"), "--repo", str(other), "--db", db)[0] == 0
    code, out, _ = cli(capsys, "report", "--json", "--all", "--db", db)
    data = json.loads(out)
    assert len(data["sessions"]) == 7 and data["scope"]["repo"] is None
    assert sorted({s["repo"] for s in data["sessions"]}) == sorted({str(built.repo.resolve()), str(other.resolve())})
    code, out, _ = cli(capsys, "report", "--json", "--repo", str(other), "--db", db)
    assert [s["label"] for s in json.loads(out)["sessions"]] == [I1]
    code, out, _ = cli(capsys, "report", "--all", "--db", db)
    assert out.splitlines()[0] == "7 sessions in every repository"


def test_formats_are_exclusive_and_errors_one_line(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--json", "--csv", "--db", built.db])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "not allowed with" in err
    code, out, err = cli(capsys, "report", "--db", "/", "--repo", str(built.repo))
    assert code == 2 and err.count("\n") == 1 and "directory" in err


def test_report_does_not_import_textual() -> None:
    code = ("import sys, tui.cli.main, tui.cli.report, sessions.reports.history; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tokens_no_agent_reported_are_unknown_in_the_report_and_show(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A task whose agent reports no billed tokens counts as unknown, never as 0: the totals are a
    floor that says how many tasks are missing from it."""
    import asyncio

    from sessions.store.store import Store
    from tests.helpers.session_runs import record_mixed_usage

    repo = make_git_repo(tmp_path / "repo")
    db = tmp_path / "usage.db"

    async def record() -> int:
        store = await Store.open(db)
        try:
            return (await record_mixed_usage(store, str(repo))).id
        finally:
            await store.close()

    session_id = asyncio.run(record())
    code, out, err = cli(capsys, "report", "--json", "--repo", str(repo), "--db", str(db))
    assert code == 0, err
    data = json.loads(out)
    assert (data["totals"]["tokens"], data["totals"]["tokens_unknown"]) == (1256, 1)
    assert (data["sessions"][0]["tokens_unknown"], data["sessions"][0]["cost_complete"]) == (1, False)
    agents = {a["agent"]: a for a in data["agents"]}
    assert (agents["claude-acp"]["tokens"], agents["claude-acp"]["tokens_unknown"]) == (0, 1)
    assert agents["aider"]["tokens_unknown"] == 0
    out = cli(capsys, "report", "--repo", str(repo), "--db", str(db))[1]
    assert "tokens: ≥ 1,256 (1 task unknown);" in out
    out = cli(capsys, "report", "--markdown", "--repo", str(repo), "--db", str(db))[1]
    assert "| Tokens | ≥ 1,256 (1 task unknown) |" in out
    out = cli(capsys, "show", str(session_id), "--db", str(db))[1]
    assert "usage:     ≥ ~1,256 tokens (1 task unknown), $0.2500 (some costs unknown)" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("  task ")}
    assert "tokens unknown" in lines["a"] and "tokens ~1,256" in lines["b"] and "tokens -" in lines["c"]
