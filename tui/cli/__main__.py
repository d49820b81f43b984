"""``python -m tui.cli``: the ``cockpit`` command, for when its script is not on PATH."""
import sys

from tui.cli.main import main

sys.exit(main())
