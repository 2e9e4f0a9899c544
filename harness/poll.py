"""Waiting with a deadline: the only way the harness and the tests wait."""

import time
from collections.abc import Callable
from typing import TypeVar

from siteconfig.errors import PollTimeout

__all__ = ["PollTimeout", "poll_until"]

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    fatal: Callable[[], str | None] | None = None,
    evidence: Callable[[], str] | None = None,
    nudge: Callable[[], None] | None = None,
) -> T:
    """Call `check` until it returns something truthy, and return that.

    `fatal` is asked on every round and stops the wait at once when it returns a reason
    (a container died: waiting longer cannot help). On timeout or a fatal reason the
    error names `what` was awaited and carries `evidence()` (logs, transcripts).
    `nudge` is called once, after the first check found nothing: it asks for what is
    awaited (a queue run) instead of waiting for it to come on its own schedule.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if nudge is not None:
            nudge()
            nudge = None
        reason = fatal() if fatal else None
        if reason is None and time.monotonic() >= deadline:
            reason = f"not within {timeout:g} s"
        if reason is not None:
            detail = f"\n{evidence()}" if evidence else ""
            raise PollTimeout(f"waiting for {what}: {reason}{detail}")
        time.sleep(interval)
