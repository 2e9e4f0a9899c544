"""amavisd-new as the tests see it (`stack.amavis`): its verdicts, read from its log,
its quarantine, its child processes.

The verdicts are what it decided for each message: one summary line per message and
recipient group, e.g.
  (00024-13-2) Blocked SPAM {DiscardedInbound,Quarantined}, [127.0.0.1] <s@x> -> <a@y>,
  quarantine: 1/spam-1yoBFYWfl6km.gz, Message-ID: <id>, mail_id: 1yoBFYWfl6km, Hits: 999, ...
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.containers import Containers
from harness.poll import poll_until

__all__ = ["QUARANTINE", "Amavis", "Verdict", "all_verdicts", "parse_verdicts"]

QUARANTINE = "/var/lib/amavis/virusmails"

_VERDICT = re.compile(
    r"\((?P<log_id>\d{5}-\d{2}(?:-\d+)?)\) (?P<action>Passed|Blocked) (?P<category>[A-Z-]+[A-Z0-9-]*)"
    r"(?: \((?P<detail>[^)]*)\))? \{(?P<flags>[^}]*)\}, .*? -> (?P<recipients>.*?)"
    r"(?:, quarantine: (?P<quarantine>[^,\s]+))?, Message-ID: <(?P<message_id>[^>]*)>, mail_id: (?P<mail_id>[^,\s]+)"
)


@dataclass(frozen=True)
class Verdict:
    action: str  # Passed | Blocked
    category: str  # CLEAN, SPAMMY, SPAM, INFECTED, BANNED, BAD-HEADER-2, ...
    detail: str  # the virus name or banned part, if any
    flags: tuple[str, ...]  # e.g. DiscardedInbound, Quarantined
    recipients: tuple[str, ...]
    quarantine: str | None  # file under the quarantine directory, for amavisd-release
    mail_id: str
    messages_in_session: int  # this message's number in its SMTP session from MTA-RX


def all_verdicts(log: str) -> list[tuple[str, Verdict]]:
    """(Message-ID, verdict) for every summary line in the log."""
    verdicts = []
    for match in _VERDICT.finditer(log):
        log_id = match["log_id"].split("-")
        verdicts.append((match["message_id"], Verdict(
            action=match["action"], category=match["category"], detail=match["detail"] or "",
            flags=tuple(match["flags"].split(",")), recipients=tuple(re.findall(r"<([^>]*)>", match["recipients"])),
            quarantine=match["quarantine"], mail_id=match["mail_id"],
            messages_in_session=int(log_id[2]) if len(log_id) > 2 else 1,
        )))
    return verdicts


def parse_verdicts(log: str, message_id: str) -> list[Verdict]:
    return [verdict for found, verdict in all_verdicts(log) if found == message_id]


class Amavis:
    def __init__(self, containers: Containers, *, hasten: Callable[[], None] | None = None) -> None:
        """`hasten`: as for MtaTx, asks MTA-RX to pass queued mail on now."""
        self._containers = containers
        self._hasten = hasten

    def verdicts(self, message_id: str) -> list[Verdict]:
        return parse_verdicts(self._containers.logs("amavis"), message_id)

    def wait_for_verdicts(self, message_id: str, *, recipients: int = 1, timeout: float = 60,
                          ask_queue_run: bool = True) -> list[Verdict]:
        """amavisd-new's verdicts on the message, once they cover `recipients` recipients
        (one summary line may name several, or each its own). `ask_queue_run=False`: wait
        for MTA-RX's persistent runners to hand it on."""

        def covered() -> list[Verdict] | None:
            verdicts = self.verdicts(message_id)
            return verdicts if sum(len(v.recipients) for v in verdicts) >= recipients else None

        return poll_until(covered, timeout=timeout, what=f"amavisd-new's verdict on <{message_id}>", interval=0.5,
                          evidence=lambda: self._containers.trail(message_id),
                          nudge=self._hasten if ask_queue_run else None)

    def quarantine(self) -> list[str]:
        """Files in amavisd-new's quarantine, as its log names them ("4/virus-<id>")."""
        return self._containers.exec("amavis", ["find", QUARANTINE, "-type", "f", "-printf", "%P\\n"]).split()

    def release(self, quarantined: str) -> str:
        """Release a quarantined message with amavisd-release; it goes on to MTA-TX."""
        return self._containers.exec("amavis", ["amavisd-release", quarantined], user="amavis")

    def children(self) -> int:
        """amavisd-new child processes now running ($max_servers once started)."""
        titles = [args for _, args in self._containers.pids("amavis", r"amavisd \(")]
        return sum("(master)" not in title for title in titles)  # "(ch1-avail)", "(virgin child)", ...
