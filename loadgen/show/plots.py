"""The sweep's plots: throughput with its interval, latency at the common rate, memory,
and where the time goes (a stacked bar per worker count); and several sweeps' throughput
in one plot (loadgen.show.compare)."""

from pathlib import Path

from loadgen.experiments.points import Point, variants
from loadgen.measure.breakdown import LEG_NAMES, legs_of

__all__ = ["draw", "draw_throughput"]

XLABEL = "amavisd-new workers ($max_servers)"


def draw(points: list[Point], directory: Path) -> None:
    """throughput.png, latency.png, memory.png, breakdown.png in `directory`."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = variants(points)
    draw_throughput([(name, [p for p in points if p.variant == name]) for name in names], directory / "throughput.png")

    figure, axis = plt.subplots(figsize=(7, 4))
    for column, label in (("common_p50_ms", "p50"), ("common_p90_ms", "p90"), ("common_p99_ms", "p99")):
        for name in names:
            mine = [p for p in points if p.variant == name]
            axis.plot([p.workers for p in mine], [getattr(p, column) / 1000 for p in mine], "o-",
                      label=f"{label} {name}" if len(names) > 1 else label)
    _finish(plt, figure, axis, "end-to-end latency, s", f"Latency at a common rate of {points[0].common_rate:g} msg/s",
            directory / "latency.png")

    figure, axis = plt.subplots(figsize=(7, 4))
    for name in names:
        mine = [p for p in points if p.variant == name]
        suffix = f" ({name})" if len(names) > 1 else ""
        workers = [p.workers for p in mine]
        axis.plot(workers, [p.amavis_pss_mib for p in mine], "^-", label=f"amavisd-new PSS{suffix}")
        axis.plot(workers, [p.memory_mib for p in mine], "s--", label=f"all four containers{suffix}")
    _finish(plt, figure, axis, "MiB", "Memory vs workers", directory / "memory.png")

    base = [p for p in points if p.variant == names[0]]
    figure, axis = plt.subplots(figsize=(10, 4.5))
    labels = [str(p.workers) for p in base]
    bottom = [0.0] * len(base)
    for leg in legs_of(base[0].topology):
        heights = [p.leg_ms(leg) or 0.0 for p in base]
        axis.bar(labels, heights, bottom=bottom, label=LEG_NAMES[leg])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the bars, not on them
    _finish(plt, figure, axis, "mean ms per message", f"Where the time goes at {points[0].common_rate:g} msg/s "
            f"({names[0]}{'' if base[0].topology == 'dual' else ', ' + base[0].topology + ' topology'})",
            directory / "breakdown.png", legend=False)


def draw_throughput(curves: list[tuple[str, list[Point]]], path: Path, *,
                    title: str = "Capacity: saturated throughput vs workers", dodge: float = 0.0) -> None:
    """Each curve's throughput with its 95% interval against the workers, in one plot;
    `dodge` shifts each curve sideways by that many workers, so intervals do not overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for index, (label, mine) in enumerate(curves):
        shift = dodge * (index - (len(curves) - 1) / 2)
        axis.errorbar([p.workers + shift for p in mine], [p.throughput for p in mine],
                      yerr=[p.throughput_half_width for p in mine], fmt="o-", capsize=4, label=label)
    _finish(plt, figure, axis, "delivered msg/s (95% interval)", title, path)


def _finish(plt, figure, axis, ylabel: str, title: str, path: Path, *,  # type: ignore[no-untyped-def]
            legend: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # worker counts: no 1.5 workers
    axis.set_xlabel(XLABEL)
    axis.set_ylabel(ylabel)
    axis.set_ylim(bottom=0)
    if legend:
        axis.legend()
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
