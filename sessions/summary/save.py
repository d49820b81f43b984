"""Saving a session's summary from the form: the draft as it is typed, and the final save.

The final save writes the database (no longer a draft), the session's status when the developer
changed it, the previous session's outcome when the form gives one the store did not have, and the
Markdown file ``summaryYYYYMMDD.N.md`` in the repository's summary folder (``[summary] folder`` of
``cockpit.toml``; none when it is ``false``). A file that exists with other content is never replaced
silently: it is replaced only when it holds exactly what the cockpit wrote for the previously saved
summary (an edit of our own file); otherwise it is kept, the database still gets the summary, and
the result says how to replace it (``cockpit export LABEL -o FILE --force``). The SHA-256 of the file
last written is kept with the summary (``FILE_KEY``, carried over by every draft), so a later edit
knows the file is still the cockpit's own.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from sessions.settings import SessionSettings
from sessions.store.store import Store
from sessions.store.rows import SessionRow
from sessions.summary.model import SessionSummary
from sessions.summary.builder import previous_session
from sessions.summary.export import export_markdown, summary_filename
from sessions.summary.work_rate import HumanWorkRate, human_work_rate

ENDED = ("complete", "blocked", "abandoned")
FILE_KEY = "file_sha256"  # beside the summary's fields in the store: the file the cockpit last wrote


@dataclass(frozen=True)
class SavedSummary:
    row: SessionRow  # the session after the save
    summary: SessionSummary  # what was saved
    written: Path | None = None  # the Markdown file written (or already holding this text)
    kept: Path | None = None  # an existing, different file left as it was
    problem: str = ""  # why the file could not be written
    rate: HumanWorkRate | None = None

    def messages(self) -> list[str]:
        """What the developer should read, one line each."""
        out = [f"Summary of session {self.row.label} saved in the database."]
        if self.written is not None:
            out.append(f"Written to {self.written}.")
        elif self.kept is not None:
            out.append(f"{self.kept} exists and differs: the file was kept. Replace it with: "
                       f"cockpit export {self.row.label} -o {self.kept} --force")
        elif self.problem:
            out.append(self.problem)
        return out


def markdown_of(summary: SessionSummary) -> str:
    """The file's text: an imported summary nobody edited keeps the checklist its file ticked."""
    return export_markdown(summary, checklist="recorded" if summary.checklist is not None else "computed")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def save_draft(store: Store, session_id: int, summary: SessionSummary) -> None:
    """Keep what the form holds now as the session's draft."""
    data = summary.to_dict()
    old = await store.get_summary(session_id)
    if old is not None and old[0].get(FILE_KEY):
        data[FILE_KEY] = old[0][FILE_KEY]
    await store.save_summary(session_id, data, draft=True)


def _write_file(path: Path, text: str, ours: str | None) -> tuple[Path | None, Path | None, str]:
    """(written, kept, problem); ``ours`` is the SHA-256 of the text the cockpit wrote there last."""
    try:
        if path.exists():
            current = path.read_text(encoding="utf-8", errors="replace")
            if current == text:
                return path, None, ""
            if ours is None or _sha(current) != ours:
                return None, path, ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        return None, None, f"Could not write {path}: {exc.strerror or exc}."
    return path, None, ""


async def save_final(store: Store, row: SessionRow, summary: SessionSummary,
                     settings: SessionSettings) -> SavedSummary:
    """Save ``summary`` as the session's summary (see the module docstring)."""
    old = await store.get_summary(row.id)
    summary = replace(summary, checklist=None)  # edited in the form: the checklist is the computed one
    ours: str | None = None
    if old is not None:
        ours = old[0].get(FILE_KEY)
        if ours is None and not old[1]:  # saved before the key existed (or imported)
            ours = _sha(markdown_of(SessionSummary.from_dict(old[0])))
    written = kept = None
    problem = ""
    folder = settings.summary_dir(row.repo)
    text = markdown_of(summary)
    if folder is not None and summary.date is not None and summary.day_number is not None:
        path = folder / summary_filename(summary)
        written, kept, problem = await asyncio.to_thread(_write_file, path, text, ours)
    data = summary.to_dict()
    if written is not None:
        data[FILE_KEY] = _sha(text)
    elif ours is not None and old is not None and old[0].get(FILE_KEY):
        data[FILE_KEY] = ours
    await store.save_summary(row.id, data, draft=False)
    if summary.status in ENDED and row.status not in ("active", summary.status):
        await store.set_status(row.id, summary.status)
    previous = await previous_session(store, row)
    if previous is not None and summary.previous_outcome and summary.previous_outcome != previous.outcome:
        await store.add_assessment(previous.id, summary.previous_outcome,
                                   f"given in the summary of session {row.label}")
    after = await store.get_session(row.id)
    rate = human_work_rate(await store.list_sessions(row.repo))
    return SavedSummary(after or row, summary, written, kept, problem, rate)
