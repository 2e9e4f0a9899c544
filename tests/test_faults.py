"""Faults under load: once MTA-RX has said 250 to DATA, the message arrives, whatever
crashes, hangs or fills up on the way.

Each test sends a steady stream of uniquely tagged messages into its chain (port 25 from
the LAN and 587 with AUTH; to the sink and to local mailboxes), breaks one thing, waits
until the break shows (a queue grows, a timeout is logged), heals it, and then checks that
every acknowledged message arrived: lost must be 0; duplicates are counted and explained
(sendmail and amavisd-new promise at-least-once). The table of all faults is printed at
the end of the run and written to reports/.
"""

import os
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import pytest

from harness import Stack, poll_until
from harness.duplicates import duplicate_cause
from harness.host import HostGauge
from loadgen.experiments.background import BackgroundLoad
from loadgen.experiments.runner import RunResult
from loadgen.send.workload import Workload, pregenerate
from siteconfig.run_settings import ChainSettings
from tests.conftest import policy_under_test
from tests.run_report import ROWS, FaultRow

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.faults]

RATE = 2.0  # msg/s: below what the chain carries, so a backlog after a fault drains
# MTA-RX's client timeouts towards amavisd-new, shortened so a hung amavisd-new shows in
# seconds; the shipped .cf keeps the document's (20 minutes for the final dot).
RX_TIMEOUTS = " ".join(f"-OTimeout.{name}=20s" for name in
                       ("initial", "helo", "mail", "rcpt", "datainit", "datablock", "rset", "quit"))
RX_TIMEOUTS += " -OTimeout.datafinal=30s"
# amavisd-new waits for MTA-TX as long as its child timeout allows (at least 60 s).
FAULT_SETTINGS = ChainSettings(rx_sendmail_options=RX_TIMEOUTS, tx_queue_interval="10s", amavis_child_timeout=60)
DAEMONS = ("rx", "amavis", "clamd", "tx")
# Process titles (ps args, POSIX extended regular expressions) of the processes the tests
# kill, and of processes at work on a message: a crash is tested while a message is in
# flight, not on an idle process.
SENDMAIL_DAEMON = r"^sendmail: accepting connections"
RX_QUEUE_RUNNER = r"^sendmail: running queue"
RX_DELIVERING = r"^sendmail: \./[0-9A-Za-z]{14} \[127\.0\.0\.1\]: client"  # a runner's child, talking to amavisd-new
SENDMAIL_AT_WORK = r"^sendmail: .*[0-9A-Za-z]{14}"  # any sendmail process holding a queue ID
AMAVIS_MASTER = r"^/usr/sbin/amavisd \(master\)"
AMAVIS_BUSY_CHILD = r"^/usr/sbin/amavisd \(ch[0-9]+-[0-9]+"  # "(ch3-00277-03-2)"; an idle one is "(ch3-avail)"
CLAMD = r"^clamd "

