"""The session's rating, 1 to 5 stars: one key each (1-5) while it has the focus, or anywhere on the form."""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class RatingField(Widget, can_focus=True):
    value: reactive[int | None] = reactive(None, init=False)

    class Changed(Message):
        def __init__(self, field: RatingField, value: int | None) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> RatingField:
            return self.field

    def __init__(self, value: int | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(RatingField.value, value)

    def render(self) -> Text:
        n = self.value or 0
        text = Text()
        text.append("★" * n, style="bold yellow")
        text.append("☆" * (5 - n), style="dim")
        text.append(f"  {n}/5" if n else "  not rated yet: press 1-5", style="" if n else "italic")
        return text

    def watch_value(self, value: int | None) -> None:
        self.post_message(self.Changed(self, value))
