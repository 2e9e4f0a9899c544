"""Faults under load: once MTA-RX has said 250 to DATA, the message arrives, whatever
crashes, hangs or fills up on the way.

Each test sends a steady stream of uniquely tagged messages into its chain (port 25 from
the LAN and 587 with AUTH; to the sink and to local mailboxes), breaks one thing, waits
until the break shows (a queue grows, a timeout is logged), heals it, and then checks that
every acknowledged message arrived: lost must be 0; duplicates are counted and explained
(sendmail and amavisd-new promise at-least-once). The table of all faults is printed at
the end of the run and written to reports/.
"""

import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from harness import Stack, poll_until
from loadgen.background import BackgroundLoad
from loadgen.workload import Workload, pregenerate
from tests.conftest import POLICY
from tests.run_report import ROWS, FaultRow

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.faults]

RATE = 2.0  # msg/s: below what the chain carries, so a backlog after a fault drains
# MTA-RX's client timeouts towards amavisd-new, shortened so a hung amavisd-new shows in
# seconds; the shipped .cf keeps the document's (20 minutes for the final dot).
RX_TIMEOUTS = " ".join(f"-OTimeout.{name}=20s" for name in
                       ("initial", "helo", "mail", "rcpt", "datainit", "datablock", "rset", "quit"))
RX_TIMEOUTS += " -OTimeout.datafinal=30s"
# amavisd-new waits for MTA-TX as long as its child timeout allows (at least 60 s).
FAULT_ENV = {"RX_SENDMAIL_OPTIONS": RX_TIMEOUTS, "TX_QUEUE_INTERVAL": "10s", "AMAVIS_CHILD_TIMEOUT": "60"}
DAEMONS = ("rx", "amavis", "clamd", "tx")
# Process titles (ps args) of the processes the tests kill.
SENDMAIL_DAEMON = r"^sendmail: accepting connections"
RX_QUEUE_RUNNER = r"^sendmail: running queue"
AMAVIS_MASTER = r"^/usr/sbin/amavisd \(master\)"
AMAVIS_CHILD = r"^/usr/sbin/amavisd \((?!master)"
CLAMD = r"^clamd "

