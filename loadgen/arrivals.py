"""Where messages arrive, and when: the sink (remote recipients) and MTA-TX's mailboxes
(local recipients). Each watcher is polled while the load runs and keeps, per Message-ID,
the time each copy was first seen."""

import re
import time
from collections.abc import Callable, Iterable

from harness import SinkClient, Stack, StackError
from loadgen.workload import Planned

__all__ = ["Arrivals", "MailboxScanner", "MailboxWatcher", "SinkWatcher", "watchers_for"]

Arrivals = dict[str, list[float]]  # Message-ID -> when each copy arrived (epoch s)


class SinkWatcher:
    """Follows the sink's arrivals incrementally (by ID). The sink timestamps each
    message at the end of its DATA, so these times are exact."""

    def __init__(self, client: SinkClient) -> None:
        self.client = client
        self.last_id = max((m.id for m in client.messages()), default=0)  # earlier runs' mail does not count

    def poll(self, into: Arrivals, *, force: bool = False) -> None:
        for item in self.client.messages(since=self.last_id):
            self.last_id = max(self.last_id, item.id)
            into.setdefault(item.message_id, []).append(item.received)


_MESSAGE_ID = re.compile(rb"^message-id:\s*<([^>]*)>", re.IGNORECASE)


class MailboxScanner:
    """Finds the Message-ID of each message appended to one mbox, fed in arbitrary
    chunks. Only the header of each message counts (a body may quote a Message-ID), and a
    line is read only once it is complete, so a chunk that ends mid-line loses nothing."""

    def __init__(self) -> None:
        self.partial = b""
        self.in_header = False
        self.previous_blank = True  # an mbox "From " line starts a message after a blank line

    def feed(self, chunk: bytes) -> list[str]:
        found = []
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()  # incomplete until its newline arrives
        for line in lines:
            line = line.rstrip(b"\r")
            if self.previous_blank and line.startswith(b"From "):
                self.in_header = True
            elif self.in_header and not line:
                self.in_header = False
            elif self.in_header and (match := _MESSAGE_ID.match(line)):
                found.append(match.group(1).decode(errors="replace"))
            self.previous_blank = not line
        return found


class MailboxWatcher:
    """Follows local mailboxes by reading only what was appended since the last poll.
    An arrival's time is when a poll first saw it: resolution `interval` seconds, which
    the report states (mail.local does not timestamp finer than a second)."""

    def __init__(self, read: Callable[[dict[str, int]], dict[str, tuple[int, bytes]]], users: Iterable[str],
                 *, interval: float = 0.5) -> None:
        """`read(offsets)` returns, per user, the mailbox's size and its bytes from the
        offset to that size (stack.tx.read_mailboxes)."""
        self.read = read
        self.interval = interval
        self.scanners = {user: MailboxScanner() for user in users}
        self.offsets = {user: size for user, (size, _) in read(dict.fromkeys(self.scanners, 0)).items()}
        self.next_poll = 0.0

    def poll(self, into: Arrivals, *, force: bool = False) -> None:
        if not force and time.time() < self.next_poll:
            return
        self.next_poll = time.time() + self.interval
        seen = time.time()
        try:
            appended = self.read(self.offsets)
        except StackError:  # MTA-TX's container is down or restarting: read it next time
            return
        for user, (size, chunk) in appended.items():
            if size < self.offsets[user]:  # the mailbox was emptied: start over
                self.scanners[user] = MailboxScanner()
            self.offsets[user] = size
            for message_id in self.scanners[user].feed(chunk):
                into.setdefault(message_id, []).append(seen)


def watchers_for(plan: list[Planned], sink: SinkClient, stack: Stack) -> list[SinkWatcher | MailboxWatcher]:
    """The sink, and the mailboxes the plan sends to (if any)."""
    users = sorted({p.mailbox for p in plan if p.mailbox})
    watchers: list[SinkWatcher | MailboxWatcher] = [SinkWatcher(sink)]
    if users:
        watchers.append(MailboxWatcher(stack.tx.read_mailboxes, users))
    return watchers
