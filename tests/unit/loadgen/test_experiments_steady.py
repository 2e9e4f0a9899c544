"""The sequential stopping rule, on a synthetic clock and synthetic arrivals."""

import pytest

from harness.cgroups import CgroupSample
from loadgen.experiments.runner import RunResult
from loadgen.experiments.steady import MIN_BATCHES, SETTLE, SteadyMeter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def drive(meter: SteadyMeter, clock: Clock, result: RunResult, arrivals_at: list[float], until: float) -> float:
    """Advance the clock in 0.1 s steps, making each arrival known once its time has
    passed, until the meter stops or `until`; the time it stopped."""
    pending = sorted(arrivals_at)
    while clock.now <= until:
        while pending and pending[0] <= clock.now:
            t = pending.pop(0)
            result.scheduled[f"m{t}"] = 0.0
            result.arrivals[f"m{t}"] = [t]
        if meter(result):
            return clock.now
        clock.now = round(clock.now + 0.1, 1)
    return clock.now


def cpu_counter(clock: Clock):  # type: ignore[no-untyped-def]
    return lambda: {"amavis": CgroupSample(cpu_seconds=0.5 * clock.now, memory_bytes=100, oom_kills=0)}


def test_a_steady_rate_converges_after_the_minimum_batches() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=2)
    meter = SteadyMeter(warmup=2, batch=5, cap=60, precision=0.05, counters=cpu_counter(clock), clock=clock)
    stopped = drive(meter, clock, result, [2 + i * 0.25 + 0.01 for i in range(400)], until=60)
    window = meter.window
    assert window is not None and window.reason == "converged"
    assert window.rates == [4.0] * MIN_BATCHES and window.throughput.half_width == 0
    assert (window.start, window.end) == (2, 27)
    assert stopped == pytest.approx(27 + SETTLE, abs=0.11)  # judged once the last batch settled
    # CPU read at the window's edges, not at the stop: 0.5 CPU-s per second over 25 s.
    cpu = window.counters_end["amavis"].cpu_seconds - window.counters_start["amavis"].cpu_seconds
    assert cpu == pytest.approx(12.5, abs=0.06)
    assert window.delivered(result) == 100


def test_a_noisy_rate_runs_until_the_cap_and_says_so() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=0)
    meter = SteadyMeter(warmup=0, batch=5, cap=32, precision=0.05, clock=clock)
    # Alternating quiet and busy batches: 1 and 5 messages per second.
    times = [b * 5 + i / (1 if b % 2 == 0 else 5) + 0.01 for b in range(10) for i in range(5 if b % 2 == 0 else 25)]
    drive(meter, clock, result, times, until=40)
    window = meter.window
    assert window is not None and window.reason == "time cap"
    assert len(window.rates) == 6  # a seventh batch would end at 35 s, past the 32 s cap
    assert window.throughput.mean == pytest.approx(3.0) and window.throughput.relative > 0.05


def test_after_its_patience_a_point_settles_for_enough() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=0)
    meter = SteadyMeter(warmup=0, batch=5, cap=100, precision=0.02, enough=0.10, patience=30, clock=clock)
    # 9 or 11 messages per 5-s batch, alternating: about +-5% after a few batches.
    times = [b * 5 + i * 5 / (9 if b % 2 else 11) + 0.01 for b in range(20) for i in range(9 if b % 2 else 11)]
    drive(meter, clock, result, times, until=100)
    window = meter.window
    assert window is not None and window.reason == "good enough"
    # At 30 s the half-width is 11.5% of the mean; one batch later, 9.7%.
    assert window.end == 35 and 0.02 < window.throughput.relative <= 0.10


def test_a_cap_without_room_for_three_batches_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves no room for 5 batches"):
        SteadyMeter(warmup=5, batch=10, cap=30)


def test_a_load_that_ends_early_is_measured_over_the_batches_it_completed() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=0)
    meter = SteadyMeter(warmup=0, batch=5, cap=90, precision=0.01, clock=clock)
    # 1 and 5 messages per second in turn: far from +-1%, so only the end of the load stops it.
    times = [b * 5 + i / (1 if b % 2 == 0 else 5) + 0.01 for b in range(6) for i in range(5 if b % 2 == 0 else 25)]
    drive(meter, clock, result, times, until=27.4)
    result.load_ended, result.plan_ran_out = 27.4, True
    window = meter.finish(result)
    assert window.reason == "plan ran out" and len(window.rates) == 5


def test_a_load_too_short_for_three_batches_is_an_error_that_says_why() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=0)
    meter = SteadyMeter(warmup=0, batch=5, cap=90, clock=clock)
    drive(meter, clock, result, [1.0, 2.0], until=12.4)
    result.load_ended, result.plan_ran_out = 12.4, True
    with pytest.raises(ValueError, match="too soon for 5 batches of 5 s; raise --messages"):
        meter.finish(result)


def test_a_load_whose_sends_failed_says_so_rather_than_asking_for_more_messages() -> None:
    clock, result = Clock(), RunResult(mode="inflight", started=0, load_ended=0, ended=0, warmup=0)
    meter = SteadyMeter(warmup=0, batch=3, cap=90, clock=clock)
    drive(meter, clock, result, [], until=8.0)
    result.load_ended, result.plan_ran_out = 8.0, True
    for _ in range(272):
        result.tally.refused("SMTPConnectError")
    result.tally.refused(421)
    with pytest.raises(ValueError, match=r"too soon for 5 batches of 3 s; 273 sends failed or were refused "
                                         r"\(SMTPConnectError: 272, 421: 1\), so the chain did not take the load"):
        meter.finish(result)
