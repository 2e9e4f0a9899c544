"""Where adding workers stops paying, judged with the noise of each measurement."""

from collections.abc import Sequence

from loadgen.measure.stats import Interval

__all__ = ["knee"]


def knee(points: Sequence[tuple[int, Interval]]) -> int | None:
    """The fewest workers whose throughput interval overlaps the best point's: more
    workers than that may not deliver more, as far as the measurements can tell.

    `points`: (workers, throughput interval). None when there are no points or no
    throughput.
    """
    if not points:
        return None
    best = max((rate for _, rate in points), key=lambda rate: rate.mean)
    if best.mean <= 0:
        return None
    return min(workers for workers, rate in points if rate.overlaps(best))
