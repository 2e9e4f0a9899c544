"""Test messages: built with the email package, each with its own Message-ID."""

import uuid
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from faker import Faker

__all__ = ["make_message", "message_id_of", "new_message_id"]

MESSAGE_ID_DOMAIN = "testbed.test"
_fake = Faker()


def new_message_id(tag: str = "msg") -> str:
    """A Message-ID (without angle brackets) that no other message of any run has."""
    return f"{tag}.{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}"


def make_message(
    *,
    sender: str,
    to: str | list[str],
    subject: str | None = None,
    body: str | None = None,
    tag: str = "msg",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text message with Date and a unique Message-ID.

    The SMTP policy gives CRLF line ends on the wire (sendmail refuses bare LF).
    """
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Subject"] = subject if subject is not None else _fake.sentence(nb_words=6)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{new_message_id(tag)}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body if body is not None else "\n\n".join(_fake.paragraphs(nb=3)) + "\n")
    return message


def message_id_of(message: EmailMessage) -> str:
    """The Message-ID without angle brackets, as the daemons' logs and the sink show it."""
    return str(message["Message-ID"]).strip().strip("<>")
