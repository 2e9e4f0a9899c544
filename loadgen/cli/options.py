"""python -m loadgen: `run` offers load to a running chain, `sweep` finds the knee.

Every option has an environment variable twin (LOADGEN_<OPTION>), and a default.
"""

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from harness.topology import TOPOLOGIES
from loadgen.cli.commands import cmd_accept, cmd_bench, cmd_burst, cmd_report, cmd_run, console
from loadgen.cli.sweep_command import cmd_sweep
from loadgen.cli.switch_command import cmd_switch
from loadgen.experiments.counts import parse_counts, parse_runners, parse_workers


def _env_name(name: str) -> str:
    return f"LOADGEN_{name.upper().replace('-', '_')}"


def _default(name: str, default: object, kind: Callable[[str], Any]) -> Any:
    """The option's default, or its environment twin's value, checked as the option is."""
    text = os.environ.get(_env_name(name), str(default))
    try:
        return kind(text)
    except argparse.ArgumentTypeError as bad:  # CountError, a topology's name
        raise ValueError(f"{_env_name(name)}: {bad}") from None
    except ValueError:
        raise ValueError(f"{_env_name(name)}: expected {getattr(kind, '__name__', 'a value')}, got {text!r}") from None


def _add(parser: argparse.ArgumentParser, name: str, default: object, kind: Callable[[str], Any],
         help_text: str) -> None:
    parser.add_argument(f"--{name}", type=kind, default=_default(name, default, kind),
                        help=f"{help_text} (default {default}; env {_env_name(name)})")


def _runners_flag(text: str) -> str:
    """--queue-runners: 0 (R equals the workers) or a rule of runners=. ("": argparse
    passes the default through here too.)"""
    return "" if text.strip() in ("", "0") else parse_runners(text)


def _topology(text: str) -> str:
    """--topology: dual or milter (harness.topology)."""
    if text not in TOPOLOGIES:
        raise argparse.ArgumentTypeError(f"expected {' or '.join(TOPOLOGIES)}, got {text!r}")
    return text


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
    sweep.add_argument("--workers", type=parse_workers, default=_default("workers", "1 2 3 5 8", parse_workers),
                       help="worker counts ($max_servers = R), e.g. '1 2 3 5' (env LOADGEN_WORKERS)")
    # make capacity TOPOLOGY=milter: make exports TESTBED_TOPOLOGY; LOADGEN_TOPOLOGY wins over it.
    _add(sweep, "topology", os.environ.get("TESTBED_TOPOLOGY") or "dual", _topology, "the chain to measure: dual "
         "(MTA-RX -> amavisd-new -> MTA-TX) or milter (one sendmail calling amavisd-new through amavisd-milter; "
         "no queue runners); make's TOPOLOGY= sets the default")
    _add(sweep, "queue-runners", 0, _runners_flag, "R for every point: N, or Nx for N times the workers, as "
         "variant option runners= (0: R equals the workers)")
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
         "dns=200ms, no-dkim (default: the one the flags below describe)")
    sweep.add_argument("--no-spamassassin", action="store_true", help="variant: amavisd-new without SpamAssassin")
    sweep.add_argument("--no-clamav", action="store_true", help="variant: amavisd-new without ClamAV")
    sweep.add_argument("--tmpfs", action="store_true", help="variant: amavisd-new's work directory on tmpfs")
    _add(sweep, "amavis-memory", "0", str, "variant: memory limit of the amavisd-new container, e.g. 1g")
    sweep.add_argument("--sa-network", action="store_true",
                       help="variant: SpamAssassin's network tests on (DNSBL, URIBL) against the testbed's DNS")
    _add(sweep, "dns-latency", "", str, "variant: every answer of the testbed's DNS that much later, e.g. 200ms")
    _add(sweep, "bench-messages", 10000, int, "messages for the generator's own rate before the sweep (0: skip)")
    sweep.set_defaults(handler=cmd_sweep)

    report = sub.add_parser("report", help="write a sweep's summary and plots again from its points.json; with "
                            "several, set them side by side (e.g. one per topology)")
    report.add_argument("directory", nargs="+", help="a sweep's report directory (reports/<time>), or several")
    report.add_argument("--out", default="", help="several sweeps: the folder for their table and throughput plot "
                        "(default reports/compared-<time>)")
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

    burst = sub.add_parser("burst", help="N SMTP sessions at once into the dual chain and the milter setup: "
                           "the filter's concurrency, time to 250, refusals, memory (a fresh chain per point)")
    _add(burst, "topologies", "dual,milter", str, "comma-separated: dual, milter")
    burst.add_argument("--sessions", type=_session_counts, default=_default("sessions", "20 50 100 200",
                       _session_counts), help="concurrent SMTP sessions per point (env LOADGEN_SESSIONS)")
    _add(burst, "workers", 0, int, "amavisd-new's $max_servers (= R, = amavisd-milter -m) (0: the config's)")
    _add(burst, "duration", 20.0, float, "seconds each session sends back to back")
    _add(burst, "grace", 20.0, float, "seconds after the window for transactions under way to be answered")
    _add(burst, "drain", 20.0, float, "seconds to wait for accepted mail to reach the mailboxes")
    _add(burst, "interval", 0.25, float, "seconds between concurrency samples")
    _add(burst, "messages", 6000, int, "messages to pre-generate (clean, to remote recipients); reused per point")
    _add(burst, "median-size", 4000, int, "median message size in bytes")
    _add(burst, "seed", 1, int, "random seed of the workload")
    _add(burst, "reports", "reports", str, "directory for reports/burst-<timestamp>/")
    burst.add_argument("--no-plots", action="store_true", help="skip burst.png")
    burst.set_defaults(handler=cmd_burst)

    switch = sub.add_parser("switch", help="the chain on the configuration under test, under load, switched to "
                            "another's (make switch OLD= NEW=): nothing may be lost")
    switch.add_argument("--to-tag", required=True, help="NEW's image tag (make switch gives it)")
    switch.add_argument("--to-config", required=True, help="NEW's assembled folder, .build/config/<id>")
    _add(switch, "orders", "rolling,oneshot", str, "comma-separated: rolling (MTA-TX, amavisd-new, MTA-RX in "
         "turn), oneshot (all at once)")
    _add(switch, "rate", 2.0, float, "msg/s offered before, during and after the switch")
    _add(switch, "before", 30.0, float, "seconds of load on OLD before the switch")
    _add(switch, "after", 30.0, float, "seconds of load on NEW after it")
    _add(switch, "reports", "reports", str, "directory for switch.md")
    switch.set_defaults(handler=cmd_switch)
    return top


def _session_counts(text: str) -> list[int]:
    return parse_counts(text, most=2000, what="sessions")


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
