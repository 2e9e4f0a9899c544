"""python -m loadgen: `run` offers load to a running chain, `sweep` finds the knee.

Every option has an environment variable twin (LOADGEN_<OPTION>), and a default.
"""

import argparse
import json
import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from harness import SinkClient, Stack, StackError
from loadgen.arrivals import watchers_for
from loadgen.live import Progress
from loadgen.report import Point, write_report
from loadgen.runner import LATE_AFTER, injections, run_load
from loadgen.stats import mean_rate
from loadgen.sweep import LATE_SHARE, OVERLOAD_GROWTH, SweepSettings, Variant, measure_point, timestamp
from loadgen.workload import Mix, Workload, pregenerate
from siteconfig.policy import current_policy

console = Console(stderr=True)


def _env_name(name: str) -> str:
    return f"LOADGEN_{name.upper().replace('-', '_')}"


def _env(name: str, default: object) -> str:
    return os.environ.get(_env_name(name), str(default))


def _add(parser: argparse.ArgumentParser, name: str, default: object, kind: type, help_text: str) -> None:
    env_name = _env_name(name)
    parser.add_argument(f"--{name}", type=kind, default=kind(_env(name, default)),
                        help=f"{help_text} (default {default}; env {env_name})")


def _workers(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"worker counts must be integers, got {text!r}") from None
    if not counts or min(counts) < 1 or max(counts) > 100:
        raise argparse.ArgumentTypeError(f"worker counts must be between 1 and 100, got {text!r}")
    return counts


def _workload(args: argparse.Namespace) -> Workload:
    return Workload(mix=Mix(spam=args.spam, virus=args.virus), median_size=args.median_size, seed=args.seed,
                    local_share=args.local_share, submission_share=args.submission_share)


def _reachable(args: argparse.Namespace) -> str | None:
    """Why the chain of `make up` cannot be reached at the given addresses, or None."""
    ports = [("--port", args.port)] + ([("--submission-port", args.submission_port)] if args.submission_share else [])
    for option, port in ports:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
        except OSError as refused:
            return (f"nothing answers SMTP at 127.0.0.1:{port} ({option}): {refused.strerror or refused}. "
                    "Is a chain up? `make up` starts one (and prints its ports).")
    try:
        SinkClient(args.sink_url, timeout=5).messages(since=2**62)
    except (OSError, ValueError) as refused:
        reason = getattr(refused, "reason", refused)
        return (f"the sink's API does not answer at {args.sink_url} (--sink-url): {reason}. "
                "Is a chain up? `make up` starts one (and prints its ports).")
    return None


def cmd_run(args: argparse.Namespace) -> int:
    if problem := _reachable(args):
        console.print(f"[red]error:[/] {problem}")
        return 2
    plan = pregenerate(args.messages, _workload(args))
    console.print(f"pre-generated {len(plan)} messages; {args.mode} load on 127.0.0.1:{args.port}"
                  + (f" and {args.submission_port} (submission)" if args.submission_share else ""))
    try:
        watchers = watchers_for(plan, SinkClient(args.sink_url), Stack(project=args.project))
    except StackError as missing:
        console.print(f"[red]error:[/] {missing} (--project names the compose project of `make up`)")
        return 2
    with Progress(console, f"{args.mode} load") as progress:
        result = run_load(plan, mode=args.mode, watchers=watchers,
                          injections=injections(args.port, args.submission_port, current_policy().submission_login),
                          duration=args.duration, warmup=args.warmup, rate=args.rate,
                          sessions=args.sessions, inflight=args.inflight, drain=args.drain, progress=progress)
    matched = result.matched()
    start, end = result.steady_window
    if result.plan_ran_out:
        console.print(f"[yellow]all {len(plan)} messages were sent before {args.duration:g} s: "
                      "raise --messages for a longer run[/]")
    delivered_rate = mean_rate(result.first_arrivals(), start, end)
    console.print(f"accepted {result.tally.accepted} ({mean_rate(result.accepted_at, start, end):.2f}/s steady), "
                  f"delivered {matched.delivered} ({delivered_rate:.2f}/s steady), "
                  f"refused {dict(result.tally.replies)}")
    console.print(f"latency ms: {matched.latency.summary()}")
    if args.mode == "open":
        if result.late:
            console.print(f"{result.late} sends started over {LATE_AFTER:g} s after their scheduled time; their "
                          "latency counts from the schedule")
        growth = result.backlog_growth(start, end)
        if growth > OVERLOAD_GROWTH * args.rate or result.late > LATE_SHARE * max(result.sent, 1):
            console.print(f"[bold yellow]the chain was overloaded: offered {args.rate:g} msg/s, delivered "
                          f"{delivered_rate:.2f} msg/s; its backlog grew by {growth:.2f} msg/s and {result.late} "
                          "sends were late, so latency grows with the run's length. Offer less, or add "
                          "capacity.[/]")
    if matched.missing:
        console.print(f"[bold red]{len(matched.missing)} accepted messages did not arrive[/]")
        return 1
    return 130 if result.interrupted else 0


