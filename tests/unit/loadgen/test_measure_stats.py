"""The load generator's computing pieces, on known inputs with exact expected outputs."""

import pytest

from loadgen.delivery import Delivery
from loadgen.knee import knee
from loadgen.matching import match
from loadgen.runner import RunResult
from loadgen.schedule import open_loop_offsets
from loadgen.stats import Interval, Latency, batch_rates, interval
from loadgen.wire import on_the_wire
from loadgen.workload import BLOCK, Mix, Workload, pregenerate


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


def test_sends_are_matched_to_arrivals_with_missing_duplicated_wrong_and_unexpected_counted() -> None:
    a, b, c, d = (Delivery(m, f"{m}@x.example", f"digest-{m}") for m in "abcd")
    scheduled = {a: 10.0, b: 10.5, c: 11.0, d: 11.0}
    arrivals = {a: [10.25], b: [12.5, 11.5], Delivery("x", "x@x.example", "digest-x"): [13.0],
                d._replace(recipient="other@x.example"): [12.0], c._replace(digest="cut"): [12.0]}
    matched = match(scheduled, arrivals)
    assert matched.delivered == 2
    assert matched.missing == [c, d]  # c arrived cut, d in another mailbox: neither is delivered
    assert sorted(w.message_id for w in matched.wrong) == ["c", "d"]
    assert matched.duplicated == {b: 1}
    assert matched.unexpected == 1
    assert matched.latency.summary()["max"] == 1000  # b: first copy 11.5 - 10.5


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


def test_pregenerated_messages_are_unique_tagged_and_follow_the_mix() -> None:
    plan = pregenerate(200, Workload(mix=Mix(spam=0.25, virus=0.25), seed=3))
    assert len({p.message_id for p in plan}) == 200
    assert all(f"X-Loadgen-Seq: {p.seq}".encode() in p.data for p in plan)
    kinds = [p.kind for p in plan]
    assert 70 < kinds.count("ham") < 130 and kinds.count("spam") > 20 and kinds.count("virus") > 20
    assert [p.expect_delivery for p in plan] == [k == "ham" for k in kinds]
    assert all(b"\r\n" in p.data and b"\n" not in p.data.replace(b"\r\n", b"") for p in plan)


def test_a_mix_over_one_is_refused() -> None:
    with pytest.raises(ValueError, match="sum to <= 1"):
        Mix(spam=0.7, virus=0.5)


def test_a_message_on_the_wire_has_crlf_doubled_leading_dots_and_the_final_dot() -> None:
    assert on_the_wire(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
    assert on_the_wire(b".\r\n") == b"..\r\n.\r\n"


def test_each_block_of_messages_holds_the_whole_size_distribution_and_the_attachment_share() -> None:
    plan = pregenerate(60, Workload(seed=4, median_size=4000, attachment_share=0.1))
    blocks = [plan[i:i + BLOCK] for i in range(0, 60, BLOCK)]
    for block in blocks:
        assert sum(b"filename=" in p.data for p in block) == 2
        sizes = sorted(len(p.data) for p in block)
        assert sizes[BLOCK // 2] < 8_000 < sizes[-1]  # a median near 4 KB and a tail in every block
    totals = [sum(len(p.data) for p in block) for block in blocks]
    assert max(totals) < 2.5 * min(totals), totals  # independent draws vary far more from block to block
