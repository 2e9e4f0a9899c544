"""Sweeps set side by side: `python -m loadgen report A B` with several report folders, e.g.
one sweep per topology on the same machine. One throughput plot with every sweep's curve
and a Markdown table of their figures per worker count, each against the first sweep's
(the same verdicts as a sweep's own variant comparison, loadgen.show.summary.difference)."""

from pathlib import Path

from loadgen.experiments.points import Point, combine, knee_of
from loadgen.show.report import read_report
from loadgen.show.summary import difference

__all__ = ["Sweep", "compare", "comparison", "read_sweeps"]

Sweep = tuple[str, list[Point]]  # a label (its topology, and variant where not shipped) and its points


def read_sweeps(directories: list[Path]) -> list[Sweep]:
    """Each report folder's points (repeats merged), one curve per variant, labelled by
    topology; a label two folders share gets the folder's name after it."""
    curves: list[tuple[str, str, list[Point]]] = []
    for directory in directories:
        points, meta = read_report(directory)
        shown = combine(points)
        topology = str(meta.get("topology") or shown[0].topology)
        for variant in dict.fromkeys(p.variant for p in shown):
            label = topology if variant == "shipped" else f"{topology} {variant}"
            curves.append((label, directory.name, [p for p in shown if p.variant == variant]))
    labels = [label for label, _, _ in curves]
    return [(f"{label} ({name})" if labels.count(label) > 1 else label, mine) for label, name, mine in curves]


def comparison(sweeps: list[Sweep]) -> str:
    """The Markdown table of the sweeps side by side."""
    workers = sorted({p.workers for _, points in sweeps for p in points})
    at = [{p.workers: p for p in points} for _, points in sweeps]
    (base_label, _), others = sweeps[0], sweeps[1:]
    lines = ["# Capacity sweeps compared", "", "Delivered msg/s at saturation (95% interval); each sweep against "
             f"{base_label}, at the worker counts both measured:", "",
             "| workers | " + " | ".join(label for label, _ in sweeps) + "".join(
                 f" | {label} vs {base_label} | verdict" for label, _ in others) + " |",
             "| ---: |" + " ---: |" * len(sweeps) + " ---: | --- |" * len(others)]
    for count in workers:
        cells = [f"{p.throughput:.2f} +- {p.throughput_half_width:.2f}" if (p := mine.get(count)) else "-"
                 for mine in at]
        for mine in at[1:]:
            ours, ref = mine.get(count), at[0].get(count)
            if ours and ref:
                diff, spread, verdict = difference(ours, ref)
                cells += [f"{diff:+.2f} +- {spread:.2f}", verdict]
            else:
                cells += ["-", "-"]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    lines += ["", "The cost of a message and latency at each sweep's own common rate:", "",
              "| sweep | workers | CPU-ms per message (chain) | host busy | amavisd-new PSS MiB | common rate | p50 "
              "| p99 |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, points in sweeps:
        lines += [f"| {label} | {p.workers} | {p.cpu_ms_chain:.0f} | {p.host_busy:.0%} | {p.amavis_pss_mib:.0f} "
                  f"| {p.common_rate:g} msg/s | {p.common_p50_ms / 1000:.2f} s | {p.common_p99_ms / 1000:.2f} s |"
                  for p in points]
    lines.append("")
    for label, points in sweeps:
        knee = knee_of(points)
        lines.append(f"- {label}: " + (f"knee at {knee} workers" if knee is not None and len(points) > 1 else
                                       "no knee (one worker count)"))
    lines += ["", "Each sweep ran its own chains, one after the other: their intervals hold the noise within a run, "
              "not the drift of a shared machine between runs (`--repeats 3` measures that)."]
    return "\n".join(lines) + "\n"


def compare(directories: list[Path], out: Path, *, plots: bool = True) -> Path:
    """summary.md (the table) and throughput.png (every curve) in `out`."""
    sweeps = read_sweeps(directories)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(comparison(sweeps))
    if plots:
        from loadgen.show.plots import draw_throughput

        draw_throughput(sweeps, out / "throughput.png", title="Saturated throughput, sweep by sweep", dodge=0.05)
    return out
