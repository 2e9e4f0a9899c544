"""How long to measure a saturated chain: consecutive batches of the steady window, one
delivery rate each, until their mean is known closely enough or the time cap is hit.

The counters (CPU, memory) are sampled as each batch boundary passes, so the cost of a
message is read over exactly the batches that measured its rate: nothing from the
warm-up or the drain.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.cgroups import CgroupSample
from loadgen.experiments.runner import RunResult
from loadgen.measure.stats import Interval, batch_rates, interval

__all__ = ["MIN_BATCHES", "SETTLE", "SteadyMeter", "SteadyWindow"]

# Arrivals are seen by polling (the sink every 0.25 s, mailboxes every 0.5 s): a batch is
# judged this long after it ended, when every arrival inside it is known.
SETTLE = 1.0
# Fewest batches an interval is made of: an early stop on two or three lucky batches would
# cover the true rate less often than 95%.
MIN_BATCHES = 5

Counters = dict[str, CgroupSample]  # per service


@dataclass
class SteadyWindow:
    """What the steady window measured, and why it ended."""

    start: float
    end: float
    rates: list[float]  # delivered msg/s per batch
    throughput: Interval
    reason: str  # converged | good enough | time cap | plan ran out | interrupted
    counters_start: Counters = field(default_factory=dict)
    counters_end: Counters = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def delivered(self, result: RunResult) -> int:
        return sum(1 for t in result.first_arrivals() if self.start <= t < self.end)


class SteadyMeter:
    """Callable as run_load's `stop`: True once the point is measured.

    Rule: after at least `min_batches` batches of `batch` seconds (after `warmup`), stop
    when the 95% interval's half-width is at most `precision` of the mean ("converged");
    after `patience` seconds of load, settle for `enough` ("good enough"); stop anyway when
    one more batch would end past `cap` seconds of load ("time cap"). A point whose rate
    is high converges sooner, leaving the time to the slow ones. on_close() runs as the
    window closes, while the load still runs (to read what only then can be).
    """

    def __init__(self, *, warmup: float, batch: float, cap: float, precision: float = 0.05,
                 enough: float = 0.10, patience: float = 60, min_batches: int = MIN_BATCHES,
                 counters: Callable[[], Counters] = dict, on_close: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time) -> None:
        if warmup + min_batches * batch > cap:
            raise ValueError(f"the time cap ({cap:g} s) leaves no room for {min_batches} batches of {batch:g} s "
                             f"after a {warmup:g} s warm-up")
        self.warmup, self.batch, self.cap, self.precision, self.min_batches = warmup, batch, cap, precision, min_batches
        self.enough, self.patience = max(enough, precision), patience
        self.counters, self.on_close, self.clock = counters, on_close, clock
        self.samples: list[Counters] = []  # at each batch boundary, from the window's start
        self.judged = 0
        self.window: SteadyWindow | None = None

    def __call__(self, result: RunResult) -> bool:
        if self.window is not None:
            return True
        now, start = self.clock(), result.started + self.warmup
        while now >= start + len(self.samples) * self.batch:
            self.samples.append(self.counters())
        complete = min(int((now - SETTLE - start) // self.batch), len(self.samples) - 1)
        if complete < self.min_batches or complete == self.judged:
            return False
        self.judged = complete
        rates = batch_rates(result.first_arrivals(), start, self.batch, complete)
        throughput = interval(rates)
        if throughput.relative <= self.precision:
            self._close(start, rates, "converged")
        elif throughput.relative <= self.enough and start + complete * self.batch >= result.started + self.patience:
            self._close(start, rates, "good enough")
        elif start + (complete + 1) * self.batch > result.started + self.cap:
            self._close(start, rates, "time cap")
        return self.window is not None

    def _close(self, start: float, rates: list[float], reason: str) -> None:
        n = len(rates)
        self.window = SteadyWindow(start=start, end=start + n * self.batch, rates=rates, throughput=interval(rates),
                                   reason=reason, counters_start=self.samples[0], counters_end=self.samples[n])
        self.on_close()

    def finish(self, result: RunResult) -> SteadyWindow:
        """The window, also when the load ended before the rule stopped it (the plan ran
        out, Ctrl-C, or the duration ran out first): then over the batches that did complete."""
        if self.window is None:
            start = result.started + self.warmup
            complete = min(int((result.load_ended - start) // self.batch), len(self.samples) - 1)
            if complete < self.min_batches:
                # Sends that failed use up the plan too: say so, or "raise --messages" misleads.
                failed = result.tally.errors
                raise ValueError(f"the load ended after {result.load_ended - result.started:.0f} s: too soon for "
                                 f"{self.min_batches} batches of {self.batch:g} s"
                                 + (f"; {failed} sends failed or were refused ("
                                    + ", ".join(f"{why}: {n}" for why, n in result.tally.replies.most_common())
                                    + "), so the chain did not take the load" if failed > result.tally.accepted else
                                    "; raise --messages" if result.plan_ran_out else ""))
            reason = "interrupted" if result.interrupted else "plan ran out" if result.plan_ran_out else "time cap"
            self._close(start, batch_rates(result.first_arrivals(), start, self.batch, complete), reason)
        assert self.window is not None
        return self.window
