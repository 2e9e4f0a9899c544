"""The load generator's own speed: SMTP into a null sink, beside Postfix's smtp-source.

A capacity run must never be limited by its generator. This benchmark sends the same
number of same-size messages over the same number of reused sessions into Postfix's
smtp-sink on loopback, once with smtp-source and once with our sender, and prints both
rates and their ratio. It is a benchmark, not a test: the figures go to the report.
"""

import asyncio
import contextlib
import multiprocessing
import os
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass

from harness.smtp import connect
from loadgen.experiments.postfix_tools import postfix_env, postfix_tools
from loadgen.send.wire import on_the_wire, send_one

__all__ = ["BenchResult", "run_bench"]

SENDER, RECIPIENT = "bench@loadgen.test", "sink@loadgen.test"


@dataclass(frozen=True)
class BenchResult:
    messages: int
    sessions: int
    size: int
    processes: int
    ours_per_s: float  # median of the rounds
    smtp_source_per_s: float
    rounds: int = 1

    @property
    def ratio(self) -> float:
        return self.ours_per_s / self.smtp_source_per_s if self.smtp_source_per_s else 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _message(size: int) -> bytes:
    head = f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: bench\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    return head + (line * (size // len(line) + 1))[: max(0, size - len(head))]


async def _blast(port: int, count: int, sessions: int, wire: bytes) -> None:
    remaining = [count]

    async def session() -> None:
        async with connect(port, timeout=60) as client:
            while remaining[0] > 0:
                remaining[0] -= 1
                await send_one(client, SENDER, RECIPIENT, wire)

    await asyncio.gather(*(session() for _ in range(sessions)))


def _worker(port: int, count: int, sessions: int, size: int) -> None:
    try:
        import uvloop

        uvloop.run(_blast(port, count, sessions, on_the_wire(_message(size))))
    except ImportError:
        asyncio.run(_blast(port, count, sessions, on_the_wire(_message(size))))


def _ours(port: int, messages: int, sessions: int, size: int, processes: int) -> float:
    share, per_process = messages // processes, max(1, sessions // processes)
    workers = [multiprocessing.Process(target=_worker, args=(port, share, per_process, size))
               for _ in range(processes)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"a sender process failed (exit {worker.exitcode})")
    return share * processes / (time.perf_counter() - started)


def run_bench(*, messages: int = 20000, sessions: int = 50, size: int = 3300, processes: int = 2,
              rounds: int = 3) -> BenchResult:
    tools = postfix_tools()
    env = postfix_env(tools)
    port = _free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([str(tools / "usr/sbin/smtp-sink"), *user, f"127.0.0.1:{port}", "1024"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if sink.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"smtp-sink did not start: {sink.stderr.read().decode() if sink.stderr else ''}")
            time.sleep(0.05)
        # Alternate the two senders for several rounds and keep the medians: this machine
        # is noisy, and a single pair of runs can differ by a factor of two.
        references, ours = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            # -d: keep each session for many messages, as our sender does.
            subprocess.run([str(tools / "usr/sbin/smtp-source"), "-d", "-s", str(sessions), "-m", str(messages),
                            "-l", str(size), "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"], env=env,
                           check=True, capture_output=True)
            references.append(messages / (time.perf_counter() - started))
            ours.append(_ours(port, messages, sessions, size, processes))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    return BenchResult(messages, sessions, size, processes, statistics.median(ours), statistics.median(references),
                       rounds)
