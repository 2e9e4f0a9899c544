"""How the burst experiment (loadgen.experiments.burst) is kept and shown: one row of fixed columns
per (topology, N) in burst.csv and burst.json, a Markdown table in summary.md, and
burst.png (time to 250 and the filter's concurrency against N, a line per topology)."""

import csv
import json
import os
import statistics
from collections import Counter
from pathlib import Path

from loadgen.experiments.burst import BurstRun, Sample
from loadgen.measure.stats import Latency

__all__ = ["COLUMNS", "draw", "summarise", "summary_markdown", "window_samples", "write_burst_report"]

COLUMNS = [
    "topology", "sessions", "workers", "duration_s", "accepted", "accepted_per_s",
    "to250_p50_s", "to250_p95_s", "to250_max_s", "replies_4xx", "replies_5xx", "replies",
    "refused_sessions", "dropped_sessions", "unanswered", "delivered", "undelivered", "drain_s",
    "e2e_p50_s", "e2e_p95_s", "busy_max", "busy_median", "filter_connections_max",
    "filter_connections_median", "pdp_connections_max", "pdp_connections_median", "smtp_sessions_max",
    "smtp_sessions_median", "greeted_max", "never_greeted", "samples", "sample_interval_s", "memory_mib_total",
    "memory_mib",
    "amavis_pss_mib", "greet_p50_s", "greet_max_s", "load_max", "load_over_refuse_la", "refusing_logged",
    "client_errors", "load_average_start", "load_average_end", "plan_ran_out",
]
# sendmail's default RefuseLA: 12 per CPU (the receiving MTA's .mc leaves it); the container
# sees the host's load average, so another tenant's load counts too.
REFUSE_LA_PER_CPU = 12


def _seconds(latency: Latency, percentile: float | None) -> float:
    """A percentile (None: the maximum) of a histogram of milliseconds, in seconds."""
    if not latency.count:
        return 0.0
    histogram = latency.histogram
    value = histogram.get_max_value() if percentile is None else histogram.get_value_at_percentile(percentile)
    return round(value / 1000, 3)


def window_samples(samples: list[Sample], start: float, end: float) -> list[Sample]:
    """The samples taken while the load ran (the grace and the drain left out)."""
    return [s for s in samples if start <= s.at <= end]


def _spread(values: list[int]) -> tuple[int, float]:
    return (max(values), float(statistics.median(values))) if values else (0, 0.0)


def _by_class(replies: Counter[str], first: str) -> int:
    return sum(n for code, n in replies.items() if code.startswith(first))


def summarise(run: BurstRun) -> dict[str, object]:
    """One row of COLUMNS for a run."""
    e2e = Latency()
    for delivery, began in run.accepted.items():
        if delivery in run.arrivals:
            e2e.record(min(run.arrivals[delivery]) - began)
    window = window_samples(run.samples, run.started, run.load_ended)
    greet = Latency()
    for _, seconds in run.greetings:
        greet.record(seconds)
    refuse_la = REFUSE_LA_PER_CPU * (os.cpu_count() or 1)
    row: dict[str, object] = {
        "topology": run.topology, "sessions": run.sessions, "workers": run.workers, "duration_s": run.duration,
        "accepted": len(run.accepted), "accepted_per_s": round(len(run.accepted) / run.duration, 2),
        "to250_p50_s": _seconds(run.to_250, 50), "to250_p95_s": _seconds(run.to_250, 95),
        "to250_max_s": _seconds(run.to_250, None), "replies_4xx": _by_class(run.replies, "4"),
        "replies_5xx": _by_class(run.replies, "5"),
        "replies": " ".join(f"{code}:{n}" for code, n in sorted(run.replies.items())),
        "refused_sessions": run.refused_sessions, "dropped_sessions": run.dropped_sessions,
        "unanswered": run.unanswered, "delivered": e2e.count, "undelivered": len(run.accepted) - e2e.count,
        "drain_s": round(run.drained, 1), "e2e_p50_s": _seconds(e2e, 50), "e2e_p95_s": _seconds(e2e, 95),
        "greeted_max": run.greeted_max, "never_greeted": run.never_greeted, "samples": len(window),
        "sample_interval_s": round((window[-1].at - window[0].at) / (len(window) - 1), 2) if len(window) > 1 else 0.0,
        "memory_mib_total": round(sum(run.memory_mib.values()), 1),
        "memory_mib": " ".join(f"{name}={mib:.0f}" for name, mib in run.memory_mib.items()),
        "amavis_pss_mib": round(run.amavis_pss_mib, 1), "load_average_start": round(run.load_average[0], 2),
        "load_average_end": round(run.load_average[1], 2), "plan_ran_out": run.plan_ran_out,
        "greet_p50_s": _seconds(greet, 50), "greet_max_s": _seconds(greet, None),
        "load_max": max((s.load for s in window), default=0.0),
        "load_over_refuse_la": round(sum(s.load >= refuse_la for s in window) / len(window), 2) if window else 0.0,
        "refusing_logged": run.refusing_logged,
        "client_errors": " ".join(f"{k}:{n}" for k, n in run.client_errors.items()),
    }
    for name, values in (("busy", [s.busy for s in window]),
                         ("filter_connections", [s.filter_connections for s in window]),
                         ("pdp_connections", [s.pdp_connections for s in window]),
                         ("smtp_sessions", [s.sessions for s in window])):
        row[f"{name}_max"], row[f"{name}_median"] = _spread(values)
    return row


