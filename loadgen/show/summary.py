"""The sweep's Markdown summary: tables per variant, and what the figures allow one to
conclude (the knee, the recommendation, the CPU verdict), and no more."""

from harness.topology import TOPOLOGIES
from loadgen.experiments.points import Point, knee_of, variants
from loadgen.measure.breakdown import ALL_LEGS, LEGS

__all__ = ["difference", "summary"]

# The breakdown table's column per leg (loadgen.measure.breakdown); the dual chain's table shows its
# own legs, the milter topology's all of them, those it does not have as "absent".
LEG_COLUMNS = {"rx_queue": "MTA-RX queue", "session": "in the SMTP session", "receive": "SMTP in", "mime": "MIME",
               "virus": "virus scan", "spam": "SpamAssassin", "forward": "to MTA-TX", "other": "rest",
               "reply": "to the 250", "tx": "MTA-TX on", "mta": "MTA on"}
ABSENT = ("absent: legs the milter topology does not have. There is no MTA-RX queue (a message waits for "
          "amavisd-new inside the SMTP session, before its 250), no SMTP in from MTA-RX and no passing to MTA-TX "
          "(amavisd-milter hands amavisd-new the message as a file over AM.PDP and gets a verdict back), and no "
          "MTA-TX (the one MTA delivers after the 250).")


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def _variant_summary(points: list[Point], cores: int, enough: float, rate_from: str, topology: str) -> list[str]:
    daemons, dual = TOPOLOGIES[topology].daemons, topology == "dual"  # R: only the dual chain has queue runners
    lines = [
        f"| workers |{' R |' if dual else ''} delivered msg/s (95% CI) | batches | stopped by | CPU ms/msg "
        f"{' / '.join(daemons)} | host limit msg/s | of it | host busy | amavisd-new PSS MiB | memory MiB (all) "
        "| OOM kills |",
        f"| ---: |{' ---: |' if dual else ''} ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in points:
        share = f"{p.throughput / p.host_limit_per_s:.0%}" if p.host_limit_per_s else "-"
        cost = (" / ".join(f"{p.cpu_ms_of(s) or 0:.0f}" for s in daemons) + f" | {p.host_limit_per_s:.2f} | {share}"
                if p.throughput > 0 else "nothing delivered | - | -")
        lines.append(
            f"| {p.workers} |{f' {p.queue_runners} |' if dual else ''} {p.throughput:.2f} +- "
            f"{p.throughput_half_width:.2f} | {p.batches} "
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
    legs = LEGS if dual else ALL_LEGS
    lines += ["", "Where the time goes at the common rate (mean ms per message, remote recipients):", "",
              "| workers | " + " | ".join(LEG_COLUMNS[leg] for leg in legs) + " | timed |",
              "| ---: |" + " ---: |" * (len(legs) + 1)]
    for p in points:
        cells = ("absent" if (ms := p.leg_ms(leg)) is None else f"{ms:.0f}" for leg in legs)
        lines.append(f"| {p.workers} | " + " | ".join(cells) + f" | {p.timed_messages} |")
    if not dual:
        lines.append(ABSENT)
    if below := [p for p in points if p.throughput < rate]:
        lines.append("At " + ", ".join(str(p.workers) for p in below) + " workers the capacity measured is below the "
                     "common rate: latency there is that of an overloaded chain.")
    lines += ["", *_conclusions(points, cores, enough, topology)]
    return lines


def _conclusions(points: list[Point], cores: int, enough: float, topology: str) -> list[str]:
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
        runners = (f"$max_servers = {knee_workers}" if at.queue_runners is None else
                   f"R = $max_servers = {knee_workers}" if at.queue_runners == knee_workers else
                   f"R = {at.queue_runners}, $max_servers = {knee_workers}")
        firm = (f" (its interval is wider than +-{enough:.0%}: a longer --cap would firm this up)"
                if at.interval.relative > enough else "")
        follows = ", and amavisd-milter's -m follows it" if at.queue_runners is None else ""  # AMAVIS_MAX_SERVERS
        lines.append(f"Recommendation: `{runners}`{follows}{firm}.")
        lines.append(f"Host limit: {cores} cores / {at.cpu_ms_chain:.0f} CPU-ms per message = "
                     f"{at.host_limit_per_s:.2f} msg/s for the chain alone (the generator adds "
                     f"{at.cpu_ms_generator:.0f} CPU-ms/msg); at the knee the host's cores were "
                     f"{at.host_busy:.0%} busy: " + _cpu_verdict(at.host_busy, topology))
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


def _cpu_verdict(busy: float, topology: str) -> str:
    waits = ("MTA-RX's queue runners pause between runs, I/O, locks" if topology == "dual" else
             "the hand-overs between sendmail, amavisd-milter and amavisd-new, I/O, locks")
    short = "the queue runners' pauses, I/O, locks" if topology == "dual" else waits
    if busy >= 0.9:
        return "CPU-bound; more workers cannot help on this host."
    if busy >= 0.7:
        return (f"nearly CPU-bound; the rest is waiting ({waits}), which more workers can fill only until the "
                "cores run out.")
    return f"not CPU-bound; the limit is a wait ({short}), not the cores."


def summary(points: list[Point], meta: dict[str, object]) -> str:
    cores = int(str(meta.get("cores") or 1))
    enough = float(str(meta.get("enough") or 0.10))
    rate_from = str(meta.get("common_rate_from") or "the sweep's common rate")
    topology = str(meta.get("topology") or points[0].topology)  # reports from before topologies: dual
    lines = ["# Capacity sweep", "", f"Run {meta.get('started', '')}: {meta.get('description', '')}", "",
             f"Topology: **{topology}** ({TOPOLOGIES[topology].chain}).", ""]
    names = variants(points)
    for name in names:
        if len(names) > 1:
            lines += [f"## Variant: {name}", ""]
        lines += [*_variant_summary([p for p in points if p.variant == name], cores, enough, rate_from, topology), ""]
    if len(names) > 1:
        lines += [*_comparison(points, names, topology), ""]
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


def difference(p: Point, ref: Point) -> tuple[float, float, str]:
    """p's throughput against ref's: the difference of the means, a conservative 95%
    half-width (the two half-widths added in quadrature), and what that allows one to say."""
    diff = p.throughput - ref.throughput
    spread = (p.throughput_half_width ** 2 + ref.throughput_half_width ** 2) ** 0.5
    verdict = ("noise larger than the effect: no conclusion" if abs(diff) <= spread else
               f"{'faster' if diff > 0 else 'slower'} by {abs(diff) / ref.throughput:.0%}")
    return diff, spread, verdict


def _comparison(points: list[Point], names: list[str], topology: str) -> list[str]:
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
            diff, spread, verdict = difference(p, ref)
            lines.append(f"| {p.workers} | {name} | {p.throughput:.2f} | {ref.throughput:.2f} | {diff:+.2f} +- "
                         f"{spread:.2f} | {verdict} |")
    # The delivering MTA: MTA-TX (with its DKIM milter), or the milter topology's one MTA.
    mta, whose = ("tx", "MTA-TX's includes the DKIM milter, which runs in its container") if topology == "dual" else (
        "mta", "the MTA's is all its SMTP sessions and deliveries")
    lines += ["", f"The cost of a message against {base} (CPU-ms per delivered message, from the cgroup counters "
              f"of the steady window; {whose}):", "",
              f"| workers | variant | {mta} | vs {base} | chain | vs {base} |",
              "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for name in names[1:]:
        for p in (p for p in points if p.variant == name):
            ref = next((r for r in points if r.variant == base and r.workers == p.workers), None)
            if ref is not None:
                ours, theirs = p.cpu_ms_of(mta) or 0.0, ref.cpu_ms_of(mta) or 0.0
                lines.append(f"| {p.workers} | {name} | {ours:.1f} | {theirs:.1f} "
                             f"({ours - theirs:+.1f}) | {p.cpu_ms_chain:.0f} | {ref.cpu_ms_chain:.0f} "
                             f"({p.cpu_ms_chain - ref.cpu_ms_chain:+.0f}) |")
    lines.append("")
    lines.append("The intervals are over the repeats: they hold the spread between chains." if repeated else
                 "Each row rests on one chain per variant: its intervals hold the noise within a run, not the spread "
                 "between runs, which on a shared machine can be as large (`--repeats 3` measures it).")
    return lines
