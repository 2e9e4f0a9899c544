"""Report files: fixed CSV columns, JSON with the knee, a Markdown summary that draws
only the conclusions its intervals allow, plots."""

import csv
import json
from dataclasses import MISSING, fields, replace
from pathlib import Path

from loadgen.experiments.points import COLUMNS, Point, combine
from loadgen.show.report import read_report, write_report


def point(workers: int, rate: float, half: float, pss: float, *, lost: int = 0, variant: str = "shipped",
          overloaded: bool = False) -> Point:
    values: dict[str, object] = {f.name: 0 for f in fields(Point) if f.default is MISSING}
    values.update(
        workers=workers, queue_runners=workers, variant=variant, repeat=1, throughput=rate,
        throughput_half_width=half, batches=8, stopped_by="converged", accepted_per_s=rate,
        common_rate=1.0, common_messages=30, common_delivered_per_s=1.0, common_p50_ms=2000.0 - 100 * workers,
        common_p90_ms=3000.0, common_p99_ms=4000.0, common_max_ms=4500.0, common_overloaded=overloaded,
        common_backlog_growth=0.5 if overloaded else 0.0, sent=100, delivered=100 - lost, lost=lost,
        amavis_pss_mib=pss, cpu_ms_rx=10.0, cpu_ms_amavis=450.0, cpu_ms_clamd=5.0, cpu_ms_tx=15.0,
        cpu_ms_generator=12.0, cores_used=0.9, host_limit_per_s=2 / 0.48, host_busy=0.95, t_spam_ms=400.0,
        timed_messages=30,
    )
    return Point(**values)  # type: ignore[arg-type]


META = {"started": "t", "description": "unit", "cores": 2}