TABLE = [  # (column, heading) of summary.md's table
    ("topology", "topology"), ("sessions", "N"), ("greeted_max", "sessions open at once (max)"),
    ("never_greeted", "clients never greeted"),
    ("smtp_sessions_max", "SMTP connections in the MTA (max)"),
    ("busy_max", "busy amavisd-new children max"), ("busy_median", "median"),
    ("filter_connections_max", "connections into the filter max"), ("filter_connections_median", "median"),
    ("accepted", "accepted"), ("to250_p50_s", "time to 250 p50 s"), ("to250_p95_s", "p95 s"),
    ("to250_max_s", "max s"), ("replies", "4xx/5xx replies"), ("refused_sessions", "sessions refused"),
    ("dropped_sessions", "dropped"), ("unanswered", "no reply by the grace's end"),
    ("e2e_p50_s", "end to end p50 s"), ("e2e_p95_s", "p95 s"), ("undelivered", "undelivered after the drain"),
    ("memory_mib_total", "containers MiB"), ("amavis_pss_mib", "amavisd-new PSS MiB"),
    ("greet_p50_s", "connect to EHLO p50 s"), ("greet_max_s", "max s"), ("load_max", "host load max"),
    ("load_over_refuse_la", "share of samples at/over RefuseLA"),
]


def summary_markdown(rows: list[dict[str, object]], meta: dict[str, object]) -> str:
    lines = [
        "# Burst: N SMTP sessions at once, dual chain vs milter setup", "",
        f"Each point a fresh chain with $max_servers = {meta['workers']} (dual: R = {meta['workers']}; milter: "
        f"amavisd-milter -m {meta['workers']}); N sessions from outside into port 25 of the receiving MTA, "
        f"each sending clean messages to local mailboxes back to back for {meta['duration']} s; then up to "
        f"{meta['grace']} s for transactions under way, and up to {meta['drain']} s for accepted mail to reach "
        "the mailboxes (read every 0.5 s: end-to-end latency is good to about half a second). One run per "
        "point, no repeats: the spread shown is within a run (percentiles), not between runs. Concurrency: "
        f"sampled every {meta['interval']} s inside the chain's network namespace, during the window only. "
        "Memory: cgroup of each container as the window closed (sessions still open). sendmail refuses "
        "new connections while the load average is at or over RefuseLA (12 per CPU here); the containers see the "
        "host's load average, which another developer's test runs share. "
        f"Host load average (1 min) before the run: {meta['load_average_before']}, after: "
        f"{meta['load_average_after']} (the host is shared).", "",
        "| " + " | ".join(heading for _, heading in TABLE) + " |",
        "|" + "---|" * len(TABLE),
    ]
    lines += ["| " + " | ".join(str(row[column]) or "-" for column, _ in TABLE) + " |" for row in rows]
    ran_out = [f"{row['topology']} N={row['sessions']}" for row in rows if row["plan_ran_out"]]
    if ran_out:
        lines += ["", f"The pre-generated messages ran out in: {', '.join(ran_out)} (raise --messages)."]
    return "\n".join(lines) + "\n"


def draw(rows: list[dict[str, object]], path: Path, workers: int) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4.2))
    for topology in dict.fromkeys(str(row["topology"]) for row in rows):
        mine = [row for row in rows if row["topology"] == topology]
        n = [row["sessions"] for row in mine]
        line = left.plot(n, [row["to250_p95_s"] for row in mine], "o-", label=f"{topology} p95")[0]
        left.plot(n, [row["to250_max_s"] for row in mine], "x--", color=line.get_color(), label=f"{topology} max")
        middle.plot(n, [row["busy_max"] for row in mine], "o-", color=line.get_color(),
                    label=f"{topology}: busy amavisd-new children")
        middle.plot(n, [row["filter_connections_max"] for row in mine], "s--", color=line.get_color(),
                    label=f"{topology}: connections into the filter")
        right.plot(n, [row["accepted_per_s"] for row in mine], "o-", color=line.get_color(), label=topology)
    middle.axhline(workers, color="grey", linewidth=0.8, linestyle=":", label=f"$max_servers = {workers}")
    for axis, ylabel, title in ((left, "seconds", "Time from end of DATA to the 250"),
                                (middle, "max during the window", "Filter concurrency"),
                                (right, "msg/s accepted", "Accepted by the receiving MTA")):
        axis.set_xlabel("concurrent SMTP sessions (N)")
        axis.set_ylabel(ylabel)
        axis.set_ylim(bottom=0)
        axis.set_title(title)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_burst_report(runs: list[BurstRun], directory: Path, meta: dict[str, object], *,
                       plots: bool = True) -> list[dict[str, object]]:
    """burst.csv, burst.json, summary.md and burst.png in `directory`; the rows."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [summarise(run) for run in runs]
    with (directory / "burst.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    samples = {f"{run.topology}-{run.sessions}": [[round(s.at - run.started, 2), s.load, s.busy, s.sessions,
                                                   s.filter_connections, s.pdp_connections] for s in run.samples]
               for run in runs}
    document = {"meta": meta, "columns": COLUMNS, "rows": rows,
                "samples_columns": ["t_s", "load", "busy", "smtp_sessions", "filter_connections", "pdp_connections"],
                "samples": samples}
    (directory / "burst.json").write_text(json.dumps(document, indent=1) + "\n")
    (directory / "summary.md").write_text(summary_markdown(rows, meta))
    if plots and rows:
        draw(rows, directory / "burst.png", int(str(meta["workers"])))
    return rows