Fault = Callable[[Stack, BackgroundLoad, list[str]], AbstractContextManager[None]]


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[Stack]:
    with Stack(env=FAULT_ENV) as stack:
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
    poll_until(lambda: not fault_stack.rx.queue(), timeout=600, what="MTA-RX's queue to drain", interval=2,
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

def crash(service: str, pattern: str, *, respawned: Callable[[Stack], bool] | None = None) -> Fault:
    """kill -9 of a process. The container's main daemon: Docker restarts the container
    (restart: on-failure), the queue stays on its volume. A child: its parent replaces it."""

    @contextmanager
    def fault(stack: Stack, load: BackgroundLoad, notes: list[str]) -> Iterator[None]:
        restarts = stack.restart_count(service)
        stack.kill(service, pattern)
        yield
        if respawned is None:
            wait_for(lambda: stack.restart_count(service) > restarts, f"Docker to restart {service}", stack, service)
            notes.append("container restarted by Docker")
        else:
            wait_for(lambda: respawned(stack), f"a new process in {service}", stack, service)
            notes.append("parent replaced the process")
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
    stack.recreate("rx", {"RX_SENDMAIL_OPTIONS": f"{RX_TIMEOUTS} -OMinFreeBlocks=2000000000"})
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
    stack.recreate("rx", {})


def deferred_by_amavis(stack: Stack, load: BackgroundLoad, since: float) -> Callable[[], bool]:
    return logged(stack, "rx", r"stat=Deferred: 4\d\d", since)


FAULTS: dict[str, Fault] = {
    "kill -9 MTA-RX daemon": crash("rx", SENDMAIL_DAEMON),
    "kill -9 MTA-RX queue runner": crash("rx", RX_QUEUE_RUNNER,
                                         respawned=lambda s: bool(s.pids("rx", RX_QUEUE_RUNNER))),
    "kill -9 amavisd-new master": crash("amavis", AMAVIS_MASTER),
    "kill -9 amavisd-new child": crash("amavis", AMAVIS_CHILD,
                                       respawned=lambda s: s.amavis.children() >= POLICY.limits.max_servers),
    "kill -9 MTA-TX daemon": crash("tx", SENDMAIL_DAEMON),
    "kill -9 clamd": crash("clamd", CLAMD),
    "MTA-RX stopped, started": down("rx", lambda s, load, t: refused_more(load, 3), "sends refused"),
    "amavisd-new stopped, started": down("amavis", lambda s, load, t: rx_queue_holds(s, 10),
                                         "RX kept accepting, queue grew to 10"),
    "clamd stopped, started": down("clamd", deferred_by_amavis, "amavisd-new answered 4xx")
    if POLICY.content.scanner_failure == "tempfail" else
    down("clamd", lambda s, load, t: logged(s, "amavis", r"Passed UNCHECKED", t), "amavisd-new passed mail unscanned"),
    "MTA-TX stopped, started": down("tx", deferred_by_amavis, "amavisd-new answered 4xx"),
    **{f"{name} restarted": restarted(service) for name, service in
       (("MTA-RX", "rx"), ("amavisd-new", "amavis"), ("clamd", "clamd"), ("MTA-TX", "tx"))},
    "amavisd-new paused (hang)": hung("amavis", lambda s, load, t: logged(s, "rx", r"(?i)timeout|timed out", t),
                                      "MTA-RX timed out", "rx"),
    "MTA-TX paused (hang)": hung("tx", lambda s, load, t: logged(s, "amavis", r"No greeting|(?i:timed? ?out)", t),
                                "amavisd-new timed out", "amavis"),
    "low disk at MTA-RX": low_disk_at_rx,
}


def duplicate_causes(stack: Stack, message_ids: list[str]) -> str:
    """Why messages arrived twice: MTA-RX's deferral reason in each one's trail (it gave up
    on a hop that had in fact passed the message on), or, with no deferral logged, a
    sender that died between handing the message on and recording it."""
    causes: Counter[str] = Counter()
    for message_id in message_ids[:5]:
        reasons = re.findall(r"sm-mta-rx\[\d+\]: \w+: .*stat=Deferred: (.*)", stack.trail(message_id))
        causes[reasons[0][:80] if reasons else "sent again after a crash before the send was recorded"] += 1
    return "; ".join(f"{cause} ({n})" for cause, n in causes.items())


@pytest.mark.parametrize("name", list(FAULTS), ids=lambda name: re.sub(r"\W+", "_", name.lower()).strip("_"))
def test_every_acknowledged_message_arrives_after(chain: Stack, name: str) -> None:
    plan = pregenerate(800, Workload(local_share=0.3, submission_share=0.2, median_size=3000,
                                     seed=zlib.crc32(name.encode())))
    notes: list[str] = []
    with BackgroundLoad(chain, plan, rate=RATE) as load:
        load.wait_accepted(10)
        with FAULTS[name](chain, load, notes):
            pass
        healed = time.time()
        load.wait_accepted(10, timeout=180)  # the healed chain accepts again
        result = load.result()
    matched = result.matched()
    first_arrivals = [min(result.arrivals[m]) for m in result.scheduled if m in result.arrivals]
    if matched.duplicated:
        notes.append("duplicates: " + duplicate_causes(chain, list(matched.duplicated)))
    row = FaultRow(fault=name, acknowledged=len(result.scheduled), delivered=matched.delivered,
                   lost=len(matched.missing), duplicated=sum(matched.duplicated.values()),
                   refused=result.tally.errors, drain_s=round(max(first_arrivals, default=healed) - healed, 1),
                   notes="; ".join(notes))
    ROWS.append(row)
    evidence = "\n".join(chain.trail(m) for m in matched.missing[:3])
    assert matched.missing == [], f"{row}\nlost {len(matched.missing)} acknowledged messages:\n{evidence}"
    assert row.acknowledged >= 20, row
