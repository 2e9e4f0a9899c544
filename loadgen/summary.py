"""The sweep's Markdown summary: tables per variant, and what the figures allow one to
conclude (the knee, the recommendation, the CPU verdict), and no more."""

from loadgen.points import Point, knee_of, variants

__all__ = ["summary"]


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def _variant_summary(points: list[Point], cores: int, enough: float, rate_from: str) -> list[str]:
    lines = [
        "| workers | R | delivered msg/s (95% CI) | batches | stopped by | CPU ms/msg rx / amavis / clamd / tx "
        "| host limit msg/s | of it | host busy | amavisd-new PSS MiB | memory MiB (all) | OOM kills |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in points:
        share = f"{p.throughput / p.host_limit_per_s:.0%}" if p.host_limit_per_s else "-"
        cost = (f"{p.cpu_ms_rx:.0f} / {p.cpu_ms_amavis:.0f} / {p.cpu_ms_clamd:.0f} / {p.cpu_ms_tx:.0f} "
                f"| {p.host_limit_per_s:.2f} | {share}" if p.throughput > 0 else "nothing delivered | - | -")
        lines.append(
            f"| {p.workers} | {p.queue_runners} | {p.throughput:.2f} +- {p.throughput_half_width:.2f} | {p.batches} "
            f"| {p.stopped_by} | {cost} | {p.host_busy:.0%} | {p.amavis_pss_mib:.0f} | {p.memory_mib:.0f} "
            f"| {p.oom_kills} |")
    rate = points[0].common_rate
    lines += ["", f"Latency at a common offered rate of {rate:g} msg/s ({rate_from}; open loop, from each "
              "message's scheduled time; the same traffic for every point):", "",
              "| workers | messages | delivered msg/s | p50 | p90 | p99 | max | late sends | verdict |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for p in points:
        verdict = (f"**overloaded**: backlog grew {p.common_backlog_growth:.2f} msg/s, {p.common_late} sends late"
                   if p.common_overloaded else "kept up")
        lines.append(f"| {p.workers} | {p.common_messages} | {p.common_delivered_per_s:.2f} | {_ms(p.common_p50_ms)} "
                     f"| {_ms(p.common_p90_ms)} | {_ms(p.common_p99_ms)} | {_ms(p.common_max_ms)} "
                     f"| {p.common_late} | {verdict} |")
    lines += ["", "Where the time goes at the common rate (mean ms per message, remote recipients):", "",
              "| workers | MTA-RX queue | SMTP in | MIME | virus scan | SpamAssassin | to MTA-TX | rest "
              "| MTA-TX on | timed |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for p in points:
        lines.append(f"| {p.workers} | {p.t_rx_queue_ms:.0f} | {p.t_receive_ms:.0f} | {p.t_mime_ms:.0f} "
                     f"| {p.t_virus_ms:.0f} | {p.t_spam_ms:.0f} | {p.t_forward_ms:.0f} | {p.t_other_ms:.0f} "
                     f"| {p.t_tx_ms:.0f} | {p.timed_messages} |")
    if below := [p for p in points if p.throughput < rate]:
        lines.append("At " + ", ".join(str(p.workers) for p in below) + " workers the capacity measured is below the "
                     "common rate: latency there is that of an overloaded chain.")
    lines += ["", *_conclusions(points, cores, enough)]
    return lines


def _conclusions(points: list[Point], cores: int, enough: float) -> list[str]:
    lines = []
    best = max(points, key=lambda p: p.throughput)
    knee_workers = knee_of(points)
    if len(points) == 1:
        lines.append("One worker count measured: no knee to name (sweep several with --workers).")
    elif knee_workers is not None:
        at = next(p for p in points if p.workers == knee_workers)
        lines.append(f"**Knee at {knee_workers} workers ({at.throughput:.2f} +- {at.throughput_half_width:.2f} "
                     f"msg/s)**: the fewest workers whose 95% interval overlaps the best point's ({best.workers} "
                     f"workers, {best.throughput:.2f} +- {best.throughput_half_width:.2f} msg/s).")
        for p in (p for p in points if p.workers > knee_workers):
            noise = " (within the noise)" if p.interval.overlaps(at.interval) else ""
            lines.append(f"- {p.workers} workers instead: {p.amavis_pss_mib - at.amavis_pss_mib:+.0f} MiB amavisd-new "
                         f"PSS, p50 at the common rate {_ms(p.common_p50_ms)} vs {_ms(at.common_p50_ms)}, "
                         f"throughput {p.throughput - at.throughput:+.2f} msg/s{noise}")
        if knee_workers == max(p.workers for p in points):
            lines.append(f"The knee is the most workers measured: throughput may still rise beyond {knee_workers}; "
                         "sweep further before deciding.")
        runners = (f"R = $max_servers = {knee_workers}" if at.queue_runners == knee_workers else
                   f"R = {at.queue_runners}, $max_servers = {knee_workers}")
        firm = (f" (its interval is wider than +-{enough:.0%}: a longer --cap would firm this up)"
                if at.interval.relative > enough else "")
        lines.append(f"Recommendation: `{runners}`{firm}.")
        lines.append(f"Host limit: {cores} cores / {at.cpu_ms_chain:.0f} CPU-ms per message = "
                     f"{at.host_limit_per_s:.2f} msg/s for the chain alone (the generator adds "
                     f"{at.cpu_ms_generator:.0f} CPU-ms/msg); at the knee the host's cores were "
                     f"{at.host_busy:.0%} busy: " + _cpu_verdict(at.host_busy))
    for p in (p for p in points if p.amavis_restarts):
        lines.append(f"At {p.workers} workers amavisd-new's container restarted {p.amavis_restarts} times (its "
                     "master died): its counters began again, so that point's CPU figures are incomplete.")
    if wide := [p for p in points if p.interval.relative > enough]:
        loose = ", ".join(f"{p.workers} ({p.interval.relative:.0%})" for p in wide)
        lines.append(f"Wider than +-{enough:.0%} at workers (half-width in brackets): {loose}; a longer --cap "
                     "narrows them.")
    lines.append("Saturation latency (in points.csv) is set by the generator's in-flight setting, not by the "
                 "chain; compare the common-rate latency instead.")
    return lines


def _cpu_verdict(busy: float) -> str:
    if busy >= 0.9:
        return "CPU-bound; more workers cannot help on this host."
    if busy >= 0.7:
        return ("nearly CPU-bound; the rest is waiting (MTA-RX's queue runners pause between runs, I/O, locks), "
                "which more workers can fill only until the cores run out.")
    return "not CPU-bound; the limit is a wait (the queue runners' pauses, I/O, locks), not the cores."


def summary(points: list[Point], meta: dict[str, object]) -> str:
    cores = int(str(meta.get("cores") or 1))
    enough = float(str(meta.get("enough") or 0.10))
    rate_from = str(meta.get("common_rate_from") or "the sweep's common rate")
    lines = ["# Capacity sweep", "", f"Run {meta.get('started', '')}: {meta.get('description', '')}", ""]
    names = variants(points)
    for name in names:
        if len(names) > 1:
            lines += [f"## Variant: {name}", ""]
        lines += [*_variant_summary([p for p in points if p.variant == name], cores, enough, rate_from), ""]
    if len(names) > 1:
        lines += [*_comparison(points, names), ""]
    generator = meta.get("generator_msg_per_s")
    if isinstance(generator, int | float) and generator:
        fastest = max(p.accepted_per_s for p in points) or 1.0
        lines.append(f"Generator headroom: it sends {generator:.0f} msg/s into a null sink, "
                     f"{generator / fastest:.0f}x the fastest rate the chain accepted ({fastest:.1f} msg/s): "
                     "the generator did not limit this run.")
    failed = meta.get("failed")
    if isinstance(failed, list) and failed:
        lines.append("**Not measured:** " + "; ".join(str(f) for f in failed) + ".")
    lost, queued = sum(p.lost for p in points), sum(p.queued for p in points)
    if queued:
        lines.append(f"{queued} accepted messages had not arrived when their point ended but were still in the "
                     "MTAs' queues: delayed, not lost (" + ", ".join(f"{p.workers} workers {p.variant}: {p.queued}"
                                                                     for p in points if p.queued) + ").")
    lines.append("Every accepted message arrived." if lost == queued == 0 else
                 "No accepted message was lost." if lost == 0 else
                 f"**{lost} accepted messages never arrived and are in no queue: this run is not clean.**")
    return "\n".join(lines) + "\n"


def _comparison(points: list[Point], names: list[str]) -> list[str]:
    """Each variant against the first, at the worker counts both measured: the difference
    of the means with a conservative interval (the half-widths added in quadrature)."""
    base = names[0]
    lines = [f"## Variants against {base}", "",
             "| workers | variant | msg/s | vs " + base + " | difference (95%) | verdict |",
             "| ---: | --- | ---: | ---: | ---: | --- |"]
    repeated = any(p.repeat == 0 for p in points)
    for name in names[1:]:
        for p in (p for p in points if p.variant == name):
            ref = next((r for r in points if r.variant == base and r.workers == p.workers), None)
            if ref is None:
                continue
            diff = p.throughput - ref.throughput
            spread = (p.throughput_half_width ** 2 + ref.throughput_half_width ** 2) ** 0.5
            verdict = ("noise larger than the effect: no conclusion" if abs(diff) <= spread else
                       f"{'faster' if diff > 0 else 'slower'} by {abs(diff) / ref.throughput:.0%}")
            lines.append(f"| {p.workers} | {name} | {p.throughput:.2f} | {ref.throughput:.2f} | {diff:+.2f} +- "
                         f"{spread:.2f} | {verdict} |")
    lines += ["", f"The cost of a message against {base} (CPU-ms per delivered message, from the cgroup counters "
              "of the steady window; MTA-TX's includes the DKIM milter, which runs in its container):", "",
              f"| workers | variant | tx | vs {base} | chain | vs {base} |",
              "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for name in names[1:]:
        for p in (p for p in points if p.variant == name):
            ref = next((r for r in points if r.variant == base and r.workers == p.workers), None)
            if ref is not None:
                lines.append(f"| {p.workers} | {name} | {p.cpu_ms_tx:.1f} | {ref.cpu_ms_tx:.1f} "
                             f"({p.cpu_ms_tx - ref.cpu_ms_tx:+.1f}) | {p.cpu_ms_chain:.0f} | {ref.cpu_ms_chain:.0f} "
                             f"({p.cpu_ms_chain - ref.cpu_ms_chain:+.0f}) |")
    lines.append("")
    lines.append("The intervals are over the repeats: they hold the spread between chains." if repeated else
                 "Each row rests on one chain per variant: its intervals hold the noise within a run, not the spread "
                 "between runs, which on a shared machine can be as large (`--repeats 3` measures it).")
    return lines
