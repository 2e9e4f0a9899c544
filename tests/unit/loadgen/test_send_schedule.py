"""When each message is due: open-loop schedules, evenly spaced or Poisson."""

import pytest

from loadgen.send.schedule import open_loop_offsets


def test_open_loop_schedule_is_evenly_spaced_at_the_rate() -> None:
    assert open_loop_offsets(4, 1) == [0.0, 0.25, 0.5, 0.75]


def test_poisson_schedule_has_the_mean_rate_and_repeats_with_its_seed() -> None:
    offsets = open_loop_offsets(100, 50, poisson=True, seed=7)
    assert 4700 < len(offsets) < 5300
    assert offsets == open_loop_offsets(100, 50, poisson=True, seed=7)
    assert all(0 <= t < 50 for t in offsets) and offsets == sorted(offsets)


def test_a_schedule_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        open_loop_offsets(0, 10)
