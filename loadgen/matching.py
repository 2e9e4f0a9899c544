"""Match each send to its arrival: end-to-end latency, and what never arrived."""

from dataclasses import dataclass, field

from loadgen.stats import Latency

__all__ = ["Matched", "match"]


@dataclass
class Matched:
    latency: Latency = field(default_factory=Latency)
    delivered: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: dict[str, int] = field(default_factory=dict)
    unexpected: int = 0  # arrivals of messages this run did not send


def match(scheduled: dict[str, float], arrivals: dict[str, list[float]]) -> Matched:
    """`scheduled`: Message-ID -> when it was due to be sent (epoch s), for each message
    expected to arrive. `arrivals`: Message-ID -> when each copy arrived. Latency is
    first arrival minus scheduled time; later copies count as duplicates."""
    result = Matched()
    for message_id, due in scheduled.items():
        copies = sorted(arrivals.get(message_id, []))
        if not copies:
            result.missing.append(message_id)
            continue
        result.delivered += 1
        result.latency.record(copies[0] - due)
        if len(copies) > 1:
            result.duplicated[message_id] = len(copies) - 1
    result.unexpected = sum(1 for message_id in arrivals if message_id not in scheduled)
    return result
