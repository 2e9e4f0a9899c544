"""The capacity sweep: for each worker count (and variant), a fresh chain, measured twice.

1. Saturated: messages kept in flight so every worker is busy; consecutive batches of the
   steady window give the throughput with its interval (loadgen.experiments.steady); CPU and memory
   are read from the containers' cgroups at the window's edges.
2. At a common rate: the same open-loop load for every point (by default 70% of the first
   point's capacity), so latency compares worker counts under the same traffic, counted
   from each message's scheduled time; amavisd-new's TIMING lines then say where the time
   went.

Either topology (harness.topology): the containers measured are the topology's daemons, and
the legs of the time are its own (loadgen.measure.breakdown).
"""

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from harness import Stack, StackError
from harness.cgroups import CgroupSample, host_busy_seconds
from harness.topology import DUAL, Topology
from loadgen.experiments.points import SERVICES, Point
from loadgen.experiments.runner import RunResult, injections, run_load
from loadgen.experiments.steady import MIN_BATCHES, SETTLE, SteadyMeter, SteadyWindow
from loadgen.measure.arrivals import watchers_for
from loadgen.measure.breakdown import ALL_LEGS, AmavisTiming, breakdown, legs_of, parse_timings
from loadgen.send.workload import Planned
from siteconfig.policy import current_policy
from siteconfig.run_settings import ChainSettings

__all__ = ["SweepSettings", "at_common_rate", "measure_point", "saturate", "timestamp"]

MIB = 1024 * 1024
# Overloaded: the backlog (accepted, not yet arrived) still grows, in the load's second
# half, by more than this share of the offered rate. A chain that keeps up holds it
# steady at about rate x latency.
OVERLOAD_GROWTH = 0.1
# ... or when more than this share of its sends started late (MTA-RX slow to accept: the
# backlog then builds in the generator, where the chain's backlog does not show it).
LATE_SHARE = 0.05
# A drain ends early when nothing has arrived for this long: a chain that has stopped
# delivering (amavisd-new killed over and over) is measured, not waited for.
STALL = 45.0


@dataclass(frozen=True)
class SweepSettings:
    warmup: float = 5  # seconds of saturated load before the steady window
    batch: float = 5  # seconds per batch of the steady window
    precision: float = 0.05  # stop once the 95% half-width is at most this share of the mean,
    enough: float = 0.10  # or at most this share once `patience` seconds of load have passed,
    patience: float = 60
    cap: float = 150  # or, at the latest, after this many seconds of saturated load (warm-up included)
    # Messages kept in flight: a backlog deep enough that MTA-RX's queue never runs dry.
    # Its persistent queue runners (-qp) sleep a second after a run over what the queue held
    # when it began, five after a run that found it empty (MIN_SLEEP_TIME in sendmail's
    # queue.c), so a shallow backlog makes them idle and understates the
    # capacity (2 per worker + 6 measured 1.53 +- 0.15 msg/s at 1 worker, 4 + 10: 1.90 +- 0.23).
    inflight_per_worker: int = 8
    inflight_extra: int = 24
    sessions: int = 4
    drain: float = 120
    common_rate: float = 0  # msg/s offered to every point; 0: common_share of the first point's capacity
    common_share: float = 0.7
    common_duration: float = 30

    def __post_init__(self) -> None:
        if self.warmup + MIN_BATCHES * self.batch > self.cap:
            raise ValueError(f"--cap {self.cap:g} leaves no room for {MIN_BATCHES} batches of {self.batch:g} s "
                             f"after a {self.warmup:g} s warm-up")

    def inflight(self, workers: int) -> int:
        return self.inflight_per_worker * workers + self.inflight_extra

    def sessions_for(self, workers: int, topology: str) -> int:
        """SMTP sessions of the generator. In the milter topology a session waits for its
        250 until amavisd-new is done, so the sessions bound how many messages are being
        filtered: two per worker (one filtered, one waiting) keep every worker busy."""
        return max(self.sessions, 2 * workers + 2) if topology == "milter" else self.sessions


def _counters(stack: Stack) -> Callable[[], dict[str, CgroupSample]]:
    """Every measured container's counters, the generator's own CPU (it shares the host),
    and the whole host's busy time."""
    groups = {service: stack.cgroup(service) for service in stack.topology.daemons}
    last: dict[str, CgroupSample] = {}

    def read() -> dict[str, CgroupSample]:
        for service, group in groups.items():
            try:
                last[service] = group.sample()
            except OSError:  # the container is down (killed, restarting): its last reading stands
                last.setdefault(service, CgroupSample(0.0, 0, 0))
        return {**last, "generator": CgroupSample(time.process_time(), 0, 0),
                "host": CgroupSample(host_busy_seconds(), 0, 0)}

    return read


