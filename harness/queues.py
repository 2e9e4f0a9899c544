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
    """Entries of a sendmail `mailq` listing; an empty queue gives []."""
    entries: list[QueueEntry] = []
    for line in output.splitlines():
        match = _ENTRY.match(line)
        if match:
            entries.append(QueueEntry(match["qid"], int(match["size"]), match["sender"].strip().strip("<>")))
        elif entries and line.startswith((" ", "\t")):
            text = line.strip()
            if text.startswith("(") and text.endswith(")"):
                entries[-1].status = text[1:-1]
            elif text.startswith("<") or "@" in text:
                entries[-1].recipients.append(text.strip("<>"))
    return entries
