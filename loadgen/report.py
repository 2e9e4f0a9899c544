"""How it is shown: one row per sweep point in CSV and JSON, a Markdown summary, plots."""

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from loadgen.knee import knee

__all__ = ["Point", "write_report"]


@dataclass(frozen=True)
class Point:
    """One sweep point. The field order is the fixed CSV column order."""

    workers: int
    queue_runners: int
    max_servers: int
    delivered_per_s: float  # median of per-second delivery counts in the steady window
    delivered_mean_per_s: float  # deliveries in the steady window / its length
    accepted_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p99_9_ms: float
    max_ms: float
    sent: int
    delivered: int
    lost: int  # accepted, expected, never arrived
    duplicated: int
    errors: int
    amavis_rss_mib: float  # all amavisd-new processes
    amavis_private_mib: float
    amavis_pss_mib: float  # what the processes cost together (shared pages divided)
    cpu_rx: float  # cores used on average over the load
    cpu_amavis: float
    cpu_clamd: float
    cpu_tx: float


COLUMNS = [f.name for f in fields(Point)]


def _summary(points: list[Point], meta: dict[str, object]) -> str:
    best = max(points, key=lambda p: p.delivered_per_s)
    knee_workers = knee([(p.workers, p.delivered_per_s) for p in points])
    lines = [
        "# Capacity sweep",
        "",
        f"Run {meta.get('started', '')}: {meta.get('description', '')}",
        "",
        "| workers | delivered/s (median) | (mean) | p50 ms | p99 ms | lost | amavisd-new RSS MiB | PSS MiB "
        "| CPU amavis |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in points:
        lines.append(f"| {p.workers} | {p.delivered_per_s:.1f} | {p.delivered_mean_per_s:.2f} | {p.p50_ms:.0f} | "
                     f"{p.p99_ms:.0f} | {p.lost} | {p.amavis_rss_mib:.0f} | {p.amavis_pss_mib:.0f} | "
                     f"{p.cpu_amavis:.2f} |")
    lines += ["", f"Best throughput: {best.delivered_per_s:.1f} msg/s with {best.workers} workers."]
    most = max(points, key=lambda p: p.workers)
    if knee_workers is not None and knee_workers == most.workers and len(points) > 1:
        lines.append(f"Knee: not reached. Throughput still rises at {most.workers} workers, the most measured: "
                     "sweep further.")
    elif knee_workers is not None:
        at_knee = next(p for p in points if p.workers == knee_workers)
        waste = most.amavis_pss_mib - at_knee.amavis_pss_mib
        lines.append(f"Knee: {knee_workers} workers reach 95% of the best throughput "
                     f"({at_knee.delivered_per_s:.1f} msg/s); going to {most.workers} workers adds "
                     f"{waste:.0f} MiB of memory (PSS) for at most "
                     f"{best.delivered_per_s - at_knee.delivered_per_s:.1f} msg/s more.")
    generator = meta.get("generator_msg_per_s")
    if isinstance(generator, int | float) and generator:
        fastest = max(p.accepted_per_s for p in points) or 1.0
        lines.append(f"Generator headroom: it sends {generator:.0f} msg/s into a null sink, "
                     f"{generator / fastest:.0f}x the fastest rate the chain accepted ({fastest:.1f} msg/s): "
                     "the generator did not limit this run.")
    lost = sum(p.lost for p in points)
    lines.append("Every accepted message arrived." if lost == 0 else
                 f"**{lost} accepted messages never arrived: this run is not clean.**")
    return "\n".join(lines) + "\n"


def _plots(points: list[Point], directory: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    workers = [p.workers for p in points]
    figure, throughput_axis = plt.subplots(figsize=(7, 4))
    throughput_axis.plot(workers, [p.delivered_per_s for p in points], "o-", color="tab:blue")
    throughput_axis.set_xlabel("amavisd-new workers (= MTA-RX queue runners)")
    throughput_axis.set_ylabel("delivered msg/s", color="tab:blue")
    memory_axis = throughput_axis.twinx()
    memory_axis.plot(workers, [p.amavis_rss_mib for p in points], "s--", color="tab:red", label="RSS")
    memory_axis.plot(workers, [p.amavis_pss_mib for p in points], "^:", color="tab:orange", label="PSS")
    memory_axis.set_ylabel("amavisd-new memory, MiB", color="tab:red")
    memory_axis.legend(loc="lower right")
    throughput_axis.set_title("Throughput and memory vs workers")
    figure.tight_layout()
    figure.savefig(directory / "throughput.png", dpi=100)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 4))
    for column, label in (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("max_ms", "max")):
        axis.plot(workers, [getattr(p, column) for p in points], "o-", label=label)
    axis.set_xlabel("amavisd-new workers (= MTA-RX queue runners)")
    axis.set_ylabel("end-to-end latency, ms")
    axis.set_yscale("log")
    axis.legend()
    axis.set_title("Latency percentiles vs workers")
    figure.tight_layout()
    figure.savefig(directory / "latency.png", dpi=100)
    plt.close(figure)


def write_report(points: list[Point], directory: Path, meta: dict[str, object], *, plots: bool = True) -> Path:
    """points.csv, points.json, summary.md (and throughput.png, latency.png) in `directory`."""
    if not points:
        raise ValueError("no sweep points to report")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "points.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for point in points:
            writer.writerow(asdict(point))
    knee_workers = knee([(p.workers, p.delivered_per_s) for p in points])
    document = {"meta": meta, "knee_workers": knee_workers, "columns": COLUMNS, "points": [asdict(p) for p in points]}
    (directory / "points.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / "summary.md").write_text(_summary(points, meta))
    if plots:
        _plots(points, directory)
    return directory
