"""The house rules on imports, read from the source: the wings import one way (tui -> sessions -> engine),
no two modules import each other through any chain (a circle), and the command line imports no Textual."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers.paths import ROOT


WINGS = ("engine", "sessions", "tui")
RANK = {"engine": 0, "sessions": 1, "tui": 2}
# Inside sessions the rooms import one way too: a room may import those before it, never one after.
SESSION_ROOMS = ("store", "git", "survival", "summary", "reports")


def _modules() -> dict[str, Path]:
    found = {}
    for wing in WINGS:
        for path in (ROOT / wing).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's imports of other modules of the three wings (any import, lazy ones included)."""
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in names:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and modules[target].name != "__init__.py":
                    targets.add(target)
        edges[name] = targets
    return edges


EDGES = _imports(_modules())


def test_wings_import_one_way() -> None:
    wrong = [f"{m} imports {t}" for m, targets in EDGES.items() for t in targets
             if RANK[t.split(".")[0]] > RANK[m.split(".")[0]]]
    assert wrong == []


def test_session_rooms_import_one_way() -> None:
    def room(module: str) -> int | None:
        parts = module.split(".")
        return SESSION_ROOMS.index(parts[1]) if parts[0] == "sessions" and len(parts) > 2 and parts[1] in SESSION_ROOMS else None

    wrong = [f"{m} imports {t}" for m, targets in EDGES.items() for t in targets
             if room(m) is not None and room(t) is not None and room(t) > room(m)]
    assert wrong == []


def test_no_import_circles() -> None:
    # Tarjan's strongly connected components: any component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(EDGES[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(EDGES):
        if v not in index:
            visit(v)
    assert circles == []


def test_no_mixins_in_the_engine() -> None:
    """The engine is made of parts it holds: its classes inherit from no class of the engine's own."""
    own_classes = set()
    trees = {}
    for path in (ROOT / "engine").rglob("*.py"):
        trees[path] = ast.parse(path.read_text(encoding="utf-8"))
        own_classes |= {n.name for n in ast.walk(trees[path]) if isinstance(n, ast.ClassDef)}
    mixed = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == "Engine":
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                mixed += [f"{node.name}({b})" for b in bases if b in own_classes]
    assert mixed == []


def test_the_command_line_imports_no_textual() -> None:
    code = ("import sys, pkgutil, importlib, tui.cli\n"
            "for m in pkgutil.iter_modules(tui.cli.__path__):\n"
            "    if m.name != '__main__': importlib.import_module('tui.cli.' + m.name)\n"
            "print(sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
