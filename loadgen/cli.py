"""python -m loadgen: `run` offers load to a running chain, `sweep` finds the knee.

Every option has an environment variable twin (LOADGEN_<OPTION>), and a default.
"""

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console

from harness import SinkClient, Stack
from harness.policy import current_policy
from loadgen.arrivals import watchers_for
from loadgen.live import Progress
from loadgen.report import write_report
from loadgen.runner import injections, run_load
from loadgen.stats import steady_rate
from loadgen.sweep import SweepSettings, measure_point, timestamp
from loadgen.workload import Mix, Workload, pregenerate

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


def cmd_run(args: argparse.Namespace) -> int:
    plan = pregenerate(args.messages, _workload(args))
    console.print(f"pre-generated {len(plan)} messages; {args.mode} load on 127.0.0.1:{args.port}"
                  + (f" and {args.submission_port} (submission)" if args.submission_share else ""))
    watchers = watchers_for(plan, SinkClient(args.sink_url), Stack(project=args.project))
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
    console.print(f"accepted {result.tally.accepted} ({steady_rate(result.accepted_at, start, end):.1f}/s steady), "
                  f"delivered {matched.delivered} ({steady_rate(result.arrival_times(), start, end):.1f}/s steady), "
                  f"refused {dict(result.tally.replies)}")
    console.print(f"latency ms: {matched.latency.summary()}")
    if matched.missing:
        console.print(f"[bold red]{len(matched.missing)} accepted messages did not arrive[/]")
        return 1
    return 130 if result.interrupted else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.quick:
        args.workers, args.window = [1, 2, 4], min(args.window, 20.0)
    settings = SweepSettings(window=args.window, warmup=args.warmup, sessions=args.sessions, drain=args.drain,
                             queue_runners=args.queue_runners or None, spamassassin=not args.no_spamassassin,
                             clamav=not args.no_clamav, tmpfs=args.tmpfs, amavis_memory=args.amavis_memory)
    plan = pregenerate(args.messages, _workload(args))
    directory = Path(args.reports) / timestamp()
    generator = None
    if args.bench_messages:
        from loadgen.bench import run_bench

        console.print("measuring the generator's own rate (loadgen bench)")
        generator = run_bench(messages=args.bench_messages, rounds=1)
    console.print(f"sweep over workers {args.workers}: {settings.window:g} s per point; report in {directory}")
    points = []
    try:
        for workers in args.workers:
            console.print(f"[bold]{workers} workers[/]: starting a chain")
            with Progress(console, f"{workers} workers") as progress:
                points.append(measure_point(workers, plan, settings, progress=progress))
            p = points[-1]
            console.print(f"  -> {p.delivered_per_s:.1f} delivered/s, p50 {p.p50_ms:.0f} ms, "
                          f"p99 {p.p99_ms:.0f} ms, lost {p.lost}, amavisd-new {p.amavis_rss_mib:.0f} MiB RSS")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: reporting the points measured so far[/]")
    if not points:
        console.print("[red]no point was measured[/]")
        return 1
    meta = {"started": directory.name, "workers": args.workers, "window_s": settings.window,
            "warmup_s": settings.warmup, "messages": len(plan), "spam": args.spam, "virus": args.virus,
            "variant": settings.variant(),
            "generator_msg_per_s": round(generator.ours_per_s) if generator else None,
            "smtp_source_msg_per_s": round(generator.smtp_source_per_s) if generator else None,
            "description": f"workers {args.workers}, inflight load, {settings.window:g} s per point, "
                           f"amavisd-new {settings.variant()}"}
    write_report(points, directory, meta, plots=not args.no_plots)
    console.print((directory / "summary.md").read_text())
    return 0 if all(p.lost == 0 for p in points) else 1


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
    sweep.add_argument("--workers", type=_workers, default=_workers(_env("workers", "1 2 3 5 8 10 15 20")),
                       help="worker counts ($max_servers = R), e.g. '1 2 3 5' (env LOADGEN_WORKERS)")
    _add(sweep, "queue-runners", 0, int, "fixed R for every point (0: R equals the workers)")
    _add(sweep, "window", 30.0, float, "seconds of load per point, warm-up included")
    _add(sweep, "reports", "reports", str, "directory for reports/<timestamp>/")
    sweep.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    sweep.add_argument("--quick", action="store_true", help="workers 1 2 4, 20 s each: a first look in ~3 min")
    sweep.add_argument("--no-spamassassin", action="store_true", help="variant: amavisd-new without SpamAssassin")
    sweep.add_argument("--no-clamav", action="store_true", help="variant: amavisd-new without ClamAV")
    sweep.add_argument("--tmpfs", action="store_true", help="variant: amavisd-new's work directory on tmpfs")
    _add(sweep, "amavis-memory", "0", str, "variant: memory limit of the amavisd-new container, e.g. 1g")
    _add(sweep, "bench-messages", 10000, int, "messages for the generator's own rate before the sweep (0: skip)")
    sweep.set_defaults(handler=cmd_sweep)

    bench = sub.add_parser("bench", help="the generator's own rate vs Postfix's smtp-source, into a null sink")
    _add(bench, "bench-messages", 20000, int, "messages per measurement")
    _add(bench, "sessions", 50, int, "concurrent reused SMTP sessions")
    _add(bench, "size", 3300, int, "message size in bytes")
    _add(bench, "processes", 2, int, "sender processes (one event loop each)")
    _add(bench, "rounds", 3, int, "alternating rounds of both senders; medians are reported")
    bench.set_defaults(handler=cmd_bench)
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
