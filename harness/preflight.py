"""One message through every hop before any test: a chain that is broken (the filter
bypassed, a hop refusing, a mailer pointing nowhere) stops the session within a minute,
naming the hop that did not happen, instead of failing every test a minute each.

The hops of the document's chain, in order, each read from the daemons' logs by the
message's trail: MTA-RX took it, MTA-RX handed it on, amavisd-new checked it, MTA-TX took
it from amavisd-new, MTA-TX delivered it to the mailbox. In the milter topology: the MTA
took it, amavisd-new checked it (asked by amavisd-milter), the MTA delivered it.
"""

from dataclasses import dataclass

from harness.messages import make_message, message_id_of
from harness.poll import PollTimeout, poll_until
from harness.smtp import send_message
from harness.stack import Stack
from harness.trail import follow
from siteconfig.errors import BrokenChainError

__all__ = ["HOPS", "MILTER_HOPS", "BrokenChainError", "missing_hop", "preflight"]

# (hop, the service whose trail shows it, what its trail must contain)
HOPS = [
    ("MTA-RX took the message", "rx", "from=<"),
    ("MTA-RX handed it on (stat=Sent)", "rx", "stat=Sent"),
    ("amavisd-new checked it", "amavis", "Passed"),
    ("MTA-TX took it from amavisd-new", "tx", "from=<"),
    ("MTA-TX delivered it (stat=Sent)", "tx", "stat=Sent"),
]
# One sendmail plays both roles (harness/topology.py): "rx" and "tx" read its log.
MILTER_HOPS = [
    ("the MTA took the message", "rx", "from=<"),
    ("amavisd-new checked it (asked by amavisd-milter)", "amavis", "Passed"),
    ("the MTA delivered it (stat=Sent)", "tx", "stat=Sent"),
]


@dataclass(frozen=True)
class Trails:
    by_service: dict[str, list[str]]

    @classmethod
    def of(cls, message_id: str, logs: dict[str, str]) -> "Trails":
        text = follow(message_id, logs)
        services, current = {}, None
        for line in text.splitlines()[1:]:
            if line.startswith("--- ") and line.endswith(" ---"):
                current = line.strip("- ")
                services[current] = []
            elif current is not None and line != "(nothing)":
                services[current].append(line)
        return cls(services)

    def shows(self, service: str, text: str) -> bool:
        return any(text in line for line in self.by_service.get(service, []))


def missing_hop(trails: Trails, hops: list[tuple[str, str, str]] = HOPS) -> str | None:
    """The first hop of the chain the trails do not show, or None when all are there."""
    return next((hop for hop, service, text in hops if not trails.shows(service, text)), None)


def preflight(stack: Stack, *, sender: str, user: str, address: str, timeout: float = 60) -> str:
    """Send one clean message from outside to `address` (user's mailbox) and wait until
    every hop shows in the logs and it is in the mailbox; the message's ID. Raises
    BrokenChainError naming the first missing hop, with the SMTP result and the trail.
    It asks for no queue run (the tests' waits do, Stack.hasten): the daemon's own
    persistent queue runners must move it, so a chain whose runners never run fails here."""
    message = make_message(sender=sender, to=address, tag="preflight")
    message_id = message_id_of(message)
    result = send_message(message, port=stack.smtp_port, mail_from=sender, rcpt_to=[address])
    if not result.accepted:
        raise BrokenChainError(f"the receiving MTA did not accept the preflight message:\n{result}")
    last: dict[str, object] = {"missing": None, "bypass": False, "refused": False}
    dual = stack.topology.name == "dual"
    hops = HOPS if dual else MILTER_HOPS

    def passed() -> bool:
        trails = Trails.of(message_id, {service: stack.logs(service) for service in ("rx", "amavis", "tx")})
        last["missing"] = missing = missing_hop(trails, hops)
        last["bypass"] = dual and missing == HOPS[2][0] and trails.shows("tx", "from=<")
        # A permanent failure (dsn=5.x.x) on the way will not heal by waiting.
        last["refused"] = trails.shows("rx", "dsn=5") or trails.shows("tx", "dsn=5")
        return missing is None and bool(stack.tx.copies(user, message_id))

    try:
        poll_until(passed, timeout=timeout, what="the preflight message through every hop", interval=0.5,
                   fatal=lambda: "a permanent failure" if last.get("refused") else None)
        return message_id
    except PollTimeout:
        pass  # the error below names the hop, from the last look at the logs
    hop = last["missing"] or f"the message in {user}'s mailbox"
    bypass = (" It reached MTA-TX without amavisd-new: MTA-RX hands mail around the content filter."
              if last.get("bypass") else "")
    when = "after a permanent failure (dsn=5.x.x)" if last.get("refused") else f"within {timeout:g} s"
    raise BrokenChainError(f"the chain is broken: {when} the preflight message <{message_id}> from "
                          f"{sender} to {address} did not pass this hop: {hop}.{bypass}\n"
                          f"{stack.trail(message_id)}")
