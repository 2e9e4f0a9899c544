"""The queues and .cf of MTA-RX and MTA-TX: `mailq` parsed, and what both faces of the chain's
sendmails (harness/rx.py, harness/tx.py) read from them."""

import re
from dataclasses import dataclass, field

from harness.containers import Containers
from siteconfig.compiled import CompiledCf, parse_cf

__all__ = ["QueueEntry", "Sendmail", "parse_mailq"]

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


class Sendmail:
    """One of the chain's sendmails, MTA-RX or MTA-TX, seen by its queue (what waits in it)
    and its .cf. The two differ here only in their service, .cf, `mailq` command and queue
    directories (the site's: its QueueDirectory and queue groups, from the shape)."""

    def __init__(self, containers: Containers, service: str, *, cf: str, mailq: list[str],
                 directories: tuple[str, ...]) -> None:
        self._containers = containers
        self._service = service
        self.cf = cf
        self._mailq = mailq
        self.directories = directories

    def _queue_files(self) -> str:
        """A shell command listing the queued messages' qf files (in the queue directories or
        their qf/ subdirectories)."""
        return f"find {' '.join(self.directories)} -maxdepth 2 -type f -name 'qf*' 2>/dev/null"

    def compiled(self) -> CompiledCf:
        """The running daemon's .cf, read: what the configuration under test sets (tests
        read values from it instead of copying them out of an .mc)."""
        return parse_cf(self._containers.exec(self._service, ["cat", self.cf]))

    def queue(self) -> list[QueueEntry]:
        return parse_mailq(self._containers.exec(self._service, self._mailq))

    def queued_message_ids(self) -> set[str]:
        """Message-IDs of the messages waiting in the queue (its qf files' headers): mail
        that is late, not lost."""
        headers = self._containers.exec(self._service, [
            "sh", "-c", f"{self._queue_files()} | xargs -r cat 2>/dev/null | grep -i '^H.*Message-Id:'; true"])
        return set(re.findall(r"<([^>]+)>", headers))
