"""When each message is due: open-loop schedules, fixed before the clock starts."""

import random

__all__ = ["open_loop_offsets"]


def open_loop_offsets(rate: float, duration: float, *, poisson: bool = False, seed: int = 1) -> list[float]:
    """Send times (seconds from the start) for `rate` messages per second over `duration`.

    Evenly spaced by default; with `poisson`, exponential gaps of the same mean (bursty
    arrivals, as from many independent clients). Latency is measured from these times,
    so a stalled chain cannot hide its queueing (no coordinated omission).
    """
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    if not poisson:
        count = int(rate * duration)
        return [i / rate for i in range(count)]
    rng = random.Random(seed)
    offsets, t = [], rng.expovariate(rate)
    while t < duration:
        offsets.append(t)
        t += rng.expovariate(rate)
    return offsets
