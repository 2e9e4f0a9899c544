"""Match each send to its arrival: end-to-end latency, what never arrived, and what arrived
wrong (at another recipient, or with another body)."""

from dataclasses import dataclass, field

from loadgen.measure.stats import Latency
from loadgen.send.delivery import Delivery

__all__ = ["Matched", "match"]


@dataclass
class Matched:
    latency: Latency = field(default_factory=Latency)
    delivered: int = 0
    missing: list[Delivery] = field(default_factory=list)
    duplicated: dict[Delivery, int] = field(default_factory=dict)
    wrong: list[Delivery] = field(default_factory=list)  # a sent Message-ID, but not the recipient or body sent
    unexpected: int = 0  # arrivals of messages this run did not send


def match(scheduled: dict[Delivery, float], arrivals: dict[Delivery, list[float]]) -> Matched:
    """`scheduled`: each delivery expected -> when its message was due to be sent (epoch
    s). `arrivals`: each delivery seen -> when each copy arrived. Latency is first arrival
    minus scheduled time; later copies count as duplicates."""
    result = Matched()
    for delivery, due in scheduled.items():
        copies = sorted(arrivals.get(delivery, []))
        if not copies:
            result.missing.append(delivery)
            continue
        result.delivered += 1
        result.latency.record(copies[0] - due)
        if len(copies) > 1:
            result.duplicated[delivery] = len(copies) - 1
    sent = {delivery.message_id for delivery in scheduled}
    for delivery in arrivals:
        if delivery not in scheduled:
            if delivery.message_id in sent:
                result.wrong.append(delivery)
            else:
                result.unexpected += 1
    return result
