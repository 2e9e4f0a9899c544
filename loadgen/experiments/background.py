"""Load that runs beside something else: a steady stream in a thread while a test breaks
the chain, then a drain that waits for every accepted message."""

import threading
from collections.abc import Callable
from typing import Any

from harness import PollTimeout, Stack, poll_until
from loadgen.experiments.runner import RunResult, injections, run_load
from loadgen.measure.arrivals import watchers_for
from loadgen.send.workload import Planned
from siteconfig.policy import current_policy

__all__ = ["BackgroundLoad"]


class BackgroundLoad:
    """Open-loop load at `rate` msg/s into the stack's MTA-RX (port 25 from the LAN, and
    587 for the plan's submission share) until stop(); result() then waits for the drain."""

    def __init__(self, stack: Stack, plan: list[Planned], *, rate: float, drain: float = 240,
                 sessions: int = 4) -> None:
        self.live: RunResult | None = None
        self._stop = threading.Event()
        self._outcome: list[Any] = []
        watchers = self.watchers = watchers_for(plan, stack.sink, stack)
        points = injections(stack.office_port, stack.submission_port, current_policy().submission_login)

        def progress(result: RunResult, arrived: int) -> None:
            self.live = result

        def run() -> None:
            try:
                self._outcome.append(run_load(plan, mode="open", injections=points, watchers=watchers,
                                              duration=len(plan) / rate, warmup=0, rate=rate, sessions=sessions,
                                              drain=drain, progress=progress, stop=lambda _: self._stop.is_set()))
            except BaseException as error:  # handed to the caller of result()
                self._outcome.append(error)

        self._thread = threading.Thread(target=run, name="background-load", daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        return self.live.tally.accepted if self.live else 0

    @property
    def refusals(self) -> dict[str, int]:
        return dict(self.live.tally.replies) if self.live else {}

    def wait_accepted(self, count: int, *, timeout: float = 120) -> None:
        """Until the chain has accepted `count` more messages than now."""
        target = self.accepted + count
        poll_until(lambda: self.accepted >= target or not self._thread.is_alive(), timeout=timeout,
                   what=f"{count} more messages accepted (now {self.accepted}, refused {self.refusals})",
                   interval=0.2)
        if self.accepted < target:
            raise PollTimeout(f"the load ended before {count} more messages were accepted: {self._outcome}")

    def result(self) -> RunResult:
        """Stop offering load, wait for the drain, and return what was measured."""
        self._stop.set()
        self._thread.join()
        (outcome,) = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def settle(self, result: RunResult, settled: Callable[[], bool], *, timeout: float = 180) -> None:
        """After result(): wait until `settled()` (e.g. both queues empty), then look at the
        sink and mailboxes once more, so a late second copy (a resend after a timeout, a
        retry from MTA-TX's queue) is counted, not missed because the first had arrived."""
        poll_until(settled, timeout=timeout, what="the chain's queues to empty", interval=1)
        for watcher in self.watchers:
            watcher.poll(result.arrivals, force=True)

    def __enter__(self) -> "BackgroundLoad":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(timeout=1)  # a failed test: do not wait for the drain (a daemon thread)
