"""Circuit breakers: a profile whose tasks keep failing for a reason outside the task stops taking tasks.

An attempt's failure is *external* when its agent says so (``AgentExit.failure_kind``, see
:data:`engine.agents.base.FAILURE_KINDS`): the program is missing (or, for an API profile, its key),
authentication failed, the service stayed rate-limited or overloaded after the SDK's own retries, or
the network is down. ``threshold`` external failures in a row (default 3; a profile's
``breaker_threshold``) open the profile's breaker:

- **open**: no new task starts on the profile. Tasks that would start on it are *held* (they wait, with a
  line in their pane saying why); a task that lets the engine choose (``agent = "auto"`` or a list) is
  routed to another available profile instead. After ``cooldown`` (default 5 minutes; a profile's
  ``breaker_cooldown``) the breaker goes
- **half-open**: one task starts on the profile, as a trial. An external failure opens the breaker again
  (for another cool-down); anything else closes it;
- **closed**: as usual. Any attempt on the profile that ran (succeeded, or failed for a reason of its own)
  resets the count of failures in a row; a success also closes an open breaker at once.

The developer can close an open breaker at any time (``Engine.reset_breaker(profile)``, a key in the
cockpit). Held tasks are unsettled: the run does not end while they wait. It cannot wait for ever:
every open breaker has a cool-down, after which a trial runs (or the developer resets or cancels).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 3
DEFAULT_COOLDOWN = 300.0
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass
class Breaker:
    profile: str
    threshold: int = DEFAULT_THRESHOLD
    cooldown: float = DEFAULT_COOLDOWN
    state: str = CLOSED
    failures: int = 0  # external failures in a row
    kind: str = ""  # of the last external failure
    reason: str = ""
    until: float | None = None  # wall time the cool-down ends (open only)
    trial: bool = False  # half-open: the trial task has started
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def admits(self) -> bool:
        """Whether a task may start on the profile now (without taking the half-open trial)."""
        return self.state == CLOSED or (self.state == HALF_OPEN and not self.trial)

    def failure(self, kind: str, reason: str) -> bool:
        """An external failure; True when it opened the breaker."""
        self.kind, self.reason = kind, reason
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
            self.state = OPEN
            self.trial = False
            return True
        return False

    def close(self) -> bool:
        """Back to closed with no failures; True when it was not closed."""
        was = self.state
        self.state, self.failures, self.trial, self.until = CLOSED, 0, False, None
        self.cancel_timer()
        return was != CLOSED

    def half_open(self) -> None:
        self.state, self.trial, self.until, self.timer = HALF_OPEN, False, None, None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
