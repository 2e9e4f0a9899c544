"""What "delivered" means for a load generator message: this Message-ID, at this recipient,
with this content. A copy in another mailbox, or a cut or altered one, is not a delivery.

The content is compared decoded: a hop may legitimately re-encode a part (sendmail's local
mailer turns quoted-printable into 8bit), but not change what it says. Each message carries
its own content digest in a header (BODY_HEADER), so a reader of an mbox can tell when the
message it is reading is complete without waiting for the next one."""

import hashlib
from email.parser import BytesParser
from email.policy import compat32
from typing import NamedTuple

__all__ = ["BODY_HEADER", "Delivery", "content_digest"]

BODY_HEADER = "X-Testbed-Content"  # content_digest() of the message as sent


class Delivery(NamedTuple):
    message_id: str
    recipient: str  # the envelope recipient; for a local mailbox, <user>@<local domain>
    digest: str  # content_digest of the message as sent or as found


def content_digest(raw: bytes) -> str:
    """SHA-256 (first 20 hex digits) of every leaf part's decoded payload, line ends as LF
    and without trailing empty lines. The sink (images/sink/sink.py) computes the same, in
    its own image; tests/unit/test_sink_digest.py holds the two to it."""
    digest = hashlib.sha256()
    for part in BytesParser(policy=compat32).parsebytes(raw).walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            digest.update(payload.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\0")
    return digest.hexdigest()[:20]
