"""How it is measured: latencies in an HDR histogram, rates per second, replies by code."""

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram
from scipy.stats import t as student_t

__all__ = ["PERCENTILES", "Interval", "Latency", "Tally", "batch_rates", "interval", "mean_rate"]

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
_MAX_MS = 3_600_000  # an hour, in milliseconds


class Latency:
    """Latencies in milliseconds, 3 significant digits, mergeable across runs."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(1, _MAX_MS, 3)

    def record(self, seconds: float) -> None:
        self.histogram.record_value(min(_MAX_MS, max(1, round(seconds * 1000))))

    def merge(self, other: "Latency") -> "Latency":
        self.histogram.add(other.histogram)
        return self

    @property
    def count(self) -> int:
        return int(self.histogram.get_total_count())

    def summary(self) -> dict[str, float]:
        """p50, p90, p99, p99.9 and max in milliseconds (zeros when nothing was recorded)."""
        if not self.count:
            return {**{f"p{p:g}": 0.0 for p in PERCENTILES}, "max": 0.0}
        values = {f"p{p:g}": float(self.histogram.get_value_at_percentile(p)) for p in PERCENTILES}
        values["max"] = float(self.histogram.get_max_value())
        return values


@dataclass
class Tally:
    """What the chain answered: accepted messages, and refusals by reply code."""

    accepted: int = 0
    replies: Counter[str] = field(default_factory=Counter)

    def refused(self, code: int | str) -> None:
        self.replies[str(code)] += 1

    @property
    def errors(self) -> int:
        return sum(self.replies.values())


def mean_rate(times: list[float], start: float, end: float) -> float:
    """Events per second over the window: finer than the median where rates are small."""
    return sum(1 for t in times if start <= t < end) / (end - start) if end > start else 0.0


@dataclass(frozen=True)
class Interval:
    """A mean with the half-width of its two-sided confidence interval."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def relative(self) -> float:
        """Half-width as a share of the mean (infinite for a zero mean)."""
        return self.half_width / self.mean if self.mean > 0 else math.inf

    def overlaps(self, other: "Interval") -> bool:
        return self.low <= other.high and other.low <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.2f} +- {self.half_width:.2f}"


def interval(samples: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval of independent samples (at least two)."""
    if len(samples) < 2:
        raise ValueError(f"an interval needs at least 2 samples, got {len(samples)}")
    n = len(samples)
    spread = statistics.stdev(samples) / math.sqrt(n)
    return Interval(statistics.fmean(samples), float(student_t.ppf((1 + confidence) / 2, n - 1)) * spread, n)


def batch_rates(times: Sequence[float], start: float, batch: float, count: int) -> list[float]:
    """Events per second in each of `count` consecutive batches of `batch` seconds from
    `start` (the batch-means method: one rate per batch, the batches' rates treated as
    independent samples)."""
    counts = [0] * count
    for t in times:
        index = math.floor((t - start) / batch)
        if 0 <= index < count:
            counts[index] += 1
    return [c / batch for c in counts]
