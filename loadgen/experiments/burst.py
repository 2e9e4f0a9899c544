"""The burst experiment: N SMTP sessions at once, each sending back to back for a fixed
window, into the dual chain and the milter setup, a fresh chain each with the same number of
amavisd-new workers: README.sendmail-dual's claim that the dual chain keeps the filter's
concurrency at $max_servers whatever the sessions, while a milter scans in the session.

While the load runs, one shell loop inside the chain's network namespace (in amavisd-new's
container) samples busy amavisd-new children, open SMTP sessions, connections into the
filter (MTA-RX -> amavisd-new, or sendmail -> amavisd-milter 127.0.0.1:9999) and
amavisd-milter's AM.PDP connections to amavisd-new's socket. The report: loadgen.show.burst_report.
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
from loadgen.measure.arrivals import MailboxWatcher, SinkWatcher, watchers_for
from loadgen.measure.stats import Latency
from loadgen.send.delivery import Delivery
from loadgen.send.wire import send_one
from loadgen.send.workload import Planned
from siteconfig.policy import REMOTE_DOMAIN
from siteconfig.run_settings import ChainSettings

__all__ = ["BurstRun", "Sample", "parse_samples", "run_burst", "sampler_script"]

STOP_FILE = "/tmp/burst-stop"
MILTER_PORT = 9999  # amavisd-milter's, compose.milter.yaml (the testbed's own wiring, not a site's)
# Straight into the receiving MTA's port 25 from outside, to local mailboxes: the LAN's office
# relay (socat) let only 16-29 of 100 simultaneous connections through within 25 s here,
# where the MTA's port took all 100 in under 3 s. From outside a local sender is no sender.
SENDER = f"burst@{REMOTE_DOMAIN}"


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    load: float  # the host's 1-minute load average: sendmail refuses connections from RefuseLA on
    busy: int  # amavisd-new children working on a message (process title: a log id)
    sessions: int  # established SMTP sessions into MTA-RX's SMTP daemon
    filter_connections: int  # dual: MTA-RX -> amavisd-new; milter: sendmail -> amavisd-milter
    pdp_connections: int  # milter: amavisd-milter -> amavisd-new's AM.PDP socket (dual: 0)


def sampler_script(topology: str, *, seconds: float, smtp_port: int, filter_port: int,
                   interval: float = 0.25) -> str:
    """A shell loop for amavisd-new's container: a line "time load busy sessions filter pdp"
    every `interval` until STOP_FILE exists or `seconds` pass (an exec per sample would be
    too slow). A child's title reads "(ch2-avail)" idle, "(virgin child)" before its first
    task, "(<log id>)" at work. `smtp_port`: MTA-RX's SMTP daemon; `filter_port`: amavisd-new's
    (dual: MTA-RX connects from 127.0.0.1, the healthcheck from 127.0.0.2) or amavisd-milter's."""
    into = f"( dport = :{filter_port} and src 127.0.0.1 )" if topology == "dual" else f"( dport = :{filter_port} )"
    return (
        f"rm -f {STOP_FILE}; end=$(( $(date +%s) + {int(seconds) + 1} )); "
        f"while [ ! -e {STOP_FILE} ] && [ $(date +%s) -lt $end ]; do "
        "busy=$(ps -eo args= | awk '/amavisd \\(/ && !/master|avail|virgin/ {n++} END {print n+0}'); "
        f"smtp=$(ss -Htn state established '( sport = :{smtp_port} )' | wc -l); "
        f"into=$(ss -Htn state established '{into}' | wc -l); "
        "pdp=$(ss -Hx state established | awk '/amavisd\\.sock/ {n++} END {print n+0}'); "
        'echo "$(date +%s.%N) $(cut -d" " -f1 /proc/loadavg) $busy $smtp $into $pdp"; '
        f"sleep {interval}; done"
    )


def parse_samples(text: str) -> list[Sample]:
    """The sampler's lines; a line cut short (the exec ended mid-write) is skipped."""
    samples = []
    for parts in (line.split() for line in text.splitlines()):
        with contextlib.suppress(ValueError):
            if len(parts) == 6:
                samples.append(Sample(float(parts[0]), float(parts[1]), *(int(p) for p in parts[2:])))
    return samples


@dataclass
class BurstRun:
    """What one (topology, N) measured; summarised by loadgen.show.burst_report.summarise."""

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
    never_greeted: int = 0  # clients that never got a session open in the window and grace
    greetings: list[tuple[float, float]] = field(default_factory=list)  # (connect began, seconds to EHLO's 250)
    refusing_logged: int = 0  # the receiving MTA's "rejecting connections" log lines (load average)
    client_errors: Counter[str] = field(default_factory=Counter)  # the generator's own failures


