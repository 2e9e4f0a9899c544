"""A run's result: first arrivals of its own messages only, and the backlog's growth."""

import pytest

from loadgen.experiments.runner import RunResult


def test_first_arrivals_count_each_scheduled_message_once() -> None:
    result = RunResult(mode="inflight", started=0, load_ended=10, ended=10, warmup=0)
    result.scheduled = {"a": 1.0, "b": 1.0, "c": 2.0}
    # b arrived twice (a duplicate); "alert" is a notification the chain made; c is missing.
    result.arrivals = {"a": [3.0], "b": [5.0, 4.0], "alert": [4.5], "old": [0.5]}
    assert sorted(result.first_arrivals()) == [3.0, 4.0]


def test_the_backlog_growth_is_the_slope_of_its_samples() -> None:
    result = RunResult(mode="open", started=0, load_ended=10, ended=10, warmup=0)
    result.backlog = [(t, 3 * t + 1) for t in range(11)]
    assert result.backlog_growth(5, 10) == pytest.approx(3.0)
    result.backlog = [(t, 7) for t in range(11)]
    assert result.backlog_growth(0, 10) == 0.0
