"""A burst run summarised into fixed columns (concurrency from the load window only,
refusals by class, end-to-end latency from arrivals), and the report files."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from loadgen.experiments.burst import BurstRun, Sample
from loadgen.send.delivery import Delivery
from loadgen.show.burst_report import COLUMNS, summarise, window_samples, write_burst_report


def run_with(samples: list[Sample]) -> BurstRun:
    run = BurstRun("dual", 20, 2, 10.0, started=100.0, load_ended=110.0, sessions_ended=111.0)
    arrived, late = Delivery("a", "x@r", "d1"), Delivery("b", "x@r", "d2")
    run.accepted = {arrived: 101.0, late: 102.0}
    run.arrivals = {arrived: [104.0, 105.0]}
    for seconds in (0.1, 0.2, 3.0):
        run.to_250.record(seconds)
    run.replies = Counter({"451": 3, "421": 1, "554": 2})
    run.samples = samples
    return run


def test_a_run_is_summarised_from_its_load_window() -> None:
    samples = [Sample(99.0, 1.0, 9, 0, 9, 0), Sample(101.0, 2.0, 2, 20, 2, 0), Sample(105.0, 3.0, 1, 20, 1, 0),
               Sample(109.0, 30.0, 2, 18, 2, 0), Sample(112.0, 1.0, 9, 0, 9, 0)]
    row = summarise(run_with(samples))
    assert [row[c] for c in ("busy_max", "busy_median", "filter_connections_max", "smtp_sessions_max")] == [2, 2, 2, 20]
    assert row["samples"] == 3 and row["sample_interval_s"] == 4.0
    assert (row["replies_4xx"], row["replies_5xx"], row["replies"]) == (4, 2, "421:1 451:3 554:2")
    assert (row["accepted"], row["delivered"], row["undelivered"]) == (2, 1, 1)
    assert row["e2e_p50_s"] == pytest.approx(3.0, abs=0.01)  # first copy, from the start of its transaction
    assert (row["to250_p50_s"], row["to250_max_s"]) == pytest.approx((0.2, 3.0), abs=0.01)  # HDR: 3 digits
    assert row["load_max"] == 30.0
    assert set(row) == set(COLUMNS)


def test_window_samples_leave_out_grace_and_drain() -> None:
    samples = [Sample(t, 0.0, 0, 0, 0, 0) for t in (99.0, 100.0, 110.0, 110.5)]
    assert [s.at for s in window_samples(samples, 100.0, 110.0)] == [100.0, 110.0]


def test_an_empty_run_summarises_to_zeros() -> None:
    row = summarise(BurstRun("milter", 200, 2, 20.0))
    assert (row["busy_max"], row["to250_p95_s"], row["e2e_p95_s"], row["samples"]) == (0, 0.0, 0.0, 0)


def test_report_files_have_fixed_columns_and_the_samples(tmp_path: Path) -> None:
    run = run_with([Sample(101.0, 2.0, 2, 20, 2, 0), Sample(102.0, 2.0, 1, 20, 2, 0)])
    meta = {"workers": 2, "duration": 10.0, "grace": 5.0, "drain": 5.0, "interval": 0.25,
            "load_average_before": 1.0, "load_average_after": 2.0}
    write_burst_report([run], tmp_path, meta, plots=True)
    with (tmp_path / "burst.csv").open() as read:
        rows = list(csv.DictReader(read))
    assert list(rows[0]) == COLUMNS and rows[0]["topology"] == "dual"
    document = json.loads((tmp_path / "burst.json").read_text())
    assert document["samples"]["dual-20"][0] == [1.0, 2.0, 2, 20, 2, 0]
    assert "| dual | 20 |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "burst.png").stat().st_size > 0
