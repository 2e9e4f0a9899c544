"""Report files: fixed CSV columns, JSON with the knee, a Markdown summary, plots."""

import csv
import json
from pathlib import Path

from loadgen.report import COLUMNS, Point, write_report


def point(workers: int, rate: float, pss: float, lost: int = 0) -> Point:
    return Point(
        workers=workers, queue_runners=workers, max_servers=workers, delivered_per_s=rate,
        delivered_mean_per_s=rate, accepted_per_s=rate + 1, p50_ms=100.0, p90_ms=200.0, p99_ms=300.0,
        p99_9_ms=400.0, max_ms=500.0, sent=100, delivered=100 - lost, lost=lost, duplicated=0, errors=0,
        amavis_rss_mib=150.0 * workers, amavis_private_mib=pss / 2, amavis_pss_mib=pss,
        cpu_rx=0.1, cpu_amavis=0.9, cpu_clamd=0.05, cpu_tx=0.1,
    )


def test_the_report_has_fixed_columns_the_knee_and_a_summary(tmp_path: Path) -> None:
    points = [point(1, 5.0, 40), point(2, 9.6, 80), point(4, 10.0, 160)]
    write_report(points, tmp_path, {"started": "t", "description": "unit"}, plots=True)

    with (tmp_path / "points.csv").open() as rows:
        table = list(csv.DictReader(rows))
    assert list(table[0]) == COLUMNS
    assert [row["workers"] for row in table] == ["1", "2", "4"]
    document = json.loads((tmp_path / "points.json").read_text())
    assert document["knee_workers"] == 2 and document["columns"] == COLUMNS
    summary = (tmp_path / "summary.md").read_text()
    assert "Knee: 2 workers reach 95% of the best throughput (9.6 msg/s)" in summary
    assert "adds 80 MiB of memory (PSS) for at most 0.4 msg/s more" in summary
    assert "Every accepted message arrived." in summary
    for plot in ("throughput.png", "latency.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_that_lost_mail_says_so_loudly(tmp_path: Path) -> None:
    write_report([point(1, 5.0, 40, lost=3)], tmp_path, {}, plots=False)
    assert "**3 accepted messages never arrived: this run is not clean.**" in (tmp_path / "summary.md").read_text()


def test_the_summary_states_the_generators_headroom(tmp_path: Path) -> None:
    write_report([point(1, 5.0, 40)], tmp_path, {"generator_msg_per_s": 6000}, plots=False)
    assert "Generator headroom: it sends 6000 msg/s into a null sink, 1000x the fastest rate the chain accepted " \
        "(6.0 msg/s)" in (tmp_path / "summary.md").read_text()
