"""MTA-TX as the tests see it (`stack.tx`): its queue and the local mailboxes it
delivers to (/var/mail/<user>, mbox files written by mail.local)."""

import re
import tempfile
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from mailbox import mbox

from harness.containers import Containers
from harness.poll import poll_until
from harness.queues import Sendmail
from siteconfig.compiled import TX_CF

__all__ = ["MtaTx"]

_BRACKETED = re.compile(r"<([^<>]*)>")
# Per user: "<user> <size> <count>\n", then the mailbox's last <count> bytes (those past
# the offset; all of it if it shrank). Run with "user=offset" arguments.
_READ_MAILBOXES = (
    'for spec; do user=${spec%%=*}; offset=${spec#*=}; box=/var/mail/$user; size=0; '
    '[ -f "$box" ] && size=$(stat -c %s "$box"); [ "$size" -lt "$offset" ] && offset=0; '
    'printf "%s %s %s\\n" "$user" "$size" $((size - offset)); '
    '[ "$size" -gt "$offset" ] && tail -c +$((offset + 1)) "$box" | head -c $((size - offset)); done; true'
)


def _has_message_id(message: EmailMessage, message_id: str) -> bool:
    """Whether the message's Message-ID is exactly `message_id` (given without the angle
    brackets): a substring test would also match a longer ID that contains it."""
    found = _BRACKETED.search(str(message["Message-ID"] or ""))
    return found is not None and found.group(1) == message_id


class MtaTx(Sendmail):
    def __init__(self, containers: Containers, directories: tuple[str, ...] = (), *,
                 hasten: Callable[[], None] | None = None) -> None:
        """`directories`: its queues (SiteShape.tx.queue_dirs). `hasten`: asks the chain to
        move mail now (a queue run at MTA-RX), called when a wait for a message does not find
        it at the first look."""
        super().__init__(containers, "tx", cf=TX_CF, mailq=["mailq"], directories=directories)
        self._hasten = hasten

    def mailbox(self, user: str) -> list[EmailMessage]:
        """The messages in MTA-TX's /var/mail/<user>, oldest first."""
        # No mailbox yet (nothing delivered) reads as empty; an unreadable one raises.
        raw = self._containers.exec_bytes("tx", ["sh", "-c", '[ ! -e "$1" ] || cat "$1"', "sh", f"/var/mail/{user}"])
        with tempfile.NamedTemporaryFile(suffix=".mbox") as copy:
            copy.write(raw)
            copy.flush()
            box = mbox(copy.name, create=False)
            try:
                return [message_from_bytes(m.as_bytes(), policy=default_policy) for m in box]  # type: ignore[misc]
            finally:
                box.close()

    def copies(self, user: str, message_id: str) -> list[EmailMessage]:
        """The messages in the user's mailbox whose Message-ID is `message_id` (without
        angle brackets): one when delivered once, none when not (yet)."""
        return [m for m in self.mailbox(user) if _has_message_id(m, message_id)]

    def wait_for_mailbox(self, user: str, message_id: str, *, timeout: float = 60,
                         ask_queue_run: bool = True) -> EmailMessage:
        """The message with this Message-ID once it is in the user's mailbox, whole: the
        local mailer may still be writing it when its headers are already there (the mailbox
        is read without its lock), so the copy must read the same on two looks in a row.
        `ask_queue_run=False`: wait for MTA-RX's persistent runners to move it."""
        seen: list[bytes] = []

        def whole() -> EmailMessage | None:
            copy = next(iter(self.copies(user, message_id)), None)
            if copy is None:
                return None
            now = copy.as_bytes()
            stable = bool(seen) and seen[-1] == now
            seen.append(now)
            return copy if stable else None

        def hasten() -> None:  # not for a copy seen once and looked at again
            if not seen and self._hasten and ask_queue_run:
                self._hasten()

        return poll_until(whole, timeout=timeout, what=f"<{message_id}> whole in {user}'s mailbox", interval=0.5,
                          evidence=lambda: self._containers.trail(message_id), nudge=hasten)

    def read_mailboxes(self, offsets: dict[str, int]) -> dict[str, tuple[int, bytes]]:
        """For each user, the size of /var/mail/<user> and its bytes from the given offset
        (from 0 if the mailbox shrank): one exec for all, so it can be polled under load."""
        users = [f"{user}={offset}" for user, offset in offsets.items()]
        raw = self._containers.exec_bytes("tx", ["sh", "-c", _READ_MAILBOXES, "sh", *users])
        boxes, position = {}, 0
        while position < len(raw):
            end = raw.index(b"\n", position)
            user, size, count = raw[position:end].decode().split()
            position = end + 1 + int(count)
            boxes[user] = (int(size), raw[end + 1:position])
        return boxes