def saturate(stack: Stack, plan: list[Planned], workers: int, settings: SweepSettings,
             progress: Callable[[RunResult, int], None]) -> tuple[RunResult, SteadyWindow, list[dict[str, int]]]:
    """Saturated load until the steady window is measured; also amavisd-new's processes'
    memory as the window closed."""
    memory: list[list[dict[str, int]]] = []
    counters = _counters(stack)

    def on_close() -> None:
        memory.append(_amavis_memory(stack))

    meter = SteadyMeter(warmup=settings.warmup, batch=settings.batch, cap=settings.cap, precision=settings.precision,
                        enough=settings.enough, patience=settings.patience, counters=counters, on_close=on_close)
    result = run_load(plan, mode="inflight", watchers=watchers_for(plan, stack.sink, stack),
                      injections=injections(stack.office_port, stack.submission_port,
                                            current_policy().submission_login),
                      duration=settings.cap + SETTLE + 1, warmup=settings.warmup,
                      sessions=settings.sessions_for(workers, stack.topology.name),
                      inflight=settings.inflight(workers), drain=settings.drain, stall=STALL, progress=progress,
                      stop=meter)
    if result.interrupted:  # Ctrl-C: this point is incomplete; the sweep reports the others
        raise KeyboardInterrupt
    window = meter.finish(result)
    if window.reason == "plan ran out":
        print(f"warning: all {len(plan)} pre-generated messages were sent before the point was measured; "
              "raise --messages", file=sys.stderr)
    return result, window, memory[0] if memory else _amavis_memory(stack)


def _amavis_memory(stack: Stack) -> list[dict[str, int]]:
    """amavisd-new's processes' memory; none while its container is down or restarting."""
    try:
        return stack.process_memory("amavis", "amavisd (")
    except StackError:
        return []


def at_common_rate(stack: Stack, plan: list[Planned], rate: float, settings: SweepSettings,
                   progress: Callable[[RunResult, int], None], workers: int = 0) -> RunResult:
    """Open-loop load at `rate` msg/s; latency counts from each message's scheduled time
    (`workers`: the chain's, for the milter topology's sessions)."""
    result = run_load(plan, mode="open", watchers=watchers_for(plan, stack.sink, stack),
                    injections=injections(stack.office_port, stack.submission_port, current_policy().submission_login),
                    duration=settings.common_duration, warmup=0, rate=rate,
                    sessions=settings.sessions_for(workers, stack.topology.name),
                    drain=settings.drain, stall=STALL, progress=progress)
    if result.interrupted:
        raise KeyboardInterrupt
    return result


def measure_point(chain: ChainSettings, variant: str, saturation_plan: list[Planned], common_plan: list[Planned],
                  settings: SweepSettings, progress: Callable[[RunResult, int], None] = lambda r, a: None,
                  repeat: int = 1, topology: Topology = DUAL) -> Point:
    """One point: a fresh chain of `chain` (its workers, R and switches; `variant` its label),
    saturated, then at the common rate (settings.common_rate, or common_share of this
    point's own capacity when it is 0)."""
    if chain.workers is None:
        raise ValueError("a sweep point sets its amavisd-new workers")
    workers = chain.workers
    with Stack(settings=chain, topology=topology) as stack:
        oom_group = stack.cgroup("amavis")
        oom_before = oom_group.sample().oom_kills
        saturated, window, amavis_memory = saturate(stack, saturation_plan, workers, settings, progress)
        rate = settings.common_rate or round(settings.common_share * window.throughput.mean, 2)
        if rate <= 0:
            raise ValueError(f"nothing was delivered in {window.seconds:.0f} s at saturation, so no common rate can "
                             "follow from it: give one with --rate")
        common = at_common_rate(stack, common_plan, rate, settings, progress, workers)
        timings = parse_timings(stack.logs("amavis", timestamps=True, since=common.started - 1))
        # A restarted container's counters start again from zero: a kill that took its
        # master down shows as a restart instead.
        restarts = stack.restart_count("amavis")
        try:
            oom_after = oom_group.sample().oom_kills
        except OSError:  # down right now
            oom_after = oom_before if not restarts else 0
        oom_kills = (oom_after if restarts else max(0, oom_after - oom_before)) + restarts
        missing = saturated.matched().missing + common.matched().missing
        waiting = stack.rx.queued_message_ids() | stack.tx.queued_message_ids() if missing else set()
        queued = len({delivery.message_id for delivery in missing} & waiting)
    point = _point(workers, chain.queue_runners, variant, window, saturated, common, rate, amavis_memory, timings,
                   oom_kills, restarts, remote={p.message_id for p in common_plan if p.mailbox is None},
                   topology=topology)
    return replace(point, lost=point.lost - queued, queued=queued, repeat=repeat)


