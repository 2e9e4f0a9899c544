"""The burst experiment: N SMTP sessions at once, each sending back to back for a fixed
window, into the dual chain and into the milter setup, each on a fresh chain with the same
number of amavisd-new workers. It measures README.sendmail-dual's central claim: in the dual
chain the filter's concurrency stays at $max_servers whatever the number of sessions,
while a milter scans in the client's session (and can refuse there).

While the load runs, one shell loop inside the chain's network namespace (in amavisd-new's
container) samples busy amavisd-new children, open SMTP sessions, connections into the
filter (MTA-RX -> 127.0.0.1:10024, or sendmail -> amavisd-milter 127.0.0.1:9999) and
amavisd-milter's AM.PDP connections to amavisd-new's socket. The report: loadgen.burst_report.
"""

import asyncio
import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from harness import Stack, StackError, make_message, message_id_of, send_message
from harness.smtp import Client, SMTPException, SMTPResponseException, close, open_client
from harness.topology import Topology
from loadgen.arrivals import SinkWatcher
from loadgen.delivery import Delivery
from loadgen.stats import Latency
from loadgen.wire import send_one
from loadgen.workload import Planned

__all__ = ["BurstRun", "Sample", "parse_samples", "run_burst", "sampler_script"]

STOP_FILE = "/tmp/burst-stop"


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    load: float  # the host's 1-minute load average: sendmail refuses connections from RefuseLA on
    busy: int  # amavisd-new children working on a message (process title: a log id)
    sessions: int  # established SMTP sessions into port 25
    filter_connections: int  # dual: MTA-RX -> 10024; milter: sendmail -> amavisd-milter 9999
    pdp_connections: int  # milter: amavisd-milter -> amavisd-new's AM.PDP socket (dual: 0)


def sampler_script(topology: str, *, seconds: float, interval: float = 0.25) -> str:
    """A shell loop for amavisd-new's container, one line per sample ("time load busy
    sessions filter pdp") until STOP_FILE exists or `seconds` pass. One exec for the whole run: an
    exec per sample would be too slow. A child's title is "/usr/sbin/amavisd (ch2-avail)" when
    idle, "(virgin child)" before its first task, "(<log id>)" while at work.
    MTA-RX connects to 10024 from 127.0.0.1, amavisd-new's healthcheck from 127.0.0.2."""
    into = "( dport = :10024 and src 127.0.0.1 )" if topology == "dual" else "( dport = :9999 )"
    return (
        f"rm -f {STOP_FILE}; end=$(( $(date +%s) + {int(seconds) + 1} )); "
        f"while [ ! -e {STOP_FILE} ] && [ $(date +%s) -lt $end ]; do "
        "busy=$(ps -eo args= | awk '/amavisd \\(/ && !/master|avail|virgin/ {n++} END {print n+0}'); "
        "smtp=$(ss -Htn state established '( sport = :25 )' | wc -l); "
        f"into=$(ss -Htn state established '{into}' | wc -l); "
        "pdp=$(ss -Hx state established | awk '/amavisd\\.sock/ {n++} END {print n+0}'); "
        'echo "$(date +%s.%N) $(cut -d" " -f1 /proc/loadavg) $busy $smtp $into $pdp"; '
        f"sleep {interval}; done"
    )


def parse_samples(text: str) -> list[Sample]:
    """The sampler's lines; a line cut short (the exec ended mid-write) is skipped."""
    samples = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 6:
            try:
                samples.append(Sample(float(parts[0]), float(parts[1]), *(int(p) for p in parts[2:])))
            except ValueError:
                continue
    return samples


@dataclass
class BurstRun:
    """What one (topology, N) measured; summarised by loadgen.burst_report.summarise."""

    topology: str
    sessions: int
    workers: int
    duration: float
    started: float = 0.0
    load_ended: float = 0.0  # window over, sessions told to stop
    sessions_ended: float = 0.0  # every session done, or cut after the grace
    accepted: dict[Delivery, float] = field(default_factory=dict)  # -> when its transaction began
    to_250: Latency = field(default_factory=Latency)  # end of DATA -> 250, accepted messages
    replies: Counter[str] = field(default_factory=Counter)  # refusals by code, at any step
    refused_sessions: int = 0  # the connection or its banner refused
    dropped_sessions: int = 0  # the connection lost mid-session
    unanswered: int = 0  # transactions still waiting for a reply when the grace ran out
    arrivals: dict[Delivery, list[float]] = field(default_factory=dict)
    drained: float = 0.0  # seconds waited after the sessions for the rest to arrive
    samples: list[Sample] = field(default_factory=list)
    memory_mib: dict[str, float] = field(default_factory=dict)  # container -> cgroup memory at window end
    amavis_pss_mib: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # host 1-min load average at start, at end
    plan_ran_out: bool = False
    greeted_max: int = 0  # sessions greeted at once, as the clients saw it
    greetings: list[tuple[float, float]] = field(default_factory=list)  # (connect began, seconds to EHLO's 250)
    refusing_logged: int = 0  # the receiving MTA's "rejecting connections" log lines (load average)
    client_errors: Counter[str] = field(default_factory=Counter)  # the generator's own failures