def _variants(args: argparse.Namespace) -> list[Variant]:
    """--variants, or the one variant the shorthand flags describe."""
    if args.variants:
        return [Variant.parse(text) for text in args.variants.split(",")]
    runners = str(args.queue_runners) if args.queue_runners else ""
    latency = Variant.parse(f"dns={args.dns_latency}").dns_latency if args.dns_latency else ""
    return [Variant(spamassassin=not args.no_spamassassin, clamav=not args.no_clamav, tmpfs=args.tmpfs,
                    amavis_memory=args.amavis_memory, runners=runners, sa_network=args.sa_network,
                    dns_latency=latency)]


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.quick:
        args.workers = [1, 2, 4]
        args.batch, args.cap, args.patience, args.common_duration = min(args.batch, 5.0), min(args.cap, 28.0), 20, 15.0
        args.warmup, args.bench_messages = min(args.warmup, 3.0), 0
    variants = _variants(args)
    if not 1 <= args.repeats <= 20:
        raise ValueError(f"--repeats must be between 1 and 20, got {args.repeats}")
    settings = SweepSettings(warmup=args.warmup, batch=args.batch, cap=args.cap, precision=args.precision,
                             enough=args.enough, patience=min(args.patience, args.cap),
                             sessions=args.sessions, drain=args.drain,
                             common_rate=args.rate or current_policy().capacity.production_rate,
                             common_duration=args.common_duration)
    rate_from = ("--rate" if args.rate else "the policy's capacity.production_rate" if settings.common_rate
                 else f"{settings.common_share:.0%} of the first point's capacity")
    workload = _workload(args)
    saturation_plan, common_plan = pregenerate(args.messages, workload), pregenerate(
        args.messages, replace(workload, seed=workload.seed + 1))
    directory = Path(args.reports) / timestamp()
    generator = None
    if args.bench_messages:
        from loadgen.bench import run_bench

        console.print("measuring the generator's own rate (loadgen bench)")
        generator = run_bench(messages=args.bench_messages, rounds=1)
    # Each worker count's variants and repeats in turn (A B A B ...), so drift of the machine
    # over the sweep falls on all of them alike.
    order = [(workers, variant, repeat) for workers in sorted(args.workers) for repeat in range(1, args.repeats + 1)
             for variant in variants]
    console.print(f"sweep over workers {sorted(args.workers)}, variants {[v.label for v in variants]}: batches of "
                  f"{settings.batch:g} s until +-{settings.precision:.0%} (+-{settings.enough:.0%} after "
                  f"{settings.patience:g} s, at most {settings.cap:g} s) per point; report in {directory}")
    points, failed = [], []
    try:
        for workers, variant, repeat in order:
            name = f"{workers} workers, {variant.label}" + (f", repeat {repeat}" if args.repeats > 1 else "")
            console.print(f"[bold]{name}[/]: starting a chain")
            try:
                with Progress(console, name) as progress:
                    point = measure_point(workers, variant, saturation_plan, common_plan, settings,
                                          progress=progress, repeat=repeat)
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
    meta = {"started": directory.name, "workers": sorted(args.workers), "variants": [v.label for v in variants],
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


def cmd_report(args: argparse.Namespace) -> int:
    """Write a sweep's summary and plots again from its points.json (e.g. after an upgrade)."""
    directory = Path(args.directory)
    try:
        document = json.loads((directory / "points.json").read_text())
        points = [Point(**row) for row in document["points"]]
    except (OSError, ValueError, KeyError, TypeError) as bad:
        raise ValueError(f"{directory / 'points.json'} is not a sweep report of this version: {bad}") from None
    write_report(points, directory, document["meta"], plots=not args.no_plots)
    console.print((directory / "summary.md").read_text())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from loadgen.bench import run_bench

    result = run_bench(messages=args.bench_messages, sessions=args.sessions, size=args.size,
                       processes=args.processes, rounds=args.rounds)
    console.print(f"{result.messages} messages of {result.size} bytes over {result.sessions} reused sessions "
                  f"into Postfix's smtp-sink on loopback, medians of {result.rounds} alternating rounds:")
    console.print(f"  loadgen ({result.processes} processes): {result.ours_per_s:8.0f} msg/s")
    console.print(f"  smtp-source:              {result.smtp_source_per_s:8.0f} msg/s")
    console.print(f"  ratio:                    {result.ratio:8.2f}  (target >= 0.5)")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from loadgen.acceptrate import RESOLVERS, measure_accept_rate

    resolvers = [r.strip() for r in args.resolvers.split(",")] if args.resolvers else list(RESOLVERS)
    unknown = [r for r in resolvers if r not in RESOLVERS]
    if unknown:
        raise ValueError(f"unknown resolver {unknown[0]!r}: use {', '.join(RESOLVERS)}")
    console.print(f"smtp-source into MTA-RX port 25, amavisd-new stopped: {args.sessions} sessions, one message "
                  f"of {args.size} bytes per connection, {args.accept_messages} messages x {args.rounds} rounds, "
                  "a fresh chain per resolver")
    results = measure_accept_rate(messages=args.accept_messages, sessions=args.sessions, rounds=args.rounds,
                                  size=args.size, resolvers=resolvers)
    for result in results:
        rates = ", ".join(f"{rate:.1f}" for rate in result.rates)
        lost = result.messages * len(result.rates) - result.queued
        console.print(f"  {result.resolver:13} median {result.median:7.1f} msg/s  (rounds: {rates}); "
                      f"queued {result.queued}" + (f", {lost} MISSING" if lost else ""))
    if len(results) == 2 and results[1].median:
        ratio = results[0].median / results[1].median
        console.print(f"  ratio {results[0].resolver} / {results[1].resolver}: {ratio:.1f}")
    return 0 if all(r.queued == r.messages * len(r.rates) for r in results) else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m loadgen", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        _add(p, "messages", 3000, int, "messages to pre-generate")
        _add(p, "spam", 0.0, float, "share of GTUBE spam")
        _add(p, "virus", 0.0, float, "share of EICAR viruses")
        _add(p, "median-size", 4000, int, "median message size in bytes")
        _add(p, "seed", 1, int, "random seed of the workload")
        _add(p, "local-share", 0.0, float, "share of messages to local mailboxes at MTA-TX (the rest: remote)")
        _add(p, "submission-share", 0.0, float, "share injected on 587 with STARTTLS+AUTH (the rest: port 25)")
        _add(p, "warmup", 5.0, float, "seconds excluded from steady-state figures")
        _add(p, "sessions", 4, int, "concurrent SMTP sessions")
        _add(p, "drain", 120.0, float, "seconds to wait for accepted mail after the load")

    run = sub.add_parser("run", help="offer load to a running chain (make up)")
    common(run)
    _add(run, "mode", "open", str, "open (fixed rate), closed (sessions back to back) or inflight")
    _add(run, "rate", 10.0, float, "open loop: messages per second")
    _add(run, "inflight", 20, int, "inflight mode: messages in flight end to end")
    _add(run, "duration", 30.0, float, "seconds of load")
    _add(run, "port", 2526, int, "SMTP port that MTA-RX relays for (make up's LAN port)")
    _add(run, "submission-port", 5870, int, "MTA-RX's submission port (make up's)")
    _add(run, "project", "testbed", str, "compose project of the chain, to read its mailboxes (make up's)")
    _add(run, "sink-url", "http://127.0.0.1:8025", str, "the sink's API")
    run.set_defaults(handler=cmd_run)

    sweep = sub.add_parser("sweep", help="capacity sweep: a fresh chain per worker count")
    common(sweep)
    sweep.add_argument("--workers", type=_workers, default=_workers(_env("workers", "1 2 3 5 8")),
                       help="worker counts ($max_servers = R), e.g. '1 2 3 5' (env LOADGEN_WORKERS)")
    _add(sweep, "queue-runners", 0, int, "fixed R for every point (0: R equals the workers)")
    _add(sweep, "batch", 5.0, float, "seconds per batch of the steady window (one throughput sample each)")
    _add(sweep, "precision", 0.05, float, "stop a point once its 95%% interval's half-width is this share of the mean")
    _add(sweep, "enough", 0.10, float, "... or this share, once --patience seconds have passed")
    _add(sweep, "patience", 60.0, float, "seconds of saturated load before --enough will do")
    _add(sweep, "cap", 150.0, float, "most seconds of saturated load per point, warm-up included")
    _add(sweep, "rate", 0.0, float, "common offered rate, msg/s, for the latency comparison (0: the policy's "
         "capacity.production_rate, or 70%% of the first point's capacity)")
    _add(sweep, "common-duration", 30.0, float, "seconds of load at the common rate per point")
    _add(sweep, "reports", "reports", str, "directory for reports/<timestamp>/")
    sweep.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    sweep.add_argument("--quick", action="store_true",
                       help="workers 1 2 4, batches of 5 s, at most 28 s saturated (+-10%% will do after 20 s), "
                            "15 s at the common rate, no generator bench")
    _add(sweep, "repeats", 1, int, "chains per point (each worker count's variants measured in turn): the "
         "report's intervals then include the spread between chains")
    _add(sweep, "variants", "", str, "compare variants, each point measured under each: comma-separated, options "
         "joined by '+': shipped, tmpfs, no-sa, no-clamav, memory=700m, runners=2x, runners=4, sa-network, "
         "dns=200ms (default: the one the flags below describe)")
    sweep.add_argument("--no-spamassassin", action="store_true", help="variant: amavisd-new without SpamAssassin")
    sweep.add_argument("--no-clamav", action="store_true", help="variant: amavisd-new without ClamAV")
    sweep.add_argument("--tmpfs", action="store_true", help="variant: amavisd-new's work directory on tmpfs")
    _add(sweep, "amavis-memory", "0", str, "variant: memory limit of the amavisd-new container, e.g. 1g")
    sweep.add_argument("--sa-network", action="store_true",
                       help="variant: SpamAssassin's network tests on (DNSBL, URIBL) against the testbed's DNS")
    _add(sweep, "dns-latency", "", str, "variant: every answer of the testbed's DNS that much later, e.g. 200ms")
    _add(sweep, "bench-messages", 10000, int, "messages for the generator's own rate before the sweep (0: skip)")
    sweep.set_defaults(handler=cmd_sweep)

    report = sub.add_parser("report", help="write a sweep's summary and plots again from its points.json")
    report.add_argument("directory", help="a sweep's report directory (reports/<time>)")
    report.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    report.set_defaults(handler=cmd_report)

    bench = sub.add_parser("bench", help="the generator's own rate vs Postfix's smtp-source, into a null sink")
    _add(bench, "bench-messages", 20000, int, "messages per measurement")
    _add(bench, "sessions", 50, int, "concurrent reused SMTP sessions")
    _add(bench, "size", 3300, int, "message size in bytes")
    _add(bench, "processes", 2, int, "sender processes (one event loop each)")
    _add(bench, "rounds", 3, int, "alternating rounds of both senders; medians are reported")
    bench.set_defaults(handler=cmd_bench)

    accept = sub.add_parser("accept", help="MTA-RX's accept rate, one message per connection, amavisd-new "
                            "stopped: testbed DNS vs Docker's embedded DNS")
    _add(accept, "accept-messages", 600, int, "messages per round")
    _add(accept, "sessions", 20, int, "parallel smtp-source sessions")
    _add(accept, "size", 3300, int, "message size in bytes")
    _add(accept, "rounds", 3, int, "rounds per resolver; medians are reported")
    _add(accept, "resolvers", "", str, "comma-separated: testbed (the testbed's DNS), docker (Docker's "
         "embedded DNS, as before the testbed had its own) (default: both)")
    accept.set_defaults(handler=cmd_accept)
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except ValueError as bad:  # an environment twin that does not parse
        print(f"python -m loadgen: {bad}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args))
    except ValueError as bad:
        console.print(f"[red]error:[/] {bad}")
        return 2
