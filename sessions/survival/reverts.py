"""Commits that revert a part of a session's work (:func:`find_reverts`).

Three kinds, each listed with how it was told:

* ``message``: its message says "This reverts commit <sha>" of one of the part's commits or of a
  copy of one (what ``git revert`` writes);
* ``patch-id``: its patch is the exact inverse of one of the part's commits;
* ``by hand``: it removes at least half of the lines the part added (by content), and those make
  up at least half of what it removes. Looked for only where lines of the part are gone.
"""

from __future__ import annotations

import re
from typing import Any

from sessions.survival.results import PartSurvival, RevertingCommit

__all__ = ["find_reverts"]

_REVERTS = re.compile(r"This reverts commit ([0-9a-fA-F]{7,64})")


def find_reverts(run: Any, s: Any, head: str, results: list[PartSurvival]) -> list[RevertingCommit]:
    """The commits in ``head``'s history reverting one of the session's parts whose lines can stick
    (``run.counted``); each part's result gets its own list, the session the union."""
    by_key = {r.key: r for r in results}
    log = run.log
    if head not in log.position:
        return []
    history = [c for c in log.history(head) if len(c.parents) < 2]
    ids = run.patch_ids()
    found: dict[str, RevertingCommit] = {}
    for part in run.counted(s, None):
        result = by_key[part.key]
        commits = set(part.fp.commits)
        _, _, mapped = run.attribution(part, head)
        stands_for = {**{c: c for c in commits}, **{copy: orig for orig, copy in mapped.items()}}
        inverse = {pid: c for c, pid in part.fp.reverse_patch_ids.items()}
        names = set(part.fp.files)
        first = min((log.by_sha[c].time for c in commits if c in log.by_sha), default=part.fp.start_time or 0)
        candidates = [
            c for c in history
            if c.sha not in stands_for and c.time >= first and any(p in names for p in c.paths)
        ]
        mine: list[RevertingCommit] = []
        messages = log.messages(c.sha for c in candidates)
        for c in candidates:
            refs = [ref.lower() for ref in _REVERTS.findall(messages[c.sha])]
            hit = sorted({orig for k, orig in stands_for.items() for ref in refs if k.startswith(ref)})
            if hit:
                mine.append(RevertingCommit(c.sha, hit, "message"))
            elif ids.get(c.sha) in inverse:
                mine.append(RevertingCommit(c.sha, [inverse[ids[c.sha]]], "patch-id"))
        if result.surviving < result.added:  # by hand: only where lines of the part are gone
            told = {r.sha for r in mine}
            rest = [c.sha for c in candidates if c.sha not in told]
            for sha, (_added, removed) in run.patches(rest).items():
                overlap = sum(min(n, part.wanted[h]) for h, n in removed.items() if h in part.wanted)
                if overlap and 2 * overlap >= result.added and 2 * overlap >= sum(removed.values()):
                    mine.append(RevertingCommit(sha, sorted(commits), "by hand"))
        result.reverting = mine
        for r in mine:
            found.setdefault(r.sha, r)
    return sorted(found.values(), key=lambda r: log.arrival.get(r.sha, 0))
