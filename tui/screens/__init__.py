"""The cockpit's screens, each with its .tcss beside it (imported lazily by whoever opens them)."""
