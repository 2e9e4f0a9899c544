"""Queue listings: `mailq` of MTA-RX and MTA-TX, parsed."""

import re
from dataclasses import dataclass, field

__all__ = ["QueueEntry", "parse_mailq"]

# "6APDVepT000046      459 Wed Nov 25 13:31 <sender@remote.example>"; the ID may carry a
# status mark (* being delivered, X too young, - locked).
_ENTRY = re.compile(r"^(?P<qid>[0-9A-Za-z]{14})[*X-]?\s+(?P<size>\d+)\s+\w{3} \w{3}\s+\d+ \d\d:\d\d\s+(?P<sender>.*)$")


@dataclass
class QueueEntry:
    queue_id: str
    size: int
    sender: str
    recipients: list[str] = field(default_factory=list)
    status: str = ""


def parse_mailq(output: str) -> list[QueueEntry]:
    """Entries of a sendmail `mailq` listing; an empty queue gives []. An entry listed
    twice (MTA-RX's `mailq -C` shows its queue as both the "MSP" and the "MTA" queue)
    counts once."""
    entries: list[QueueEntry] = []
    seen: set[str] = set()
    current: QueueEntry | None = None
    for line in output.splitlines():
        match = _ENTRY.match(line)
        if match:
            current = QueueEntry(match["qid"], int(match["size"]), match["sender"].strip().strip("<>"))
            if match["qid"] not in seen:
                seen.add(match["qid"])
                entries.append(current)
        elif current is not None and line.startswith((" ", "\t")):
            text = line.strip()
            if text.startswith("(") and text.endswith(")"):
                current.status = text[1:-1]
            elif text.startswith("<") or "@" in text:
                current.recipients.append(text.strip("<>"))
    return entries
