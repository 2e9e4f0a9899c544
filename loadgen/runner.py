"""Drive load into a running chain and watch what arrives at the sink.

Three ways to offer load:
  open      a fixed rate (msg/s); latency from each message's scheduled time
  closed    N SMTP sessions sending back to back
  inflight  keep K messages in flight end to end (sent, not yet arrived): saturates the
            chain without flooding MTA-RX's queue, which makes a steady window measurable
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiosmtplib

from harness import SinkClient
from loadgen.matching import Matched, match
from loadgen.schedule import open_loop_offsets
from loadgen.stats import Tally
from loadgen.workload import Planned

__all__ = ["Injection", "RunResult", "run_load", "send_one"]


@dataclass(frozen=True)
class Injection:
    """Where messages enter: MTA-RX port 25 from the trusted LAN, or 587 with AUTH."""

    port: int
    starttls: bool = False
    login: tuple[str, str] | None = None


@dataclass
class RunResult:
    mode: str
    started: float
    load_ended: float
    ended: float
    warmup: float
    tally: Tally = field(default_factory=Tally)
    sent: int = 0
    scheduled: dict[str, float] = field(default_factory=dict)  # expected to arrive
    accepted_at: list[float] = field(default_factory=list)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    plan_ran_out: bool = False  # every planned message was sent before the duration ended
    interrupted: bool = False

    @property
    def steady_window(self) -> tuple[float, float]:
        return self.started + self.warmup, self.load_ended

    def arrival_times(self) -> list[float]:
        return [t for times in self.arrivals.values() for t in times]

    def matched(self) -> Matched:
        return match(self.scheduled, self.arrivals)


class _Sink:
    """Follows the sink's arrivals incrementally (by ID), keeping first-seen timestamps."""

    def __init__(self, client: SinkClient) -> None:
        self.client = client
        self.last_id = 0
        self.arrivals: dict[str, list[float]] = {}

    def poll(self) -> int:
        for item in self.client.messages(since=self.last_id):
            self.last_id = max(self.last_id, item.id)
            self.arrivals.setdefault(item.message_id, []).append(item.received)
        return len(self.arrivals)


async def send_one(client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """One transaction on an open session. MAIL and RCPT go through execute_command with
    the addresses as given: aiosmtplib's sendmail() would parse every address with the
    email package first, a third of the sender's CPU in `loadgen bench`."""
    if client.last_ehlo_response is None:
        await client.ehlo()  # else data() would say EHLO itself, mid-transaction
    for verb, argument in ((b"MAIL", f"FROM:<{sender}>"), (b"RCPT", f"TO:<{recipient}>")):
        reply = await client.execute_command(verb, argument.encode())
        if reply.code not in (250, 251):
            await client.rset()
            raise aiosmtplib.SMTPResponseException(reply.code, reply.message)
    await client.data(data)


async def _sender(injection: Injection, queue: "asyncio.Queue[tuple[Planned, float] | None]", result: RunResult,
                  on_accept: Callable[[Planned], None]) -> None:
    """One SMTP session, reused for many messages; reconnects after an error."""
    client: aiosmtplib.SMTP | None = None
    while (item := await queue.get()) is not None:
        planned, due = item
        try:
            if client is None or not client.is_connected:
                client = aiosmtplib.SMTP(hostname="127.0.0.1", port=injection.port, start_tls=False,
                                         validate_certs=False, timeout=120)
                await client.connect()
                if injection.starttls:
                    await client.starttls()
                if injection.login:
                    await client.login(*injection.login)
            result.sent += 1
            await send_one(client, planned.sender, planned.recipient, planned.data)
            result.tally.accepted += 1
            result.accepted_at.append(time.time())
            if planned.expect_delivery:
                result.scheduled[planned.message_id] = due
            on_accept(planned)
        except aiosmtplib.SMTPResponseException as refused:
            result.tally.refused(refused.code)
        except (aiosmtplib.SMTPException, OSError) as failed:
            result.tally.refused(type(failed).__name__)
            client = None
    if client is not None:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()


async def _run(
    plan: list[Planned], *, mode: str, injection: Injection, sink: SinkClient, duration: float, warmup: float,
    rate: float, sessions: int, inflight: int, drain: float, progress: Callable[[RunResult, int], None],
    holder: list[RunResult],
) -> RunResult:
    watcher = _Sink(sink)
    watcher.poll()
    watcher.arrivals.clear()  # only this run's arrivals count
    now = time.time()
    result = RunResult(mode=mode, started=now, load_ended=now, ended=now, warmup=warmup)
    holder.append(result)
    queue: asyncio.Queue[tuple[Planned, float] | None] = asyncio.Queue(maxsize=sessions * 2)
    outstanding = 0

    def accepted(planned: Planned) -> None:
        nonlocal outstanding
        if planned.expect_delivery:
            outstanding += 1

    workers = [asyncio.create_task(_sender(injection, queue, result, accepted)) for _ in range(sessions)]
    deadline = result.started + duration
    offsets = open_loop_offsets(rate, duration) if mode == "open" else []
    next_poll = 0.0
    index = 0
    try:
        while index < len(plan) and time.time() < deadline:
            if time.time() >= next_poll:
                arrived = watcher.poll()
                outstanding = sum(1 for m in result.scheduled if m not in watcher.arrivals)
                result.arrivals = watcher.arrivals
                progress(result, arrived)
                next_poll = time.time() + 0.25
            if mode == "open":
                if index >= len(offsets):
                    break
                due = result.started + offsets[index]
                if (wait := due - time.time()) > 0:
                    await asyncio.sleep(min(wait, 0.25))
                    continue
            elif mode == "inflight" and outstanding + queue.qsize() >= inflight:
                await asyncio.sleep(0.02)
                continue
            else:
                due = time.time()
            await queue.put((plan[index], due))
            index += 1
    except asyncio.CancelledError:  # Ctrl-C: stop offering load, keep what was measured
        result.interrupted = True
    result.plan_ran_out = index == len(plan) and time.time() < deadline
    result.load_ended = time.time()
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers, return_exceptions=True)
    # Drain: wait (bounded) for everything accepted to arrive; not after Ctrl-C.
    drain_deadline = time.time() + (0 if result.interrupted else drain)
    while time.time() < drain_deadline and any(m not in watcher.arrivals for m in result.scheduled):
        progress(result, watcher.poll())
        await asyncio.sleep(0.25)
    watcher.poll()
    result.arrivals = watcher.arrivals
    result.ended = time.time()
    return result


def run_load(plan: list[Planned], *, mode: str, injection: Injection, sink: SinkClient, duration: float,
             warmup: float = 5, rate: float = 10, sessions: int = 4, inflight: int = 20, drain: float = 120,
             progress: Callable[[RunResult, int], None] = lambda result, arrived: None) -> RunResult:
    """Offer load from `plan` for `duration` seconds, then wait up to `drain` seconds for
    the accepted messages to arrive. Ctrl-C ends the load early; the result still counts."""
    if mode not in ("open", "closed", "inflight"):
        raise ValueError(f"mode must be open, closed or inflight, not {mode!r}")
    holder: list[RunResult] = []
    try:
        return asyncio.run(_run(plan, mode=mode, injection=injection, sink=sink, duration=duration, warmup=warmup,
                                rate=rate, sessions=sessions, inflight=inflight, drain=drain, progress=progress,
                                holder=holder))
    except KeyboardInterrupt:
        if not holder:
            raise
        holder[0].interrupted = True
        holder[0].ended = time.time()
        return holder[0]
