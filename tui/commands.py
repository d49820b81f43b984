"""The command palette (Ctrl+P): every action of the screen it was opened on, found by name.

Commands are made from the bindings the screen and the app declare (``tui.bindings``), so a new
key is a new command, and the palette shows the key in force (after the user's keymap).
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


def declared_bindings(node: DOMNode) -> list[Binding]:
    """The bindings with an id that ``node``'s class (and its bases) declare, first declaration first."""
    found: list[Binding] = []
    seen: set[str] = set()
    for cls in type(node).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id and binding.id not in seen:
                seen.add(binding.id)
                found.append(binding)
    return found


class CockpitCommands(Provider):
    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """(name, help, callback) for each action of the screen the palette was opened on, and the app's."""
        screen, app = self.screen, self.app
        active = {ab.binding.id: ab.binding for ab in screen.active_bindings.values() if ab.binding.id}
        for node in (screen, app):
            for binding in declared_bindings(node):
                current = active.get(binding.id, binding)
                key = app.get_key_display(current)
                yield f"{binding.description} ({key})", binding.tooltip, partial(node.run_action, binding.action)

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = max(matcher.match(name), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
