"""What `python -m loadgen run`, `report`, `bench`, `accept` and `burst` do, once their options are
parsed (loadgen.cli.options); the sweep's is loadgen.cli.sweep_command."""

import argparse
import socket
from pathlib import Path

from rich.console import Console

from harness import SinkClient, Stack, StackError
from loadgen.experiments.runner import LATE_AFTER, injections, run_load
from loadgen.experiments.sweep import LATE_SHARE, OVERLOAD_GROWTH, timestamp
from loadgen.measure.arrivals import watchers_for
from loadgen.measure.stats import mean_rate
from loadgen.send.workload import Mix, Workload, pregenerate
from loadgen.show.live import Progress
from loadgen.show.report import read_report, write_report
from siteconfig.policy import current_policy
from siteconfig.run_settings import ChainSettings

__all__ = ["cmd_accept", "cmd_bench", "cmd_burst", "cmd_report", "cmd_run", "console", "workload_of"]

console = Console(stderr=True)


def workload_of(args: argparse.Namespace) -> Workload:
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
    plan = pregenerate(args.messages, workload_of(args))
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


def cmd_report(args: argparse.Namespace) -> int:
    """Write a sweep's summary and plots again from its points.json (e.g. after an upgrade);
    with several sweeps, set them side by side (loadgen.show.compare)."""
    if len(args.directory) > 1:
        from loadgen.show.compare import compare

        out = compare([Path(d) for d in args.directory], Path(args.out or f"reports/compared-{timestamp()}"),
                      plots=not args.no_plots)
        console.print((out / "summary.md").read_text())
        console.print(f"written: {out / 'summary.md'}" + ("" if args.no_plots else f", {out / 'throughput.png'}"))
        return 0
    directory = Path(args.directory[0])
    points, meta = read_report(directory)
    write_report(points, directory, meta, plots=not args.no_plots)
    console.print((directory / "summary.md").read_text())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from loadgen.experiments.bench import run_bench

    result = run_bench(messages=args.bench_messages, sessions=args.sessions, size=args.size,
                       processes=args.processes, rounds=args.rounds)
    console.print(f"{result.messages} messages of {result.size} bytes over {result.sessions} reused sessions "
                  f"into Postfix's smtp-sink on loopback, medians of {result.rounds} alternating rounds:")
    console.print(f"  loadgen ({result.processes} processes): {result.ours_per_s:8.0f} msg/s")
    console.print(f"  smtp-source:              {result.smtp_source_per_s:8.0f} msg/s")
    console.print(f"  ratio:                    {result.ratio:8.2f}  (target >= 0.5)")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from loadgen.experiments.acceptrate import RESOLVERS, measure_accept_rate

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


def cmd_burst(args: argparse.Namespace) -> int:
    import os

    from harness.topology import TOPOLOGIES
    from loadgen.experiments.burst import run_burst
    from loadgen.experiments.sweep import timestamp
    from loadgen.show.burst_report import write_burst_report

    names = [name.strip() for name in args.topologies.split(",") if name.strip()]
    if unknown := [name for name in names if name not in TOPOLOGIES]:
        raise ValueError(f"unknown topology {unknown[0]!r}: use {', '.join(TOPOLOGIES)}")
    # The chain of every point, made (and checked) before any starts: R as many as the workers.
    chain = ChainSettings(workers=args.workers or current_policy().limits.max_servers)
    plan = pregenerate(args.messages, Workload(median_size=args.median_size, seed=args.seed, local_share=1.0))
    directory = Path(args.reports) / f"burst-{timestamp()}"
    meta: dict[str, object] = {"workers": chain.workers, "duration": args.duration, "grace": args.grace,
                               "drain": args.drain, "interval": args.interval, "messages": args.messages,
                               "median_size": args.median_size, "load_average_before": round(os.getloadavg()[0], 2)}
    console.print(f"{len(plan)} messages pre-generated; $max_servers = {chain.workers}; sessions {args.sessions}; "
                  f"{args.duration:g} s each; topologies {', '.join(names)}; reports in {directory}")
    runs = []
    try:
        for name in names:
            for sessions in args.sessions:
                console.print(f"{name}, {sessions} sessions: a fresh chain ...")
                runs.append(run_burst(TOPOLOGIES[name], sessions, chain, plan, duration=args.duration,
                                      grace=args.grace, drain=args.drain, interval=args.interval))
                console.print(f"  accepted {len(runs[-1].accepted)}, refused {dict(runs[-1].replies)}")
    finally:  # a failed or interrupted run keeps the points it measured
        meta["load_average_after"] = round(os.getloadavg()[0], 2)
        if runs:
            write_burst_report(runs, directory, meta, plots=not args.no_plots)
            console.print((directory / "summary.md").read_text())
    return 0
