"""Drive load into a running chain and watch what arrives at the sink.

Three ways to offer load:
  open      a fixed rate (msg/s); latency from each message's scheduled time
  closed    N SMTP sessions sending back to back
  inflight  keep K messages in flight end to end (sent, not yet arrived): saturates the
            chain without flooding MTA-RX's queue, which makes a steady window measurable
"""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.smtp import Client, SMTPException, SMTPResponseException, close, open_client
from loadgen.measure.arrivals import Arrivals, MailboxWatcher, SinkWatcher
from loadgen.measure.matching import Matched, match
from loadgen.measure.stats import Tally
from loadgen.send.delivery import Delivery
from loadgen.send.schedule import open_loop_offsets
from loadgen.send.wire import send_one
from loadgen.send.workload import Planned

__all__ = ["LATE_AFTER", "Injection", "RunResult", "injections", "run_load"]

# An open-loop message whose send starts this much after its scheduled time is late: the
# generator (or MTA-RX, slow to accept) could not keep the schedule. Its latency still
# counts from the scheduled time, so the wait is not hidden.
LATE_AFTER = 0.5


@dataclass(frozen=True)
class Injection:
    """Where messages enter: MTA-RX port 25 from the trusted LAN, or 587 with AUTH."""

    port: int
    starttls: bool = False
    login: tuple[str, str] | None = None


def injections(smtp_port: int, submission_port: int, login: tuple[str, str]) -> dict[str, "Injection"]:
    """Planned.via -> where to send it."""
    return {"smtp": Injection(smtp_port), "submission": Injection(submission_port, starttls=True, login=login)}


@dataclass
class RunResult:
    mode: str
    started: float
    load_ended: float
    ended: float
    warmup: float
    tally: Tally = field(default_factory=Tally)
    sent: int = 0
    scheduled: dict[Delivery, float] = field(default_factory=dict)  # expected to arrive -> when it was due
    accepted: dict[str, float] = field(default_factory=dict)  # Message-ID -> when MTA-RX said 250
    data_sent: dict[str, float] = field(default_factory=dict)  # Message-ID -> when its DATA's end was written
    arrivals: Arrivals = field(default_factory=dict)
    late: int = 0  # open loop: sends started more than LATE_AFTER after their scheduled time
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (time, accepted and not yet arrived)
    plan_ran_out: bool = False  # every planned message was sent before the duration ended
    interrupted: bool = False

    @property
    def steady_window(self) -> tuple[float, float]:
        return self.started + self.warmup, self.load_ended

    @property
    def accepted_at(self) -> list[float]:
        return list(self.accepted.values())

    def first_arrival(self) -> dict[Delivery, float]:
        """Delivery -> when it first arrived, for each message this run scheduled that
        did: no duplicates, nothing of an earlier run, no alert or bounce the chain made."""
        return {m: min(self.arrivals[m]) for m in self.scheduled if m in self.arrivals}

    def first_arrivals(self) -> list[float]:
        return list(self.first_arrival().values())

    def backlog_growth(self, start: float, end: float) -> float:
        """Messages per second by which the backlog (accepted, not yet arrived) grew
        between `start` and `end` (least squares over the samples taken then): above
        zero, the chain falls behind the offered load."""
        times = [t for t, _ in self.backlog if start <= t <= end]
        counts = [float(n) for t, n in self.backlog if start <= t <= end]
        if len(set(times)) < 2 or len(set(counts)) < 2:
            return 0.0
        return statistics.linear_regression(times, counts).slope

    def matched(self) -> Matched:
        return match(self.scheduled, self.arrivals)


async def _sender(injection: Injection, queue: "asyncio.Queue[tuple[Planned, float] | None]", result: RunResult,
                  on_accept: Callable[[Planned], None]) -> None:
    """One SMTP session, reused for many messages; reconnects after an error."""
    client: Client | None = None
    while (item := await queue.get()) is not None:
        planned, due = item
        if result.mode == "open" and time.time() - due > LATE_AFTER:
            result.late += 1
        try:
            if client is None or not client.is_connected:
                client = await open_client(injection.port, timeout=120, starttls=injection.starttls,
                                           login=injection.login)
            result.sent += 1
            took = await send_one(client, planned.sender, planned.recipient, planned.wire)
            result.tally.accepted += 1
            result.accepted[planned.message_id] = time.time()
            result.data_sent[planned.message_id] = result.accepted[planned.message_id] - took
            if planned.expect_delivery:
                result.scheduled[planned.delivery] = due
            on_accept(planned)
        except SMTPResponseException as refused:
            result.tally.refused(refused.code)
        except (SMTPException, OSError) as failed:
            result.tally.refused(type(failed).__name__)
            client = None
    if client is not None:
        await close(client)