Fault = Callable[[Stack, BackgroundLoad, list[str]], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[Stack]:
    with Stack(settings=FAULT_SETTINGS) as stack:
        yield stack


@pytest.fixture
def chain(fault_stack: Stack) -> Iterator[Stack]:
    """The fault stack, every daemon running and healthy after the test, and MTA-RX's
    queue empty, so no test starts with another's backlog."""
    yield fault_stack
    for service in DAEMONS:
        container = fault_stack.container(service)
        container.reload()
        if container.status == "paused":
            fault_stack.unpause(service)
        elif container.status != "running":
            container.start()
    for service in DAEMONS:
        fault_stack.wait_healthy(service, timeout=180)
    poll_until(lambda: not fault_stack.rx.queue() and not fault_stack.tx.queue(), timeout=600, interval=2,
               what="MTA-RX's and MTA-TX's queues to drain",
               evidence=lambda: fault_stack.exec("rx", ["mailq", "-C/etc/mail/sendmail-rx.cf"])[-3000:])


# --- conditions: how a test knows the fault has shown its effect ----------------------------

def logged(stack: Stack, service: str, pattern: str, since: float) -> Callable[[], bool]:
    return lambda: re.search(pattern, stack.logs(service, since=since)) is not None


def rx_queue_holds(stack: Stack, count: int) -> Callable[[], bool]:
    return lambda: len(stack.rx.queue()) >= count


def refused_more(load: BackgroundLoad, count: int) -> Callable[[], bool]:
    before = sum(load.refusals.values())
    return lambda: sum(load.refusals.values()) >= before + count


def wait_for(check: Callable[[], bool], what: str, stack: Stack, service: str, timeout: float = 150) -> None:
    poll_until(check, timeout=timeout, what=what, interval=0.5, evidence=lambda: stack.logs(service, tail=30))


# --- the faults ------------------------------------------------------------------------------

KILL_WHEN_BUSY = r"""
titles() { ps -eo pid=,args= | sed 's/^ *//' | grep -E -- "$1" | grep -v -e 'ps -eo' -e 'grep -E' | head -n1; }
busy=$(titles "$1")
[ -n "$busy" ] || exit 0
if [ -n "$2" ]; then
  target=$(titles "$2" | cut -d' ' -f1)
else
  target=${busy%% *}
fi
# Gone meanwhile (its message done): nothing printed, so the caller looks again.
[ -n "$target" ] && kill -9 "$target" 2>/dev/null && echo "$target $busy"
true
"""


def with_pid(title: str) -> str:
    """A ps-title pattern as it matches "<pid> <args>" lines."""
    return "^[0-9]+ " + title.removeprefix("^")


def kill_when_busy(stack: Stack, service: str, target: str | None, busy: str, busy_in: str | None = None) -> str:
    """kill -9 the process of `service` whose title matches `target` (None: the busy process
    itself) at a moment when a process matching `busy` (in `busy_in`'s container, default the
    same) is at work on a message; the busy process's title. Seen and killed in one exec
    when both are in the same container, so the window between them is milliseconds."""
    if busy_in is None or busy_in == service:
        args = [with_pid(busy), with_pid(target) if target else ""]
        killed = poll_until(lambda: stack.exec(service, ["sh", "-c", KILL_WHEN_BUSY, "sh", *args]).strip(),
                            timeout=120, interval=0.1, what=f"a process of {service} at work on a message",
                            evidence=lambda: stack.exec(service, ["ps", "-eo", "pid,args"]))
        return killed.split(" ", 1)[1]
    title = poll_until(lambda: next((args for _, args in stack.pids(busy_in, busy)), None), timeout=120, interval=0.1,
                       what=f"a process of {busy_in} at work on a message",
                       evidence=lambda: stack.exec(busy_in, ["ps", "-eo", "pid,args"]))
    stack.kill(service, target or busy)
    return f"{title} (in {busy_in})"


def crash(service: str, target: str | None, *, busy: str, busy_in: str | None = None,
          respawned: Callable[[Stack], bool] | None = None) -> Fault:
    """kill -9 of a process while a message is in flight (`busy`, see kill_when_busy). The
    container's main daemon: Docker restarts the container (restart: on-failure), the queue
    stays on its volume. A child: its parent replaces it."""

    @contextmanager
    def fault(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
        restarts = stack.restart_count(service)
        notes.append(f"killed while busy: {kill_when_busy(stack, service, target, busy, busy_in)[:70]}")
        yield
        if respawned is None:
            wait_for(lambda: stack.restart_count(service) > restarts, f"Docker to restart {service}", stack, service)
            notes.append("container restarted by Docker")
        else:
            wait_for(lambda: respawned(stack), f"a new process in {service}", stack, service)
            notes.append("its parent went on")
        stack.wait_healthy(service, timeout=180)

    return fault


def down(service: str, until: Callable[[Stack, BackgroundLoad, float], Callable[[], bool]], shows: str) -> Fault:
    """Container stopped until the effect shows, then started again."""

    @contextmanager
    def fault(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
        since = time.time()
        stack.stop(service)
        wait_for(until(stack, load, since), shows, stack, "rx")
        notes.append(shows if service == "rx" else f"{shows}; RX queue {len(stack.rx.queue())}")
        yield
        stack.start(service, timeout=180)

    return fault


def restarted(service: str) -> Fault:
    @contextmanager
    def fault(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
        stack.restart(service, timeout=180)
        yield

    return fault


def hung(service: str, until: Callable[[Stack, BackgroundLoad, float], Callable[[], bool]], shows: str,
         log_of: str) -> Fault:
    """docker pause: the process is frozen, its sockets stay open, nothing answers."""

    @contextmanager
    def fault(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
        since = time.time()
        stack.pause(service)
        try:
            wait_for(until(stack, load, since), shows, stack, log_of, timeout=240)
            notes.append(f"{shows} after {time.time() - since:.0f} s")
        finally:
            stack.unpause(service)
        yield
        stack.wait_healthy(service, timeout=180)

    return fault


@contextmanager
def low_disk_at_rx(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
    """MTA-RX below its MinFreeBlocks (set far above the free space at start) with a
    backlog in its queue: new mail gets 4xx while the backlog still goes out."""
    stack.stop("amavis")  # the backlog
    wait_for(rx_queue_holds(stack, 10), "a backlog of 10 in the RX queue", stack, "rx")
    started = time.time()
    stack.recreate("rx", ChainSettings(rx_sendmail_options=f"{RX_TIMEOUTS} -OMinFreeBlocks=2000000000"))
    backlog = len(stack.rx.queue())
    before = Counter(load.refusals)
    stack.start("amavis", timeout=180)
    notes.append(f"MTA-RX recreated and amavisd-new back in {time.time() - started:.0f} s")
    wait_for(lambda: sum(n for code, n in (Counter(load.refusals) - before).items() if code.startswith("4")) >= 3,
             "new mail refused with 4xx", stack, "rx")
    wait_for(lambda: len(stack.rx.queue()) < backlog, "the backlog shrinking while new mail is refused", stack, "rx")
    refused = Counter(load.refusals) - before
    notes.append(f"backlog {backlog} drained while new mail got {dict(refused)}")
    assert not [code for code in refused if code.startswith("5")], f"low disk must be a 4xx, got {dict(refused)}"
    yield
    stack.recreate("rx")


def deferred_by_amavis(stack: Stack, load: BackgroundLoad, since: float) -> Callable[[], bool]:
    return logged(stack, "rx", r"stat=Deferred: 4\d\d", since)


def amavis_children_all_back(stack: Stack) -> bool:
    return stack.amavis.children() >= policy_under_test().limits.max_servers


def clamd_down(stack: Stack, load: BackgroundLoad, notes: list[str]) -> AbstractContextManager[None]:
    """clamd stopped: what amavisd-new does then is the policy's (read when the test runs)."""
    fault = (down("clamd", deferred_by_amavis, "amavisd-new answered 4xx")
             if policy_under_test().content.scanner_failure == "tempfail" else
             down("clamd", lambda s, load, t: logged(s, "amavis", r"Passed UNCHECKED", t),
                  "amavisd-new passed mail unscanned"))
    return fault(stack, load, notes)


@dataclass(frozen=True)
class FaultCase:
    act: Fault
    touches: frozenset[str]  # the services it breaks: only they can explain a duplicate
    drain_bound: float  # s from healing to the last first arrival


# Drain bounds: from healing to the last acknowledged message's arrival. After a crash or a
# stop, MTA-RX's persistent runners retry at once (no MinQueueAge), MTA-TX every 10 s, and the
# backlog is 10-40 messages: 7-15 s on a quiet host (up to 90 s after amavisd-new's master was
# killed, while SpamAssassin reloads). A hang holds messages until a client timeout fires
# (MTA-RX 30 s, amavisd-new 60 s) first: 36-95 s.
DRAIN_BOUND = 120.0
HANG_DRAIN_BOUND = 180.0
# (A CI run failed these bounds with drains of 125-223 s, nothing lost: an amavisd-new process
# killed while holding SpamAssassin's Bayes lock file left it behind, and every scan then
# waited 10 s for it, as the trails of the last messages showed; two earlier CI runs failed
# with 137-366 s, before trails were printed. The sample's SpamAssassin now uses flock().)
# Unless the host's load average reached QueueLA meanwhile: then sendmail queues a message
# instead of sending it, and its queue runs pass over it, until the load falls below what the
# message's priority allows (QueueFactor / (load - QueueLA + 1)). The document's MTA-TX keeps
# the default QueueLA (it disables only RefuseLA). With 22 busy loops beside a fault test
# here (load 24.5), MTA-TX held a message for 2 minutes: drain 137 s. Such a drain follows the
# host, not the chain; its bound only says the mail came out at all.
LOADED_DRAIN_BOUND = 600.0
HANDING_OVER = {"rx", "amavis", "tx"}  # the processes that pass a message on and record that they did


def case(act: Fault, *services: str, drain_bound: float = DRAIN_BOUND) -> FaultCase:
    return FaultCase(act, frozenset(services), drain_bound)


FAULTS: dict[str, FaultCase] = {
    "kill -9 MTA-RX daemon": case(crash("rx", SENDMAIL_DAEMON, busy=RX_DELIVERING), "rx"),
    "kill -9 MTA-RX queue runner": case(crash("rx", None, busy=RX_DELIVERING,
                                              respawned=lambda s: bool(s.pids("rx", RX_QUEUE_RUNNER))), "rx"),
    "kill -9 amavisd-new master": case(crash("amavis", AMAVIS_MASTER, busy=AMAVIS_BUSY_CHILD), "amavis"),
    "kill -9 amavisd-new child": case(crash("amavis", None, busy=AMAVIS_BUSY_CHILD,
                                            respawned=amavis_children_all_back),
                                      "amavis"),
    "kill -9 MTA-TX daemon": case(crash("tx", SENDMAIL_DAEMON, busy=SENDMAIL_AT_WORK), "tx"),
    "kill -9 clamd": case(crash("clamd", CLAMD, busy=AMAVIS_BUSY_CHILD, busy_in="amavis"), "clamd"),
    "MTA-RX stopped, started": case(down("rx", lambda s, load, t: refused_more(load, 3), "sends refused"), "rx"),
    "amavisd-new stopped, started": case(down("amavis", lambda s, load, t: rx_queue_holds(s, 10),
                                              "RX kept accepting, queue grew to 10"), "amavis"),
    "clamd stopped, started": case(clamd_down, "clamd"),
    "MTA-TX stopped, started": case(down("tx", deferred_by_amavis, "amavisd-new answered 4xx"), "tx"),
    **{f"{name} restarted": case(restarted(service), service) for name, service in
       (("MTA-RX", "rx"), ("amavisd-new", "amavis"), ("clamd", "clamd"), ("MTA-TX", "tx"))},
    "amavisd-new paused (hang)": case(hung("amavis", lambda s, load, t: logged(s, "rx", r"(?i)timeout|timed out", t),
                                           "MTA-RX timed out", "rx"), "amavis", drain_bound=HANG_DRAIN_BOUND),
    "MTA-TX paused (hang)": case(hung("tx", lambda s, load, t: logged(s, "amavis", r"No greeting|(?i:timed? ?out)",
                                                                      t), "amavisd-new timed out", "amavis"),
                                 "tx", drain_bound=HANG_DRAIN_BOUND),
    "low disk at MTA-RX": case(low_disk_at_rx, "rx", "amavis"),  # MTA-RX recreated, amavisd-new stopped
}


@pytest.mark.parametrize("name", list(FAULTS), ids=lambda name: re.sub(r"\W+", "_", name.lower()).strip("_"))
def test_every_acknowledged_message_arrives_whole_once_and_soon_after(chain: Stack, name: str) -> None:
    fault = FAULTS[name]
    plan = pregenerate(800, Workload(local_share=0.3, submission_share=0.2, median_size=3000,
                                     seed=zlib.crc32(name.encode())))
    notes: list[str] = []
    with BackgroundLoad(chain, plan, rate=RATE, drain=LOADED_DRAIN_BOUND) as load:
        load.wait_accepted(10)
        with fault.act(chain, load, notes):
            pass
        healed = time.time()
        with HostGauge(threshold=queue_la(chain)) as gauge:
            load.wait_accepted(10, timeout=180)  # the healed chain accepts again
            result = load.result()
            load.settle(result, lambda: not chain.rx.queue() and not chain.tx.queue())
            host = gauge.read()
    matched = result.matched()
    first_arrivals = result.first_arrivals()
    logs = {service: chain.logs(service) for service in DAEMONS} if matched.duplicated else {}
    causes = Counter(duplicate_cause(logs, d.message_id, fault.touches) for d in matched.duplicated)
    if causes:
        notes.append("duplicates: " + "; ".join(f"{cause} ({n})" for cause, n in causes.items()))
    row = FaultRow(fault=name, acknowledged=len(result.scheduled), delivered=matched.delivered,
                   lost=len(matched.missing), duplicated=sum(matched.duplicated.values()),
                   refused=result.tally.errors, drain_s=round(max(first_arrivals, default=healed) - healed, 1),
                   host=str(host), notes="; ".join(notes))
    ROWS.append(row)
    evidence = "\n".join(chain.trail(d.message_id) for d in [*matched.missing[:3], *matched.wrong[:3]])
    assert matched.missing == [], f"{row}\nlost {len(matched.missing)} acknowledged messages:\n{evidence}"
    assert matched.wrong == [], f"{row}\ncopies at another recipient or with another body: {matched.wrong[:5]}"
    assert row.acknowledged >= 20, row
    if not fault.touches & HANDING_OVER:
        assert not matched.duplicated, f"{row}\nno hand-off was broken, yet duplicates: {dict(causes)}"
    unexplained = [cause for cause in causes if cause.startswith("unexplained")]
    evidence = "\n".join(chain.trail(d.message_id) for d in list(matched.duplicated)[:3])
    assert not unexplained, f"{row}\nduplicates the logs do not explain:\n{evidence}"
    bound = LOADED_DRAIN_BOUND if host.reached_threshold else fault.drain_bound
    if row.drain_s > bound:
        pytest.fail(f"{row}\ndrained in {row.drain_s} s, bound {bound} s (host: {host})\n"
                    + last_arrivals(chain, result, healed), pytrace=False)


def queue_la(stack: Stack) -> float:
    """The lowest load average at which MTA-RX or MTA-TX queues mail instead of sending it:
    O QueueLA of their .cf, else sendmail's default, 8 per CPU online (the containers see
    the host's CPUs)."""
    return min(mta.compiled().number("QueueLA", 8 * (os.cpu_count() or 1)) for mta in (stack.rx, stack.tx))


def last_arrivals(stack: Stack, result: RunResult, healed: float, count: int = 2) -> str:
    """The messages that arrived last after the heal: when they were accepted and arrived,
    and their trail through the daemons' logs (where the time went)."""
    latest = sorted(result.first_arrival().items(), key=lambda item: item[1])[-count:]
    return "\n".join(f"last to arrive: {d.message_id} to {d.recipient}: accepted "
                     f"{result.accepted.get(d.message_id, healed) - healed:+.1f} s, arrived {at - healed:+.1f} s "
                     f"after the heal\n{stack.trail(d.message_id)}" for d, at in reversed(latest))
