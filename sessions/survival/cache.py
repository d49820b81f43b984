"""Where the survival measure keeps its results, keyed by (start sha or "", end sha, head sha)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from sessions.survival.results import SurvivalResult

__all__ = ["DictCache", "JsonFileCache", "SurvivalCache"]


class SurvivalCache(Protocol):
    """Where measured results are kept, keyed by (start sha or "", end sha, head sha)."""

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None: ...

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None: ...


class DictCache:
    """In memory."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], SurvivalResult] = {}

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None:
        return self.data.get(key)

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None:
        self.data[key] = result


class JsonFileCache:
    """A JSON file (read once, rewritten on every put); until the database holds these results."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.data: dict[str, dict[str, Any]] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.data = loaded
        except (OSError, ValueError):
            pass

    @staticmethod
    def _key(key: tuple[str, str, str]) -> str:
        return " ".join(key)

    def get(self, key: tuple[str, str, str]) -> SurvivalResult | None:
        found = self.data.get(self._key(key))
        if found is None:
            return None
        try:
            return SurvivalResult.from_dict(found)
        except (TypeError, ValueError, KeyError):
            return None

    def put(self, key: tuple[str, str, str], result: SurvivalResult) -> None:
        self.data[self._key(key)] = result.to_dict()
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