async def _session(port: int, plan: Iterator[Planned], deadline: float, run: BurstRun, busy: list[int],
                   greeted: list[int]) -> None:
    """One client: a session, reused for message after message until the deadline;
    reconnects after a refusal or a drop. `busy`, `greeted`: transactions under way and
    sessions open, over all clients."""
    client: Client | None = None
    ever = False  # greeted at least once
    try:
        while time.time() < deadline:
            if client is None or not client.is_connected:
                if client is not None:  # dropped
                    greeted[0], client = greeted[0] - 1, None
                try:
                    began = time.time()
                    client = await open_client(port, timeout=300)
                    run.greetings.append((began, time.time() - began))
                    greeted[0] += 1
                    ever = True
                    run.greeted_max = max(run.greeted_max, greeted[0])
                except (SMTPException, OSError) as refused:  # the connection, banner or EHLO
                    run.refused_sessions += 1
                    if isinstance(refused, SMTPResponseException):
                        run.replies[str(refused.code)] += 1
                    await asyncio.sleep(0.2)  # do not spin on a refusing server
                    continue
            planned = next(plan, None)
            if planned is None:
                run.plan_ran_out = True
                return
            began = time.time()
            busy[0] += 1
            try:
                run.to_250.record(await send_one(client, SENDER, planned.recipient, planned.wire))
                run.accepted[planned.delivery] = began
            except SMTPResponseException as refused:
                run.replies[str(refused.code)] += 1
            except (SMTPException, OSError):
                run.dropped_sessions += 1
            finally:
                busy[0] -= 1
    finally:
        run.never_greeted += not ever
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


def _follow(watchers: list[SinkWatcher | MailboxWatcher], run: BurstRun, stop: Callable[[], bool]) -> None:
    """Poll where mail arrives every 0.5 s until stop() says so (then once more, to the end)."""
    while True:
        last = stop()
        for watcher in watchers:
            watcher.poll(run.arrivals, force=last)
        if last:
            return
        time.sleep(0.5)


def _ready(stack: Stack, like: Planned) -> None:
    """One message as the burst sends them, into its mailbox: amavisd-new's port answers
    before it really processes mail, so only a message proves the chain ready."""
    message = make_message(sender=SENDER, to=like.recipient, tag="burst-ready")
    result = send_message(message, port=stack.smtp_port, mail_from=SENDER, rcpt_to=[like.recipient])
    if not result.accepted:
        raise StackError(f"the chain did not accept the readiness message:\n{result}")
    user = like.recipient.partition("@")[0]
    stack.tx.wait_for_mailbox(user, message_id_of(message), timeout=120)


def run_burst(topology: Topology, sessions: int, chain: ChainSettings, plan: list[Planned], *, duration: float,
              grace: float, drain: float, interval: float = 0.25) -> BurstRun:
    """One point: a fresh chain of `topology` with the amavisd-new workers of `chain` (and
    its queue runners, as many unless it says otherwise, or amavisd-milter requests),
    `sessions` clients for `duration` seconds, then up to `grace` seconds for the
    transactions under way to finish and up to `drain` for the accepted mail to reach the
    mailboxes."""
    if not plan:
        raise ValueError("the burst has no messages to send (--messages must be at least 1)")
    if chain.workers is None:
        raise ValueError("a burst sets its amavisd-new workers")
    run = BurstRun(topology.name, sessions, chain.workers, duration)
    with Stack(topology=topology, settings=chain) as stack:
        _ready(stack, plan[0])
        watchers = watchers_for(plan, stack.sink, stack)
        output: list[str] = []
        smtp = stack.shape.rx.smtp
        script = sampler_script(topology.name, seconds=duration + grace + 5, interval=interval,
                                smtp_port=smtp.port if smtp else 0,
                                filter_port=stack.shape.amavis.port if topology.name == "dual" else MILTER_PORT)
        sampler = threading.Thread(target=lambda: output.append(stack.exec("amavis", ["bash", "-c", script])))
        load_before = os.getloadavg()[0]
        following = threading.Event()  # arrivals timed as they come, not at the drain
        follower = threading.Thread(target=_follow, args=(watchers, run, following.is_set))
        sampler.start()
        follower.start()
        run.started = time.time()
        try:
            asyncio.run(_offer(stack.smtp_port, plan, run, grace, lambda: _memory(stack, run)))
        finally:  # a failed point must not leave the follower polling a removed chain
            following.set()
            follower.join()
            stack.exec("amavis", ["touch", STOP_FILE])
            sampler.join(timeout=30)
        run.samples = parse_samples(output[0] if output else "")
        receiving = stack.logs("rx", since=run.started - 1)
        run.refusing_logged = sum("rejecting connections" in line for line in receiving.splitlines())
        deadline = time.time() + drain
        _follow(watchers, run, lambda: time.time() >= deadline or all(d in run.arrivals for d in run.accepted))
        run.drained = time.time() - run.sessions_ended
        run.load_average = (load_before, os.getloadavg()[0])
    return run

