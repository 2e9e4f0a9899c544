"""The capacity sweep: for each worker count, a fresh chain, saturated, measured."""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness import Stack
from harness.policy import current_policy
from loadgen.arrivals import watchers_for
from loadgen.report import Point
from loadgen.runner import RunResult, injections, run_load
from loadgen.stats import mean_rate, steady_rate
from loadgen.workload import Planned

__all__ = ["SweepSettings", "measure_point"]

MEASURED = ("rx", "amavis", "clamd", "tx")


@dataclass(frozen=True)
class SweepSettings:
    window: float = 30  # seconds of load per point, warm-up included
    warmup: float = 5
    inflight_per_worker: int = 4  # messages kept in flight: enough to keep every worker busy
    sessions: int = 4
    drain: float = 120
    queue_runners: int | None = None  # None: equal to the workers, as the document advises
    spamassassin: bool = True
    clamav: bool = True
    tmpfs: bool = False  # amavisd-new's work directory on tmpfs
    amavis_memory: str = "0"  # a container memory limit such as "1g"; 0: none

    def variant(self) -> str:
        parts = [name for name, on in (("no SpamAssassin", not self.spamassassin), ("no ClamAV", not self.clamav),
                                       ("tmpfs work dir", self.tmpfs)) if on]
        if self.amavis_memory != "0":
            parts.append(f"amavisd-new memory limit {self.amavis_memory}")
        return ", ".join(parts) or "as shipped"


def measure_point(workers: int, plan: list[Planned], settings: SweepSettings,
                  progress: Callable[[RunResult, int], None] = lambda r, a: None) -> Point:
    runners = settings.queue_runners or workers
    env = {"RX_QUEUE_RUNNERS": str(runners), "AMAVIS_MAX_SERVERS": str(workers),
           "AMAVIS_SPAM_CHECKS": "1" if settings.spamassassin else "0",
           "AMAVIS_VIRUS_CHECKS": "1" if settings.clamav else "0", "AMAVIS_MEM_LIMIT": settings.amavis_memory}
    with Stack(env=env, extra_files=["compose.tmpfs.yaml"] if settings.tmpfs else None) as stack:
        cpu_before = {service: stack.cpu_seconds(service) for service in MEASURED}
        login = current_policy().submission_login
        result = run_load(plan, mode="inflight", watchers=watchers_for(plan, stack.sink, stack),
                          injections=injections(stack.office_port, stack.submission_port, login),
                          duration=settings.window, warmup=settings.warmup, sessions=settings.sessions,
                          inflight=settings.inflight_per_worker * workers + 10, drain=settings.drain,
                          progress=progress)
        busy = max(result.load_ended - result.started, 1e-9)
        cpu = {service: (stack.cpu_seconds(service) - cpu_before[service]) / busy for service in MEASURED}
        memory = stack.process_memory("amavis", "amavisd (")
    if result.plan_ran_out:  # the point is still measured, over a shorter window
        print(f"warning: all {len(plan)} pre-generated messages were sent before the {settings.window:g} s window "
              "ended; raise --messages", file=sys.stderr)
    matched = result.matched()
    start, end = result.steady_window
    latency = matched.latency.summary()
    return Point(
        workers=workers, queue_runners=runners, max_servers=workers,
        delivered_per_s=steady_rate(result.arrival_times(), start, end),
        delivered_mean_per_s=round(mean_rate(result.arrival_times(), start, end), 2),
        accepted_per_s=steady_rate(result.accepted_at, start, end),
        p50_ms=latency["p50"], p90_ms=latency["p90"], p99_ms=latency["p99"], p99_9_ms=latency["p99.9"],
        max_ms=latency["max"], sent=result.sent, delivered=matched.delivered, lost=len(matched.missing),
        duplicated=sum(matched.duplicated.values()), errors=result.tally.errors,
        amavis_rss_mib=sum(m["rss"] for m in memory) / 1024,
        amavis_private_mib=sum(m.get("private", 0) for m in memory) / 1024,
        amavis_pss_mib=sum(m.get("pss", 0) for m in memory) / 1024,
        cpu_rx=round(cpu["rx"], 3), cpu_amavis=round(cpu["amavis"], 3), cpu_clamd=round(cpu["clamd"], 3),
        cpu_tx=round(cpu["tx"], 3),
    )


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")
