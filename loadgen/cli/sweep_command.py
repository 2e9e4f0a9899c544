"""What `python -m loadgen sweep` does once its options are parsed (loadgen.cli.options): each
worker count's chain in turn, measured (loadgen.experiments.sweep), then the report (loadgen.show.report)."""

import argparse
import os
from dataclasses import replace
from pathlib import Path

from harness import StackError
from harness.topology import TOPOLOGIES
from loadgen.cli.commands import console, workload_of
from loadgen.experiments.sweep import SweepSettings, measure_point, timestamp
from loadgen.experiments.variants import SHIPPED, Variant, runner_fields
from loadgen.send.workload import pregenerate
from loadgen.show.live import Progress
from loadgen.show.report import write_report
from siteconfig.policy import current_policy

__all__ = ["cmd_sweep"]


def _variants(args: argparse.Namespace) -> list[Variant]:
    """--variants, or the one variant the shorthand flags describe."""
    if args.variants:
        return [Variant.parse(text) for text in args.variants.split(",")]
    latency = Variant.parse(f"dns={args.dns_latency}").chain.dns_latency if args.dns_latency else SHIPPED.dns_latency
    return [Variant(replace(SHIPPED, spam_checks=not args.no_spamassassin, virus_checks=not args.no_clamav,
                            tmpfs=args.tmpfs, amavis_memory=args.amavis_memory, sa_network=args.sa_network,
                            dns_latency=latency, **runner_fields(args.queue_runners)))]


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.quick:
        args.workers = [1, 2, 4]
        args.batch, args.cap, args.patience, args.common_duration = min(args.batch, 5.0), min(args.cap, 28.0), 20, 15.0
        args.warmup, args.bench_messages = min(args.warmup, 3.0), 0
    topology = TOPOLOGIES[args.topology]
    variants = _variants(args)
    for variant in variants:
        try:
            variant.check(topology.name)
        except ValueError as bad:
            raise ValueError(str(bad) if args.variants else f"--queue-runners {args.queue_runners}: {bad}") from None
    # Every point's chain, its R derived with it, before any chain starts: one that cannot be
    # stops the sweep here. Each point reads its R from its settings from then on.
    chains = {(variant, workers): variant.settings(workers) for variant in variants for workers in args.workers}
    if not 1 <= args.repeats <= 20:
        raise ValueError(f"--repeats must be between 1 and 20, got {args.repeats}")
    settings = SweepSettings(warmup=args.warmup, batch=args.batch, cap=args.cap, precision=args.precision,
                             enough=args.enough, patience=min(args.patience, args.cap),
                             sessions=args.sessions, drain=args.drain,
                             common_rate=args.rate or current_policy().capacity.production_rate,
                             common_duration=args.common_duration)
    rate_from = ("--rate" if args.rate else "the policy's capacity.production_rate" if settings.common_rate
                 else f"{settings.common_share:.0%} of the first point's capacity")
    workload = workload_of(args)
    saturation_plan, common_plan = pregenerate(args.messages, workload), pregenerate(
        args.messages, replace(workload, seed=workload.seed + 1))
    directory = Path(args.reports) / timestamp()
    generator = None
    if args.bench_messages:
        from loadgen.experiments.bench import run_bench

        console.print("measuring the generator's own rate (loadgen bench)")
        generator = run_bench(messages=args.bench_messages, rounds=1)
    # Each worker count's variants and repeats in turn (A B A B ...), so drift of the machine
    # over the sweep falls on all of them alike.
    order = [(chains[variant, workers], variant, repeat) for workers in sorted(args.workers)
             for repeat in range(1, args.repeats + 1) for variant in variants]
    console.print(f"{topology.name} topology ({topology.chain}): sweep over workers {sorted(args.workers)}, "
                  f"variants {[v.label for v in variants]}: batches of "
                  f"{settings.batch:g} s until +-{settings.precision:.0%} (+-{settings.enough:.0%} after "
                  f"{settings.patience:g} s, at most {settings.cap:g} s) per point; report in {directory}")
    points, failed = [], []
    try:
        for chain, variant, repeat in order:
            name = f"{chain.workers} workers, {variant.label}" + (f", repeat {repeat}" if args.repeats > 1 else "")
            console.print(f"[bold]{name}[/]: starting a chain")
            try:
                with Progress(console, name) as progress:
                    point = measure_point(chain, variant.label, saturation_plan, common_plan, settings,
                                          progress=progress, repeat=repeat, topology=topology)
            except (StackError, ValueError) as failure:  # e.g. too little memory to start: say so, go on
                console.print(f"[red]  not measured:[/] {str(failure).splitlines()[0]}")
                failed.append(f"{name}: {str(failure).splitlines()[0]}")
                continue
            except Exception as failure:  # a fault of the point's own; the others still count
                console.print_exception()
                failed.append(f"{name}: {type(failure).__name__}: {failure}")
                continue
            points.append(point)
            if not settings.common_rate:  # the first point sets the common rate for all
                settings = replace(settings, common_rate=point.common_rate)
            console.print(f"  -> {point.throughput:.2f} +- {point.throughput_half_width:.2f} msg/s "
                          f"({point.batches} batches, {point.stopped_by}); at {point.common_rate:g} msg/s p50 "
                          f"{point.common_p50_ms:.0f} ms, p99 {point.common_p99_ms:.0f} ms; lost {point.lost}")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: reporting the points measured so far[/]")
    if not points:
        console.print("[red]no point was measured[/]")
        return 1
    meta = {"started": directory.name, "topology": topology.name, "chain": topology.chain,
            "workers": sorted(args.workers), "variants": [v.label for v in variants],
            "repeats": args.repeats,
            "batch_s": settings.batch, "cap_s": settings.cap, "precision": settings.precision,
            "enough": settings.enough, "patience_s": settings.patience,
            "warmup_s": settings.warmup, "common_rate": settings.common_rate, "common_rate_from": rate_from,
            "common_duration_s": settings.common_duration, "messages": len(saturation_plan),
            "spam": args.spam, "virus": args.virus, "cores": os.cpu_count(), "failed": failed,
            "generator_msg_per_s": round(generator.ours_per_s) if generator else None,
            "smtp_source_msg_per_s": round(generator.smtp_source_per_s) if generator else None,
            "description": f"workers {sorted(args.workers)}, variants {', '.join(v.label for v in variants)}; "
                           f"saturated in batches of {settings.batch:g} s (to +-{settings.precision:.0%}, "
                           f"+-{settings.enough:.0%} after {settings.patience:g} s, at most {settings.cap:g} s), "
                           f"then {settings.common_duration:g} s at a common "
                           f"{settings.common_rate:g} msg/s; {os.cpu_count()} cores"}
    write_report(points, directory, meta, plots=not args.no_plots)
    console.print((directory / "summary.md").read_text())
    return 0 if all(p.lost == 0 for p in points) and not failed else 1
