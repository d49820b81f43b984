"""The built-in demo: a scratch repository and a plan of shell tasks that shows the whole loop offline.

Five tasks, two of them depending on others, several running at once, each printing a steady stream
of log lines and changing files; ``tests`` fails on its first attempt and succeeds on the automatic
retry. At its own pace the run takes about a minute, time for a newcomer to pause a task, write to it
and cancel one; ``fast`` is the pace of a quick look (about ten seconds).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import git

PLAN_NAME = "cockpit-demo.toml"

STEP_SECONDS = 1.1  # between two lines of a task: the whole run lasts about a minute
FAST_STEP_SECONDS = 0.15

_STREAM = r'''
step() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; sleep "${DEMO_DELAY:-PACE}"; }
'''

DEMO_PLAN = r"""# The demo plan of Session Cockpit: shell agents that stream, change files, depend on each other.
max_parallel = 3

[[task]]
id = "wordcount"
title = "Add a word counter"
agent = "shell"
timeout = "2m"
prompt = '''
STEP
for i in $(seq 1 24); do step "reading chunk $i/24 of the corpus"; done
cat >> textstats.py <<'PY'


def word_count(text: str) -> int:
    # The number of words in text, split on white space.
    return len(text.split())
PY
step "wrote word_count() to textstats.py"
'''

[[task]]
id = "docs"
title = "Write the usage guide"
agent = "shell"
timeout = "2m"
prompt = '''
STEP
mkdir -p docs
for i in $(seq 1 18); do step "drafting section $i of the guide"; done
printf '# Usage\n\nRun `python -m textstats FILE` to print its statistics.\n' > docs/usage.md
step "wrote docs/usage.md"
'''

[[task]]
id = "lint"
title = "Tidy the module header"
agent = "shell"
timeout = "2m"
prompt = '''
STEP
for i in $(seq 1 14); do step "checking rule E$((100 + i))"; done
sed -i '1s/Text statistics\./Text statistics: lines, words and characters of a text./' textstats.py
step "rewrote the module docstring"
'''

[[task]]
id = "tests"
title = "Test the word counter"
agent = "shell"
depends_on = ["wordcount"]
retries = 2
timeout = "2m"
prompt = '''
STEP
for i in $(seq 1 10); do step "collecting cases ($i/10)"; done
if [ "$COCKPIT_ATTEMPT" = "1" ]; then
  echo "error: the test runner lost its connection (attempt $COCKPIT_ATTEMPT); giving up" >&2
  exit 1
fi
mkdir -p tests
cat > tests/test_textstats.py <<'PY'
from textstats import word_count


def test_word_count():
    assert word_count("one two  three") == 3
PY
step "wrote tests/test_textstats.py"
'''

[[task]]
id = "changelog"
title = "Record the changes"
agent = "shell"
depends_on = ["docs", "tests"]
timeout = "2m"
prompt = '''
STEP
for i in $(seq 1 8); do step "summarising commit $i"; done
printf '# Changelog\n\n- word_count() with tests\n- a usage guide\n' > CHANGELOG.md
step "wrote CHANGELOG.md"
'''
""".replace("STEP", _STREAM.strip())

_FILES = {
    "textstats.py": '"""Text statistics."""\n\n\ndef line_count(text: str) -> int:\n'
                    '    """The number of lines in text."""\n    return len(text.splitlines())\n',
    "README.md": "# textstats\n\nA tiny library the Session Cockpit demo works on.\n",
}


def make_demo_repo(parent: Path | None = None, step_seconds: float = STEP_SECONDS) -> Path:
    """A fresh git repository holding a tiny project and the demo plan (its tasks pausing
    ``step_seconds`` between two lines; ``DEMO_DELAY`` in the environment wins); its path."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="cockpit-demo-" + time.strftime("%Y%m%d-%H%M%S-"), dir=parent))
    for name, text in _FILES.items():
        (root / name).write_text(text)
    (root / PLAN_NAME).write_text(DEMO_PLAN.replace("PACE", f"{step_seconds:g}"))
    with git.Repo.init(root, initial_branch="main") as repo:
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "Cockpit Demo")
            cfg.set_value("user", "email", "demo@cockpit.invalid")
        repo.git.add("--all")
        repo.git.commit("--quiet", "-m", "A tiny text statistics library")
    return root
