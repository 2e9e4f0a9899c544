"""Where messages arrive, and when: the sink (remote recipients) and MTA-TX's mailboxes
(local recipients). Each watcher is polled while the load runs and keeps, per delivery
(Message-ID, recipient, body digest), the time each copy was first seen."""

import re
import time
from collections.abc import Callable, Mapping

from harness import SinkClient, Stack, StackError
from loadgen.send.delivery import BODY_HEADER, Delivery, content_digest
from loadgen.send.workload import Planned

__all__ = ["Arrivals", "MailboxScanner", "MailboxWatcher", "SinkWatcher", "watchers_for"]

Arrivals = dict[Delivery, list[float]]  # what arrived -> when each copy arrived (epoch s)


class SinkWatcher:
    """Follows the sink's arrivals incrementally (by ID). The sink timestamps each
    message at the end of its DATA, so these times are exact."""

    def __init__(self, client: SinkClient) -> None:
        self.client = client
        self.last_id = max((m.id for m in client.messages()), default=0)  # earlier runs' mail does not count

    def poll(self, into: Arrivals, *, force: bool = False) -> None:
        for item in self.client.messages(since=self.last_id):
            self.last_id = max(self.last_id, item.id)
            for recipient in item.recipients:
                into.setdefault(Delivery(item.message_id, recipient, item.content_digest), []).append(item.received)


_MESSAGE_ID = re.compile(rb"^message-id:\s*<([^>]*)>", re.IGNORECASE)
_STAMP = re.compile(rb"^" + BODY_HEADER.encode() + rb":\s*(\w+)", re.IGNORECASE)


class MailboxScanner:
    """Finds each message appended to one mbox, fed in arbitrary chunks: (Message-ID,
    content digest) once the message is complete, i.e. once its content matches the digest
    its BODY_HEADER states, or it is ended by the next message or by finish() (then as found:
    a cut copy). Only the header counts for the Message-ID (a body may quote one), and a line
    is read only once it is complete, so a chunk that ends mid-line loses nothing. A message
    without a BODY_HEADER (an alert, a bounce) is reported at the end of its header, with
    no digest."""

    def __init__(self) -> None:
        self.partial = b""
        self.in_header = False
        self.previous_blank = True  # an mbox "From " line starts a message after a blank line
        self.message_id: str | None = None
        self.stamp: str | None = None
        self.lines: list[bytes] | None = None  # the message being read, after its "From " line

    def _close(self) -> list[tuple[str, str]]:
        done = []
        if self.message_id is not None and self.lines is not None:
            done.append((self.message_id, content_digest(b"\n".join(self.lines))))
        self.message_id, self.stamp, self.lines = None, None, None
        return done

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        found = []
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()  # incomplete until its newline arrives
        for line in lines:
            line = line.rstrip(b"\r")
            if self.previous_blank and line.startswith(b"From "):
                found += self._close()
                self.in_header, self.lines = True, []
            elif self.lines is not None:
                self.lines.append(line)
                if self.in_header and not line:
                    self.in_header = False
                    if self.message_id is not None and self.stamp is None:
                        found.append((self.message_id, ""))
                        self.message_id, self.lines = None, None
                elif self.in_header and (match := _MESSAGE_ID.match(line)):
                    self.message_id = match.group(1).decode(errors="replace")
                elif self.in_header and (match := _STAMP.match(line)):
                    self.stamp = match.group(1).decode()
            self.previous_blank = not line
        if self.stamp and self.lines is not None and not self.in_header \
                and content_digest(b"\n".join(self.lines)) == self.stamp:
            found += self._close()  # complete: no need to wait for the next message
        return found

    def finish(self) -> list[tuple[str, str]]:
        """What is still open at the end of a run: reported as it is (a cut copy)."""
        return self._close()


class MailboxWatcher:
    """Follows local mailboxes by reading only what was appended since the last poll.
    An arrival's time is when a poll first saw it: resolution `interval` seconds, which
    the report states (mail.local does not timestamp finer than a second)."""

    def __init__(self, read: Callable[[dict[str, int]], dict[str, tuple[int, bytes]]],
                 recipients: Mapping[str, str], *, interval: float = 0.5) -> None:
        """`read(offsets)` returns, per user, the mailbox's size and its bytes from the
        offset to that size (stack.tx.read_mailboxes); `recipients`: user -> the address
        whose mail lands in that mailbox."""
        self.read = read
        self.interval = interval
        self.recipients = dict(recipients)
        self.scanners = {user: MailboxScanner() for user in recipients}
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
            for message_id, digest in self.scanners[user].feed(chunk):
                into.setdefault(Delivery(message_id, self.recipients[user], digest), []).append(seen)
        if force:  # the last poll of a run: a body still open was cut
            for user, scanner in self.scanners.items():
                for message_id, digest in scanner.finish():
                    into.setdefault(Delivery(message_id, self.recipients[user], digest), []).append(seen)


def watchers_for(plan: list[Planned], sink: SinkClient, stack: Stack) -> list[SinkWatcher | MailboxWatcher]:
    """The sink, and the mailboxes the plan sends to (if any)."""
    recipients = {p.mailbox: p.recipient for p in plan if p.mailbox}
    watchers: list[SinkWatcher | MailboxWatcher] = [SinkWatcher(sink)]
    if recipients:
        watchers.append(MailboxWatcher(stack.tx.read_mailboxes, dict(sorted(recipients.items()))))
    return watchers
