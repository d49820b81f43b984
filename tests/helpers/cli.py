"""The ``cockpit`` command line run inside the test's process."""
from __future__ import annotations

import pytest


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``cockpit ARGS`` run in this process: (exit code, stdout, stderr)."""
    from tui.cli.main import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
