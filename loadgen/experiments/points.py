"""The sweep's figures: one Point per measured chain, in the fixed column order of
points.csv, and the views the report takes of them (repeats merged, variants, the knee)."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields

from loadgen.measure.knee import knee
from loadgen.measure.stats import Interval, interval

__all__ = ["COLUMNS", "SERVICES", "Point", "combine", "knee_of", "variants"]


@dataclass(frozen=True)
class Point:
    """One sweep point. The field order is the fixed CSV column order."""

    workers: int  # amavisd-new's $max_servers (and amavisd-milter's -m in the milter topology)
    queue_runners: int | None  # MTA-RX's R=; None in the milter topology, which has no queue runners
    variant: str  # "shipped", or how the chain differed (loadgen.experiments.variants.Variant)
    repeat: int  # 1, 2, ... with --repeats; 0 in a row that merges the repeats (combine)
    # Saturated: the chain's capacity, from consecutive batches of the steady window.
    throughput: float  # delivered msg/s (first arrivals of this run's messages), mean of the batches
    throughput_half_width: float  # of its 95% confidence interval
    batches: int
    stopped_by: str  # converged | time cap | plan ran out | interrupted
    accepted_per_s: float
    saturation_p50_ms: float  # latency at saturation: set by the in-flight setting, not the chain
    saturation_p99_ms: float
    # At the common offered rate (the same for every point): latency from each message's
    # scheduled time.
    common_rate: float
    common_messages: int
    common_delivered_per_s: float  # over the load's second half
    common_p50_ms: float
    common_p90_ms: float
    common_p99_ms: float
    common_max_ms: float
    common_late: int  # sends that started over 0.5 s after their scheduled time
    common_backlog_growth: float  # msg/s, in the load's second half
    common_overloaded: bool  # the backlog kept growing, or over 5% of the sends were late
    # Every message of both phases.
    sent: int
    delivered: int
    lost: int  # accepted, expected, neither arrived nor waiting in a queue when the point ended
    queued: int  # accepted, not yet arrived, still in MTA-RX's or MTA-TX's queue at the end: late, not lost
    duplicated: int
    errors: int
    # Memory as the steady window closed.
    amavis_rss_mib: float  # all amavisd-new processes
    amavis_pss_mib: float  # what they cost together (shared pages divided)
    # Each container's cgroup: in use, less droppable page cache. A container the topology
    # does not have is None here and in the columns after the last below.
    memory_rx_mib: float | None
    memory_amavis_mib: float
    memory_clamd_mib: float
    memory_tx_mib: float | None
    oom_kills: int  # amavisd-new's container, over the whole point (a restart counts as one)
    amavis_restarts: int  # its container restarted (its master died): its counters began again
    # CPU per delivered message over the steady window, and what it implies.
    cpu_ms_rx: float | None
    cpu_ms_amavis: float
    cpu_ms_clamd: float
    cpu_ms_tx: float | None
    cpu_ms_generator: float  # the load generator itself: it shares the host's cores
    cores_used: float  # by the chain's containers
    host_limit_per_s: float  # cores / CPU-seconds per message: the rate CPU alone allows
    host_busy: float  # share of all the host's cores busy over the window (chain, generator, Docker)
    # Where the time goes at the common rate: mean ms per leg (loadgen.measure.breakdown); None: a
    # leg the topology does not have.
    t_rx_queue_ms: float | None
    t_receive_ms: float | None
    t_mime_ms: float
    t_virus_ms: float
    t_spam_ms: float
    t_forward_ms: float | None
    t_other_ms: float
    t_tx_ms: float | None
    timed_messages: int
    # Added with the milter topology, after the columns of earlier reports (which still load).
    topology: str = "dual"  # harness.topology: dual or milter
    memory_mta_mib: float | None = None
    memory_milter_mib: float | None = None
    cpu_ms_mta: float | None = None
    cpu_ms_milter: float | None = None
    t_session_ms: float | None = None
    t_reply_ms: float | None = None
    t_mta_ms: float | None = None

    @property
    def interval(self) -> Interval:
        return Interval(self.throughput, self.throughput_half_width, self.batches)

    @property
    def memory_mib(self) -> float:
        """All the chain's containers (four in either topology)."""
        return sum(self.memory_of(service) or 0.0 for service in SERVICES)

    @property
    def cpu_ms_chain(self) -> float:
        return sum(self.cpu_ms_of(service) or 0.0 for service in SERVICES)

    def memory_of(self, service: str) -> float | None:
        value: float | None = getattr(self, f"memory_{service}_mib")
        return value

    def cpu_ms_of(self, service: str) -> float | None:
        value: float | None = getattr(self, f"cpu_ms_{service}")
        return value

    def leg_ms(self, leg: str) -> float | None:
        """Mean ms in a leg of loadgen.measure.breakdown; None where the topology has no such leg."""
        value: float | None = getattr(self, f"t_{leg}_ms")
        return value


COLUMNS = [f.name for f in fields(Point)]
# The containers whose CPU and memory a Point can carry (each topology has four of them).
SERVICES = ("rx", "mta", "milter", "amavis", "clamd", "tx")


# Counts that add up when repeats are merged; the other figures are averaged.
_ADDED = {"batches", "common_messages", "common_late", "sent", "delivered", "lost", "queued", "duplicated", "errors",
          "oom_kills", "amavis_restarts", "timed_messages"}


def combine(points: Sequence[Point]) -> list[Point]:
    """One point per (variant, workers), in the order measured. Repeats of a point are
    merged: its throughput becomes the mean of the repeats with a Student-t interval over
    them, which holds the spread between chains that one chain's batches cannot show;
    counts are added up and the other figures averaged."""
    groups: dict[tuple[str, int], list[Point]] = {}
    for point in points:
        groups.setdefault((point.variant, point.workers), []).append(point)
    merged = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        values: dict[str, object] = {}
        for column in COLUMNS:
            column_values = [getattr(p, column) for p in group]
            first = column_values[0]
            if isinstance(first, bool):
                values[column] = any(column_values)
            elif column in _ADDED:
                values[column] = sum(column_values)
            elif isinstance(first, float) and None not in column_values:
                values[column] = round(statistics.fmean(column_values), 3)
            else:  # the point's identity: workers, R, variant
                values[column] = first
        spread = interval([p.throughput for p in group])
        values.update(throughput=round(spread.mean, 3), throughput_half_width=round(spread.half_width, 3), repeat=0,
                      stopped_by=f"{len(group)} repeats")
        merged.append(Point(**values))  # type: ignore[arg-type]
    return merged


def variants(points: Sequence[Point]) -> list[str]:
    """The variants in the order first measured."""
    return list(dict.fromkeys(p.variant for p in points))


def knee_of(points: Sequence[Point]) -> int | None:
    return knee([(p.workers, p.interval) for p in points])