def _point(workers: int, queue_runners: int | None, variant: str, window: SteadyWindow, saturated: RunResult,
           common: RunResult, rate: float, amavis_memory: list[dict[str, int]], timings: dict[str, AmavisTiming],
           oom_kills: int, restarts: int, remote: set[str], topology: Topology) -> Point:
    delivered = window.delivered(saturated)
    start, end = window.counters_start, window.counters_end
    measured = topology.daemons
    used = {name: max(0.0, end[name].cpu_seconds - start[name].cpu_seconds) for name in end}
    cpu_ms = {name: 1000 * used[name] / max(delivered, 1) for name in (*measured, "generator")}
    chain_cpu_s = sum(cpu_ms[s] for s in measured) / 1000
    cores = os.cpu_count() or 1
    host_limit = cores / chain_cpu_s if chain_cpu_s > 0 else 0.0
    sat, com = saturated.matched(), common.matched()
    saturation_latency, latency = sat.latency.summary(), com.latency.summary()
    # The chain's answer to the common rate, read over the load's second half: the first
    # half holds the ramp (the backlog fills to rate x latency).
    middle, common_end = (common.started + common.load_ended) / 2, common.load_ended
    common_delivered = sum(1 for t in common.first_arrivals() if middle <= t < common_end) / (common_end - middle)
    growth = common.backlog_growth(middle, common_end)
    first = {delivery.message_id: t for delivery, t in common.first_arrival().items()}
    to_remote = (d.message_id for d in common.scheduled if d.message_id in remote)
    present = legs_of(topology.name)
    legs = breakdown(to_remote, common.accepted, first, timings, data_sent=common.data_sent, legs=present)
    return Point(
        workers=workers, queue_runners=queue_runners if topology.name == "dual" else None,
        variant=variant, repeat=1, topology=topology.name,
        throughput=round(window.throughput.mean, 3), throughput_half_width=round(window.throughput.half_width, 3),
        batches=len(window.rates), stopped_by=window.reason,
        accepted_per_s=round(sum(1 for t in saturated.accepted_at if window.start <= t < window.end)
                             / window.seconds, 3),
        saturation_p50_ms=saturation_latency["p50"], saturation_p99_ms=saturation_latency["p99"],
        common_rate=rate, common_messages=len(common.scheduled),
        common_delivered_per_s=round(common_delivered, 3),
        common_p50_ms=latency["p50"], common_p90_ms=latency["p90"], common_p99_ms=latency["p99"],
        common_max_ms=latency["max"], common_late=common.late,
        common_backlog_growth=round(growth, 3),
        common_overloaded=growth > OVERLOAD_GROWTH * rate or common.late > LATE_SHARE * len(common.scheduled),
        sent=saturated.sent + common.sent, delivered=sat.delivered + com.delivered,
        lost=len(sat.missing) + len(com.missing), queued=0,
        duplicated=sum(sat.duplicated.values()) + sum(com.duplicated.values()),
        errors=saturated.tally.errors + common.tally.errors,
        amavis_rss_mib=round(sum(m["rss"] for m in amavis_memory) / 1024, 1),
        amavis_pss_mib=round(sum(m.get("pss", 0) for m in amavis_memory) / 1024, 1),
        **{f"memory_{s}_mib": round(end[s].memory_bytes / MIB, 1) if s in measured else None for s in SERVICES},
        oom_kills=oom_kills, amavis_restarts=restarts,
        **{f"cpu_ms_{s}": round(cpu_ms[s], 1) if s in cpu_ms else None for s in (*SERVICES, "generator")},
        cores_used=round(chain_cpu_s * delivered / window.seconds, 3),
        host_limit_per_s=round(host_limit, 3), host_busy=round(used["host"] / (window.seconds * cores), 3),
        **{f"t_{leg}_ms": round(legs.legs_ms[leg], 1) if leg in present else None for leg in ALL_LEGS},
        timed_messages=legs.messages,
    )


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")
