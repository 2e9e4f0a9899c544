"""A tiny capacity sweep end to end: two points, a few seconds each, every message counted,
whether it went in on 25 or 587 and out to the sink or a local mailbox."""

import csv
import json
from pathlib import Path

import pytest

from loadgen.cli import main

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_a_tiny_sweep_writes_its_report_and_accounts_for_every_message(tmp_path: Path) -> None:
    code = main(["sweep", "--workers", "1 2", "--window", "12", "--warmup", "2", "--messages", "400",
                 "--drain", "90", "--bench-messages", "0", "--reports", str(tmp_path),
                 "--local-share", "0.3", "--submission-share", "0.3"])
    (report,) = tmp_path.iterdir()
    assert code == 0, (report / "summary.md").read_text()
    with (report / "points.csv").open() as rows:
        points = list(csv.DictReader(rows))
    assert [int(p["workers"]) for p in points] == [1, 2]
    for p in points:
        assert int(p["sent"]) > 0 and int(p["lost"]) == 0 and int(p["errors"]) == 0, p
        assert int(p["delivered"]) == int(p["sent"]), p  # all ham: every message arrives
        assert float(p["delivered_per_s"]) > 0 and float(p["amavis_rss_mib"]) > 100, p
    assert json.loads((report / "points.json").read_text())["knee_workers"] in (1, 2)
    assert {f.name for f in report.iterdir()} >= {"points.csv", "points.json", "summary.md", "throughput.png",
                                                  "latency.png"}