def _split_sessions(plan: list[Planned], sessions: int) -> dict[str, int]:
    """Sessions per injection point, in proportion to the messages planned for it (at
    least one each that has any)."""
    counts = {via: sum(1 for p in plan if p.via == via) for via in sorted({p.via for p in plan})}
    split = {via: max(1, round(sessions * n / len(plan))) for via, n in counts.items()}
    if len(split) > 1 and sum(split.values()) > sessions:  # keep the total unless one each is needed
        largest = max(split, key=split.__getitem__)
        split[largest] = max(1, split[largest] - (sum(split.values()) - sessions))
    return split


async def _run(
    plan: list[Planned], *, mode: str, injections: dict[str, Injection], watchers: list[SinkWatcher | MailboxWatcher],
    duration: float, warmup: float, rate: float, sessions: int, inflight: int, drain: float, stall: float | None,
    progress: Callable[[RunResult, int], None], stop: Callable[[RunResult], bool], holder: list[RunResult],
) -> RunResult:
    now = time.time()
    result = RunResult(mode=mode, started=now, load_ended=now, ended=now, warmup=warmup)
    holder.append(result)

    def poll(force: bool = False) -> None:
        for watcher in watchers:
            watcher.poll(result.arrivals, force=force)

    split = _split_sessions(plan, sessions)
    queues: dict[str, asyncio.Queue[tuple[Planned, float] | None]] = {
        via: asyncio.Queue(maxsize=n * 2) for via, n in split.items()}
    outstanding = 0

    def accepted(planned: Planned) -> None:
        nonlocal outstanding
        if planned.expect_delivery:
            outstanding += 1

    workers = [asyncio.create_task(_sender(injections[via], queues[via], result, accepted))
               for via, n in split.items() for _ in range(n)]
    deadline = result.started + duration
    offsets = open_loop_offsets(rate, duration) if mode == "open" else []
    next_poll = 0.0
    index = 0
    try:
        while index < len(plan) and time.time() < deadline and not stop(result):
            if time.time() >= next_poll:
                poll()
                outstanding = sum(1 for m in result.scheduled if m not in result.arrivals)
                result.backlog.append((time.time(), outstanding))
                progress(result, len(result.arrivals))
                next_poll = time.time() + 0.25
            if mode == "open":
                if index >= len(offsets):
                    break
                due = result.started + offsets[index]
                if (wait := due - time.time()) > 0:
                    await asyncio.sleep(min(wait, 0.25))
                    continue
            elif mode == "inflight" and outstanding + sum(q.qsize() for q in queues.values()) >= inflight:
                await asyncio.sleep(0.02)
                continue
            else:
                due = time.time()
            await queues[plan[index].via].put((plan[index], due))
            index += 1
    except asyncio.CancelledError:  # Ctrl-C: stop offering load, keep what was measured
        result.interrupted = True
    result.plan_ran_out = index == len(plan) and time.time() < deadline
    result.load_ended = time.time()
    for via, n in split.items():
        for _ in range(n):
            await queues[via].put(None)
    await asyncio.gather(*workers, return_exceptions=True)
    # Drain: wait (bounded) for everything accepted to arrive; not after Ctrl-C, and with
    # `stall`, not after that long without an arrival (a chain that has stopped delivering).
    drain_deadline = time.time() + (0 if result.interrupted else drain)
    last_arrival, arrived = time.time(), len(result.arrivals)
    while time.time() < drain_deadline and any(m not in result.arrivals for m in result.scheduled):
        poll()
        progress(result, len(result.arrivals))
        if len(result.arrivals) > arrived:
            last_arrival, arrived = time.time(), len(result.arrivals)
        elif stall is not None and time.time() - last_arrival > stall:
            break
        await asyncio.sleep(0.25)
    poll(force=True)
    result.ended = time.time()
    return result


def run_load(plan: list[Planned], *, mode: str, injections: dict[str, Injection],
             watchers: list[SinkWatcher | MailboxWatcher], duration: float, warmup: float = 5, rate: float = 10,
             sessions: int = 4, inflight: int = 20, drain: float = 120, stall: float | None = None,
             progress: Callable[[RunResult, int], None] = lambda result, arrived: None,
             stop: Callable[[RunResult], bool] = lambda result: False) -> RunResult:
    """Offer load from `plan` for `duration` seconds (or until stop(result) says so), each
    message through injections[message.via], then wait up to `drain` seconds for the
    accepted messages to show up at the watchers (less if `stall` seconds pass without one).
    Ctrl-C ends the load early; the result still counts."""
    if mode not in ("open", "closed", "inflight"):
        raise ValueError(f"mode must be open, closed or inflight, not {mode!r}")
    if missing := {p.via for p in plan} - injections.keys():
        raise ValueError(f"no injection point for {sorted(missing)}")
    holder: list[RunResult] = []
    try:
        return asyncio.run(_run(plan, mode=mode, injections=injections, watchers=watchers, duration=duration,
                                warmup=warmup, rate=rate, sessions=sessions, inflight=inflight, drain=drain,
                                stall=stall, progress=progress, stop=stop, holder=holder))
    except KeyboardInterrupt:
        if not holder:
            raise
        holder[0].interrupted = True
        holder[0].ended = time.time()
        return holder[0]
