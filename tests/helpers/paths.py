"""Where the tests' own files are: the repository root, the tests folder, its data and fake agents."""
from __future__ import annotations

from pathlib import Path

HELPERS = Path(__file__).resolve().parent
TESTS = HELPERS.parent
ROOT = TESTS.parent
DATA = TESTS / "data" / "summaries"
FAKE_AGENTS = HELPERS / "fake_agents"
