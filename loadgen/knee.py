"""Where adding workers stops paying."""

from collections.abc import Sequence

__all__ = ["knee"]


def knee(points: Sequence[tuple[int, float]], *, share: float = 0.95) -> int | None:
    """The fewest workers whose throughput reaches `share` of the best one.

    `points`: (workers, throughput). None when there are no points or no throughput.
    """
    if not points:
        return None
    best = max(rate for _, rate in points)
    if best <= 0:
        return None
    return min(workers for workers, rate in points if rate >= share * best)
