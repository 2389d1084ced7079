"""The harness's clock: deadlines and durations read the time here, so that tests of the
executor's rules (restarts, deadlines) can replace it with a fake one."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds on a monotonic clock."""
    return time.monotonic()
