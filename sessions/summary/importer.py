"""Bringing existing summary files (``Summary/summaryYYYYMMDD.N.md``) into the store.

Each file becomes a session of the repository with its summary as written. The outcome a file gives
for its previous session becomes that session's assessment, so the human work rate covers the
imported history too. A file that is not in the format is reported with the reason; the others are
still imported. Importing the same session twice changes nothing. A session whose start and end
commits are in the repository gets its fingerprint (for the survival measure) as it is imported.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sessions.survival.recorded import take_fingerprint
from sessions.store.store import Store
from sessions.store.db import SessionExists
from sessions.store.rows import repo_key, session_label
from sessions.summary.model import SessionSummary
from sessions.summary.parse import SummaryFormatError, load_summary

_PREVIOUS = [
    re.compile(r"summary(\d{4})(\d{2})(\d{2})\.(\d+)\.md"),
    re.compile(r"(\d{4})-(\d{2})-(\d{2})\s+Session\s+(\d+)", re.IGNORECASE),
]
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass
class ImportReport:
    imported: list[tuple[Path, str]] = field(default_factory=list)  # (file, label)
    already: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line each, naming the file and the reason


def summary_files(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The Markdown files named or inside the folders named; and the paths that are neither."""
    files: list[Path] = []
    missing: list[str] = []
    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.md") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(f"{path}: no such file or folder")
    return files, missing


async def import_summaries(store: Store, paths: list[str], repo: Path) -> ImportReport:
    report = ImportReport()
    files, report.failed = summary_files(paths)
    parsed: list[tuple[Path, SessionSummary]] = []
    for path in files:
        try:
            summary = load_summary(path)
        except SummaryFormatError as exc:
            report.failed.append(str(exc))
            continue
        if summary.date is None or summary.day_number is None:
            report.failed.append(f"{path}: no date or session number (in the title or the file name)")
            continue
        parsed.append((path, summary))
    # oldest first, so a file's "previous session" is already in the store when it is read
    parsed.sort(key=lambda item: (item[1].date, item[1].day_number))
    for path, summary in parsed:
        await _import_one(store, path, summary, repo, report)
    return report


async def _import_one(store: Store, path: Path, s: SessionSummary, repo: Path, report: ImportReport) -> None:
    assert s.date is not None and s.day_number is not None
    label = session_label(s.date.isoformat(), s.day_number)
    key = f"{repo_key(repo)}#{label}"
    if await store.find_import(key) is not None:
        report.already.append((path, label))
        return
    day_start = dt.datetime.combine(s.date, dt.time())
    try:
        session_id = await store.import_session(
            import_key=key, repo_path=repo, date=s.date, day_number=s.day_number,
            objective=s.objective, status=s.status or "complete",
            start_commit=s.start_commit or None, end_commit=s.end_commit or None,
            summary=s.to_dict(), started_at=day_start.timestamp(),
            interventions=[(_at(day_start, i.when), i.type, i.what) for i in s.interventions],
        )
    except SessionExists:
        report.already.append((path, label))
        return
    report.imported.append((path, label))
    # Its fingerprint, when its commits are in the repository (else it is left without one).
    await take_fingerprint(store, session_id, repo, s.start_commit or None, s.end_commit or None)
    if s.previous_outcome is not None and s.previous_session:
        previous = await _find_previous(store, repo, s.previous_session)
        if previous is not None and await store.outcome(previous) is None:
            await store.add_assessment(previous, s.previous_outcome, f"from {path.name}",
                                       at=day_start.timestamp())


async def _find_previous(store: Store, repo: Path, text: str) -> int | None:
    for pattern in _PREVIOUS:
        m = pattern.search(text)
        if m:
            row = await store.get_session(f"{m[1]}{m[2]}{m[3]}.{int(m[4])}", repo)
            return row.id if row else None
    return None


def _at(day_start: dt.datetime, when: str) -> float:
    m = _CLOCK.search(when or "")
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return day_start.timestamp()
    return day_start.replace(hour=int(m[1]), minute=int(m[2])).timestamp()
