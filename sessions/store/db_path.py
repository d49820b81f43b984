"""Where the store lives: ``--db`` if given, else ``COCKPIT_DB``, else the user data dir."""
from __future__ import annotations

import os
from pathlib import Path

from engine.paths import data_dir, private_dir

ENV_VAR = "COCKPIT_DB"
FILE_NAME = "cockpit.db"


def default_db_path() -> Path:
    """``$COCKPIT_DB`` if set, else ``<user data dir>/cockpit/cockpit.db`` (the data dir made 0700)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return private_dir(data_dir()) / FILE_NAME


def resolve_db_path(cli_value: str | None) -> Path:
    """The database file to use: an explicit ``--db`` wins over ``COCKPIT_DB`` and the default."""
    if cli_value:
        return Path(cli_value).expanduser()
    return default_db_path()
