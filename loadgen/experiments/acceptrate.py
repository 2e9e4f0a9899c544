"""How fast MTA-RX takes mail when every message comes on a new connection: Postfix's
smtp-source into port 25 with amavisd-new stopped (queue-only, nothing leaves MTA-RX).

Each new connection costs MTA-RX a reverse and a forward lookup of the client, so this is
where a resolver that stalls shows: once with the testbed's DNS, once with Docker's
embedded DNS (compose.docker-dns.yaml), in turn, on fresh chains.
"""

import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import Stack
from loadgen.experiments.postfix_tools import postfix_env, postfix_tools
from siteconfig.run_settings import ChainSettings

__all__ = ["RESOLVERS", "AcceptRate", "measure_accept_rate"]

# name -> (what the report calls it, the chain: MTA-RX resolving through which DNS)
RESOLVERS = {"testbed": ("testbed DNS", ChainSettings()), "docker": ("Docker's DNS", ChainSettings(rx_docker_dns=True))}
SENDER, RECIPIENT = "accept@remote.example", "alice@testbed.example"


@dataclass
class AcceptRate:
    resolver: str  # what the report calls it
    messages: int  # per round
    sessions: int
    rates: list[float] = field(default_factory=list)  # msg/s, one per round
    queued: int = 0  # messages in MTA-RX's queue at the end (all rounds)

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def _round(tools: Path, port: int, messages: int, sessions: int, size: int) -> float:
    started = time.perf_counter()
    # No -d: one message per connection, each a new client for MTA-RX to look up.
    done = subprocess.run([str(tools / "usr/sbin/smtp-source"), "-s", str(sessions), "-m", str(messages),
                           "-l", str(size), "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"],
                          env=postfix_env(tools), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"smtp-source failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return messages / elapsed


def measure_accept_rate(*, messages: int = 600, sessions: int = 20, rounds: int = 3, size: int = 3300,
                        resolvers: list[str] | None = None) -> list[AcceptRate]:
    tools = postfix_tools()
    results = []
    for resolver in resolvers or list(RESOLVERS):
        label, chain = RESOLVERS[resolver]
        result = AcceptRate(label, messages, sessions)
        with Stack(settings=chain) as stack:
            stack.stop("amavis")
            for _ in range(rounds):
                result.rates.append(_round(tools, stack.smtp_port, messages, sessions, size))
            result.queued = len(stack.rx.queue())
        results.append(result)
    return results
