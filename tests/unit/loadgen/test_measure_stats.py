"""Latencies in histograms, Student-t intervals, batch rates: known inputs, exact expected outputs."""

import pytest

from loadgen.measure.stats import Interval, Latency, batch_rates, interval


def test_histograms_merge_into_the_percentiles_of_all_values() -> None:
    first, second = Latency(), Latency()
    for ms in (10, 20, 30):
        first.record(ms / 1000)
    for ms in (40, 1000):
        second.record(ms / 1000)
    merged = first.merge(second).summary()
    assert first.count == 5
    assert merged["p50"] == 30 and merged["max"] == 1000


def test_an_empty_histogram_summarises_to_zeros() -> None:
    assert Latency().summary() == {"p50": 0.0, "p90": 0.0, "p99": 0.0, "p99.9": 0.0, "max": 0.0}


def test_the_interval_is_students_t_at_95_percent() -> None:
    result = interval([10.0, 12.0, 14.0])  # mean 12, sd 2, t(0.975, 2) = 4.303
    assert result.mean == 12.0 and result.n == 3
    assert result.half_width == pytest.approx(4.303 * 2 / 3**0.5, rel=1e-3)
    assert result.relative == pytest.approx(0.414, rel=1e-2)
    assert interval([5.0, 5.0, 5.0]).half_width == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        interval([1.0])


def test_intervals_overlap_when_their_ranges_meet() -> None:
    assert Interval(10, 1, 3).overlaps(Interval(11.5, 0.5, 3))
    assert not Interval(10, 1, 3).overlaps(Interval(11.6, 0.5, 3))
    assert Interval(0, 0, 3).relative == float("inf")


def test_batch_rates_count_each_batch_and_nothing_outside() -> None:
    times = [99.9, 100.0, 100.5, 104.9, 105.0, 109.99, 110.0, 200.0]
    assert batch_rates(times, 100, 5, 2) == [3 / 5, 2 / 5]
