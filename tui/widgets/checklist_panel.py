"""The completeness checklist of the summary form, three groups and the score line, redrawn live."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sessions.summary.completeness import GROUPS, Completeness

SHORT_LABELS = {
    "metadata": "Metadata complete",
    "objective": "Objective: one clear sentence",
    "deliverables": "Work completed: deliverables",
    "files_table": "Files changed table",
    "end_commit": "End commit",
    "status": "Status: complete/blocked/...",
    "previous": "Previous session assessed",
    "interventions": "Interventions (or none)",
    "rating": "Rating 1-5",
    "worked": "What worked / didn't",
    "technical": "Technical notes",
    "priorities": "Next priorities",
}
GROUP_TITLES = {"cockpit": "Required (cockpit)", "human": "Required (you)", "optional": "Optional"}


def checklist_text(comp: Completeness) -> Text:
    text = Text()
    for n, group in enumerate(GROUPS):
        done, total = comp.count(group)
        if n:
            text.append("\n")
        text.append(f"{GROUP_TITLES[group]}  {done}/{total}\n", style="bold")
        for line in comp.group(group):
            text.append(" ✔ " if line.done else " ✘ ", style="green" if line.done else "red")
            text.append(SHORT_LABELS[line.key] + "\n", style="" if line.done else "dim")
    return text


class ChecklistPanel(Static):
    """Shows a :class:`Completeness`; ``score`` is its score line as the Markdown file writes it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.score = ""

    def show(self, comp: Completeness) -> None:
        self.score = comp.score_line()
        text = checklist_text(comp)
        text.append("\n")
        text.append("Completeness Score\n", style="bold")
        text.append(self.score)
        self.update(text)