async def _session(port: int, plan: Iterator[Planned], deadline: float, run: BurstRun, busy: list[int],
                   greeted: list[int]) -> None:
    """One client: a session, reused for message after message until the deadline;
    reconnects after a refusal or a drop. `busy`, `greeted`: transactions under way and
    sessions open, over all clients."""
    client: Client | None = None
    try:
        while time.time() < deadline:
            if client is None or not client.is_connected:
                if client is not None:  # dropped
                    greeted[0] -= 1
                    client = None
                try:
                    began = time.time()
                    client = await open_client(port, timeout=300)
                    run.greetings.append((began, time.time() - began))
                    greeted[0] += 1
                    run.greeted_max = max(run.greeted_max, greeted[0])
                except SMTPResponseException as refused:  # the banner or EHLO: 4xx/5xx
                    run.refused_sessions += 1
                    run.replies[str(refused.code)] += 1
                    await asyncio.sleep(0.2)  # do not spin on a refusing server
                    continue
                except (SMTPException, OSError):
                    run.refused_sessions += 1
                    await asyncio.sleep(0.2)
                    continue
            planned = next(plan, None)
            if planned is None:
                run.plan_ran_out = True
                return
            began = time.time()
            busy[0] += 1
            try:
                run.to_250.record(await send_one(client, planned.sender, planned.recipient, planned.wire))
                run.accepted[planned.delivery] = began
            except SMTPResponseException as refused:
                run.replies[str(refused.code)] += 1
            except (SMTPException, OSError):
                run.dropped_sessions += 1
            finally:
                busy[0] -= 1
    finally:
        if client is not None:
            greeted[0] -= 1
            if client.is_connected:
                await close(client)


async def _offer(port: int, plan: list[Planned], run: BurstRun, grace: float,
                 at_window_end: Callable[[], None]) -> None:
    """The sessions, the window, then the grace; `at_window_end` runs (in a thread, so the
    sessions go on) as the window closes, while every session is still open."""
    messages, in_flight, greeted = iter(plan), [0], [0]
    deadline = run.started + run.duration
    tasks = [asyncio.create_task(_session(port, messages, deadline, run, in_flight, greeted))
             for _ in range(run.sessions)]
    await asyncio.wait(tasks, timeout=max(0.0, deadline - time.time()))
    run.load_ended = time.time()
    measured = asyncio.create_task(asyncio.to_thread(at_window_end))
    _, pending = await asyncio.wait(tasks, timeout=grace)
    run.unanswered = in_flight[0]
    for task in pending:
        task.cancel()
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, Exception):  # a client that failed in a way not counted above
            run.client_errors[f"{type(outcome).__name__}: {outcome}"[:120]] += 1
    run.sessions_ended = time.time()
    await measured


def _memory(stack: Stack, run: BurstRun) -> None:
    for service in stack.topology.daemons:
        try:
            run.memory_mib[service] = stack.cgroup(service).sample().memory_bytes / 2**20
        except (OSError, StackError):
            run.memory_mib[service] = 0.0
    with contextlib.suppress(StackError):  # amavisd-new down or restarting: no reading
        run.amavis_pss_mib = sum(p.get("pss", 0) for p in stack.process_memory("amavis", "amavisd (")) / 1024


def _drain(watcher: SinkWatcher, run: BurstRun, drain: float) -> None:
    deadline = time.time() + drain
    while True:
        watcher.poll(run.arrivals)
        if time.time() >= deadline or all(d in run.arrivals for d in run.accepted):
            break
        time.sleep(1.0)
    run.drained = time.time() - run.sessions_ended


def _ready(stack: Stack, like: Planned) -> None:
    """One message the way the burst sends them, through to the sink: amavisd-new's port
    can answer before it really processes mail, so only a message proves the chain ready.
    (A wait that fails raises with the message's trail.)"""
    message = make_message(sender=like.sender, to=like.recipient, tag="burst-ready")
    result = send_message(message, port=stack.office_port, mail_from=like.sender, rcpt_to=[like.recipient])
    if not result.accepted:
        raise StackError(f"the chain did not accept the readiness message:\n{result}")
    stack.sink.wait_for(message_id_of(message), timeout=120)


def run_burst(topology: Topology, sessions: int, workers: int, plan: list[Planned], *, duration: float,
              grace: float, drain: float, interval: float = 0.25) -> BurstRun:
    """One point: a fresh chain of `topology` with `workers` amavisd-new workers (and as
    many queue runners, or amavisd-milter requests), `sessions` clients for `duration`
    seconds, then up to `grace` seconds for the transactions under way to finish and up to
    `drain` for the accepted mail to reach the sink."""
    env = {"AMAVIS_MAX_SERVERS": str(workers), "RX_QUEUE_RUNNERS": str(workers)}
    run = BurstRun(topology.name, sessions, workers, duration)
    with Stack(topology=topology, env=env) as stack:
        _ready(stack, plan[0])
        watcher = SinkWatcher(stack.sink)
        port = stack.office_port
        output: list[str] = []
        script = sampler_script(topology.name, seconds=duration + grace + 5, interval=interval)
        sampler = threading.Thread(target=lambda: output.append(stack.exec("amavis", ["bash", "-c", script])))
        load_before = os.getloadavg()[0]
        sampler.start()
        run.started = time.time()
        asyncio.run(_offer(port, plan, run, grace, lambda: _memory(stack, run)))
        stack.exec("amavis", ["touch", STOP_FILE])
        sampler.join(timeout=30)
        run.samples = parse_samples(output[0] if output else "")
        receiving = stack.logs("rx", since=run.started - 1)
        run.refusing_logged = sum("rejecting connections" in line for line in receiving.splitlines())
        _drain(watcher, run, drain)
        run.load_average = (load_before, os.getloadavg()[0])
    return run

