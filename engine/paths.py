"""The cockpit's folders in the user's home, in one place: where data (the store, worktrees, plans) and
configuration (cockpit.toml, the keymap) live, by the platform's conventions (platformdirs)."""
from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "cockpit"


def data_dir() -> Path:
    """The user data folder (not created here)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    """The user cache folder (not created here): what can be made again, such as kept blames."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


def config_dir() -> Path:
    """The user config folder (not created here)."""
    return Path(platformdirs.user_config_dir(APP_NAME))


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) readable by the user only (0700) if it does not exist yet."""
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path
