"""What "delivered" means for a load generator message: this Message-ID, at this recipient,
with this body. A copy in another mailbox, or a cut or altered body, is not a delivery of it.

Each message carries its body's length and digest in a header (BODY_HEADER), so a reader of
an mbox knows where the body ends without waiting for the next message."""

import hashlib
from typing import NamedTuple

__all__ = ["BODY_HEADER", "Delivery", "body_digest", "body_of", "body_stamp"]

BODY_HEADER = "X-Testbed-Body"  # "<length> <digest>" of the body as body_of() gives it


class Delivery(NamedTuple):
    message_id: str
    recipient: str  # the envelope recipient; for a local mailbox, <user>@<local domain>
    digest: str  # body_digest of the body as sent or as found


def body_of(raw: bytes) -> bytes:
    """The body of a whole message: after the first empty line, with CRLF as LF and no
    trailing empty lines (SMTP carries CRLF, an mbox LF and a blank line after each message).
    The sink (images/sink/sink.py) computes the same, in its own image."""
    text = raw.replace(b"\r\n", b"\n")
    _, found, body = text.partition(b"\n\n")
    return body.rstrip(b"\n") if found else b""


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:20]


def body_stamp(body: bytes) -> str:
    """The value of BODY_HEADER for this body."""
    return f"{len(body)} {body_digest(body)}"
