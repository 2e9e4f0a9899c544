"""amavisd-new's verdicts, read from its log: what it decided for each message.

One summary line per message and recipient group, e.g.
  (00024-13-2) Blocked SPAM {DiscardedInbound,Quarantined}, [127.0.0.1] <s@x> -> <a@y>,
  quarantine: 1/spam-1yoBFYWfl6km.gz, Message-ID: <id>, mail_id: 1yoBFYWfl6km, Hits: 999, ...
"""

import re
from dataclasses import dataclass

__all__ = ["Verdict", "all_verdicts", "parse_verdicts"]

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
