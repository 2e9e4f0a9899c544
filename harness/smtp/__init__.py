"""SMTP as the tests, the load generator and its bench speak it: one client layer.

client       open_client() / connect(): the only place aiosmtplib clients are made
transaction  send_message(): one transaction, every reply kept for assertions
probes       read_banner(), ehlo_keywords(): what a server shows before any mail
result       Reply, SmtpResult: what the server said

Reply codes are aiosmtplib's SMTPStatus members (SMTPStatus.mailbox_does_not_exist is
550), re-exported here with the errors a caller may catch, so no caller needs aiosmtplib.
"""

from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPStatus,
)

from harness.smtp.client import DEFAULT_HELO, Client, close, connect, open_client, reply_of
from harness.smtp.probes import ehlo_keywords, ehlo_keywords_async, read_banner, read_banner_async
from harness.smtp.result import Reply, SmtpResult
from harness.smtp.transaction import send_message, send_message_async

__all__ = [
    "DEFAULT_HELO",
    "Client",
    "Reply",
    "SMTPAuthenticationError",
    "SMTPException",
    "SMTPResponseException",
    "SMTPServerDisconnected",
    "SMTPStatus",
    "SmtpResult",
    "close",
    "connect",
    "ehlo_keywords",
    "ehlo_keywords_async",
    "open_client",
    "read_banner",
    "read_banner_async",
    "reply_of",
    "send_message",
    "send_message_async",
]