def test_the_report_has_fixed_columns_the_knee_and_a_summary(tmp_path: Path) -> None:
    points = [point(1, 1.6, 0.1, 160), point(2, 3.0, 0.2, 200), point(4, 3.2, 0.3, 320)]
    write_report(points, tmp_path, META, plots=True)

    with (tmp_path / "points.csv").open() as rows:
        table = list(csv.DictReader(rows))
    assert list(table[0]) == COLUMNS
    assert [row["workers"] for row in table] == ["1", "2", "4"]
    document = json.loads((tmp_path / "points.json").read_text())
    assert document["knee_workers"] == {"shipped": 2} and document["columns"] == COLUMNS
    point_two = document["points"][1]
    assert point_two["throughput"] == 3.0 and point_two["throughput_half_width"] == 0.2
    summary = (tmp_path / "summary.md").read_text()
    assert "**Knee at 2 workers (3.00 +- 0.20 msg/s)**" in summary
    assert "overlaps the best point's (4 workers, 3.20 +- 0.30 msg/s)" in summary
    assert "- 4 workers instead: +120 MiB amavisd-new PSS, p50 at the common rate 1600 ms vs 1800 ms, " \
        "throughput +0.20 msg/s (within the noise)" in summary
    assert "Recommendation: `R = $max_servers = 2`." in summary
    assert "Host limit: 2 cores / 480 CPU-ms per message = 4.17 msg/s for the chain alone (the generator adds " \
        "12 CPU-ms/msg); at the knee the host's cores were 95% busy: CPU-bound" in summary
    assert "| 2 | 2 | 3.00 +- 0.20 | 8 | converged |" in summary
    assert "- 4 workers instead: +120 MiB amavisd-new PSS" in summary
    assert "Latency at a common offered rate of 1 msg/s" in summary
    assert "Every accepted message arrived." in summary
    for plot in ("throughput.png", "latency.png", "memory.png", "breakdown.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_knee_at_the_last_point_asks_for_a_wider_sweep(tmp_path: Path) -> None:
    write_report([point(1, 1.6, 0.1, 160), point(2, 3.0, 0.1, 200)], tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "**Knee at 2 workers" in summary and "sweep further before deciding" in summary


def test_an_overloaded_point_and_an_unconverged_one_are_named(tmp_path: Path) -> None:
    loose = point(1, 2.0, 0.5, 160, overloaded=True)
    loose = loose.__class__(**{**loose.__dict__, "common_late": 4})
    write_report([loose.__class__(**{**loose.__dict__, "stopped_by": "time cap"})], tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "**overloaded**: backlog grew 0.50 msg/s, 4 sends late" in summary
    assert "Wider than +-10% at workers (half-width in brackets): 1 (25%)" in summary


def test_variants_are_compared_and_noise_is_called_noise(tmp_path: Path) -> None:
    points = [point(2, 3.0, 0.2, 200), point(2, 3.1, 0.2, 200, variant="tmpfs"),
              point(4, 3.0, 0.1, 300), point(4, 2.0, 0.1, 300, variant="tmpfs")]
    write_report(points, tmp_path, META, plots=True)
    summary = (tmp_path / "summary.md").read_text()
    assert "## Variant: tmpfs" in summary
    assert "| 2 | tmpfs | 3.10 | 3.00 | +0.10 +- 0.28 | noise larger than the effect: no conclusion |" in summary
    assert "| 4 | tmpfs | 2.00 | 3.00 | -1.00 +- 0.14 | slower by 33% |" in summary
    assert json.loads((tmp_path / "points.json").read_text())["knee_workers"] == {"shipped": 2, "tmpfs": 2}


def test_variants_are_compared_in_cpu_per_message_too(tmp_path: Path) -> None:
    unsigned = point(3, 3.0, 0.2, 200, variant="no-dkim")
    points = [point(3, 3.0, 0.2, 200), unsigned.__class__(**{**unsigned.__dict__, "cpu_ms_tx": 11.5})]
    write_report(points, tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "| 3 | no-dkim | 11.5 | 15.0 (-3.5) | 476 | 480 (-4) |" in summary, summary


def test_a_run_that_lost_mail_says_so_loudly(tmp_path: Path) -> None:
    write_report([point(1, 5.0, 0.1, 40, lost=3)], tmp_path, META, plots=False)
    assert "**3 accepted messages never arrived and are in no queue: this run is not clean.**" in \
        (tmp_path / "summary.md").read_text()


def test_mail_still_queued_at_the_end_is_late_not_lost(tmp_path: Path) -> None:
    stuck = point(8, 0.0, 0.0, 300, variant="memory=300m")
    write_report([stuck.__class__(**{**stuck.__dict__, "queued": 90})], tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "90 accepted messages had not arrived when their point ended but were still in the MTAs' queues: " \
        "delayed, not lost (8 workers memory=300m: 90)." in summary
    assert "No accepted message was lost." in summary


def test_the_summary_states_the_generators_headroom(tmp_path: Path) -> None:
    write_report([point(1, 5.0, 0.1, 40)], tmp_path, {**META, "generator_msg_per_s": 6000}, plots=False)
    assert "Generator headroom: it sends 6000 msg/s into a null sink, 1200x the fastest rate the chain accepted " \
        "(5.0 msg/s)" in (tmp_path / "summary.md").read_text()


def test_the_recommendation_names_r_when_a_variant_sets_it_apart(tmp_path: Path) -> None:
    points = [point(1, 1.6, 0.1, 160, variant="runners=2x"), point(2, 3.0, 0.2, 200, variant="runners=2x"),
              point(4, 3.1, 0.2, 320, variant="runners=2x")]
    points = [p.__class__(**{**p.__dict__, "queue_runners": 2 * p.workers}) for p in points]
    write_report(points, tmp_path, META, plots=False)
    assert "Recommendation: `R = 4, $max_servers = 2`." in (tmp_path / "summary.md").read_text()


def test_one_worker_count_names_no_knee(tmp_path: Path) -> None:
    write_report([point(2, 3.0, 0.2, 200)], tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "One worker count measured: no knee" in summary and "Recommendation" not in summary


def test_a_wide_knee_is_said_to_be_soft(tmp_path: Path) -> None:
    write_report([point(1, 1.6, 0.1, 160), point(2, 3.0, 0.6, 200), point(3, 3.1, 0.1, 240)], tmp_path, META,
                 plots=False)
    assert "Recommendation: `R = $max_servers = 2` (its interval is wider than +-10%: a longer --cap would firm " \
        "this up)." in (tmp_path / "summary.md").read_text()


def test_repeats_merge_into_one_point_whose_interval_is_their_spread(tmp_path: Path) -> None:
    repeats = [point(3, rate, 0.1, 260) for rate in (3.2, 3.7, 3.5)]
    repeats = [p.__class__(**{**p.__dict__, "repeat": i + 1}) for i, p in enumerate(repeats)]
    (merged,) = combine(repeats)
    assert merged.throughput == 3.467 and merged.repeat == 0 and merged.stopped_by == "3 repeats"
    assert merged.throughput_half_width == 0.625  # t(0.975, 2) 4.303 x sd 0.2517 / sqrt 3, not the batches' 0.1
    assert merged.sent == 300 and merged.batches == 24 and merged.amavis_pss_mib == 260
    write_report([point(1, 1.8, 0.1, 160), *repeats], tmp_path, {**META, "failed": ["8 workers: no memory"]},
                 plots=False)
    document = json.loads((tmp_path / "points.json").read_text())
    assert len(document["points"]) == 4 and len(document["combined"]) == 2
    summary = (tmp_path / "summary.md").read_text()
    assert "| 3 | 3 | 3.47 +- 0.62 | 24 | 3 repeats |" in summary
    assert "**Not measured:** 8 workers: no memory." in summary


def test_a_single_chain_comparison_warns_that_runs_differ_more(tmp_path: Path) -> None:
    write_report([point(2, 3.0, 0.2, 200), point(2, 3.1, 0.2, 200, variant="tmpfs")], tmp_path, META, plots=False)
    assert "`--repeats 3` measures it" in (tmp_path / "summary.md").read_text()


def milter_point(workers: int, rate: float, half: float, pss: float) -> Point:
    """A point of the milter topology: no MTA-RX, no MTA-TX, no queue runners."""
    return replace(point(workers, rate, half, pss), topology="milter", queue_runners=None, cpu_ms_rx=None,
                   cpu_ms_tx=None, cpu_ms_mta=20.0, cpu_ms_milter=3.0, memory_rx_mib=None, memory_tx_mib=None,
                   memory_mta_mib=30.0, memory_milter_mib=4.0, memory_amavis_mib=300.0, memory_clamd_mib=20.0,
                   t_rx_queue_ms=None, t_receive_ms=None, t_forward_ms=None, t_tx_ms=None, t_session_ms=250.0,
                   t_reply_ms=5.0, t_mta_ms=40.0)


def test_a_milter_sweep_names_its_topology_its_daemons_and_the_legs_it_has_not(tmp_path: Path) -> None:
    points = [milter_point(1, 1.6, 0.1, 160), milter_point(2, 3.0, 0.2, 200), milter_point(4, 3.2, 0.3, 320)]
    write_report(points, tmp_path, {**META, "topology": "milter"}, plots=True)
    summary = (tmp_path / "summary.md").read_text()
    assert "Topology: **milter** (one sendmail -> amavisd-milter -> amavisd-new, in the SMTP session)." in summary
    assert "| workers | delivered msg/s (95% CI) | batches | stopped by | CPU ms/msg mta / milter / amavis / clamd |" \
        in summary  # no R column: no queue runners
    assert "| 2 | 3.00 +- 0.20 | 8 | converged | 20 / 3 / 450 / 5 | 4.17 |" in summary
    assert "| workers | MTA-RX queue | in the SMTP session | SMTP in | MIME | virus scan | SpamAssassin | to MTA-TX " \
        "| rest | to the 250 | MTA-TX on | MTA on | timed |" in summary
    assert "| 2 | absent | 250 | absent | 0 | 0 | 400 | absent | 0 | 5 | absent | 40 | 30 |" in summary
    assert "absent: legs the milter topology does not have. There is no MTA-RX queue" in summary
    assert "Recommendation: `$max_servers = 2`, and amavisd-milter's -m follows it." in summary
    assert "Host limit: 2 cores / 478 CPU-ms per message" in summary  # 20 + 3 + 450 + 5
    with (tmp_path / "points.csv").open() as rows:
        row = list(csv.DictReader(rows))[1]
    assert row["topology"] == "milter" and row["cpu_ms_rx"] == "" and row["t_rx_queue_ms"] == ""
    assert row["queue_runners"] == "" and row["cpu_ms_mta"] == "20.0"
    again, meta = read_report(tmp_path)  # None stays None through points.json
    assert again == points and meta["topology"] == "milter"
    assert (tmp_path / "breakdown.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_dual_sweep_names_its_topology_and_keeps_its_columns(tmp_path: Path) -> None:
    write_report([point(1, 1.6, 0.1, 160), point(2, 3.0, 0.2, 200)], tmp_path, META, plots=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "Topology: **dual** (sendmail MTA-RX -> amavisd-new -> sendmail MTA-TX)." in summary
    assert "| workers | MTA-RX queue | SMTP in | MIME | virus scan | SpamAssassin | to MTA-TX | rest | MTA-TX on " \
        "| timed |" in summary
    assert "absent" not in summary and "amavisd-milter" not in summary


def test_a_report_of_an_earlier_version_reads_as_the_dual_chain(tmp_path: Path) -> None:
    write_report([point(1, 1.6, 0.1, 160)], tmp_path, META, plots=False)
    document = json.loads((tmp_path / "points.json").read_text())
    added = ("topology", "memory_mta_mib", "memory_milter_mib", "cpu_ms_mta", "cpu_ms_milter", "t_session_ms",
             "t_reply_ms", "t_mta_ms")
    document["points"] = [{k: v for k, v in row.items() if k not in added} for row in document["points"]]
    (tmp_path / "points.json").write_text(json.dumps(document))
    (again,), _ = read_report(tmp_path)
    assert again.topology == "dual" and again.cpu_ms_chain == 480
