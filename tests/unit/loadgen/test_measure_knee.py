"""The knee on synthetic curves: the fewest workers whose interval overlaps the best point's."""

from loadgen.measure.knee import knee
from loadgen.measure.stats import Interval


def test_the_knee_is_the_fewest_workers_whose_interval_overlaps_the_best_ones() -> None:
    points = [(1, Interval(5.0, 0.2, 5)), (2, Interval(9.0, 0.3, 5)), (3, Interval(9.6, 0.3, 5)),
              (5, Interval(10.0, 0.3, 5)), (8, Interval(9.8, 0.5, 5))]
    assert knee(points) == 3  # 9.6 + 0.3 reaches 10.0 - 0.3; 9.0 + 0.3 does not
    assert knee([]) is None and knee([(1, Interval(0.0, 0.0, 3))]) is None


def test_a_noisy_curve_puts_the_knee_early_and_a_lucky_last_point_does_not_move_it() -> None:
    # The sample report's shape: one high window at 20 workers. With intervals, 5 workers
    # already overlap it, so the verdict no longer hangs on that one window.
    noisy = [(1, Interval(1.6, 0.2, 6)), (2, Interval(2.8, 0.3, 6)), (5, Interval(3.9, 0.5, 6)),
             (20, Interval(4.6, 0.8, 6))]
    assert knee(noisy) == 5
    precise = [(w, Interval(i.mean, 0.05, 20)) for w, i in noisy]
    assert knee(precise) == 20
