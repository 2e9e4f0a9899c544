"""Send one message over SMTP and keep the whole dialogue, for assertions and evidence."""

import asyncio
from email.message import EmailMessage

from aiosmtplib import SMTPResponseException, SMTPStatus

from harness.smtp.client import DEFAULT_HELO, connect, reply_of
from harness.smtp.result import Reply, SmtpResult

__all__ = ["send_message", "send_message_async"]

_RCPT_ACCEPTED = (SMTPStatus.completed, SMTPStatus.will_forward)


async def send_message_async(
    message: EmailMessage | bytes,
    *,
    host: str = "127.0.0.1",
    port: int,
    mail_from: str,
    rcpt_to: list[str],
    helo: str = DEFAULT_HELO,
    timeout: float = 60,
    mail_options: list[str] | None = None,
    starttls: bool = False,
    login: tuple[str, str] | None = None,
) -> SmtpResult:
    """Run one SMTP transaction; refused steps are recorded, not raised.

    `starttls` upgrades the session first (the testbed's certificate is self-signed, so
    it is not verified); `login` then authenticates. `mail_options` go on MAIL FROM
    (e.g. ["SIZE=20000000", "BODY=8BITMIME"]). DATA is sent only if at least one
    recipient was accepted, as a real client does. Connection failures and a refused
    STARTTLS or AUTH raise (aiosmtplib errors), since the transaction cannot go on.
    """
    result = SmtpResult()
    raw = message if isinstance(message, bytes) else message.as_bytes()
    async with connect(port, host=host, helo=helo, timeout=timeout, starttls=starttls, login=login,
                       transcript=result) as client:
        command = " ".join([f"FROM:<{mail_from}>", *(mail_options or [])])
        result.log(f"C: MAIL {command}")
        result.mail = reply_of(await client.execute_command(b"MAIL", command.encode()))
        result.log(f"S: {result.mail}")
        if result.mail.code != SMTPStatus.completed:
            return result
        for rcpt in rcpt_to:
            result.log(f"C: RCPT TO:<{rcpt}>")
            result.rcpts[rcpt] = reply_of(await client.execute_command(b"RCPT", f"TO:<{rcpt}>".encode()))
            result.log(f"S: {result.rcpts[rcpt]}")
        if not any(r.code in _RCPT_ACCEPTED for r in result.rcpts.values()):
            return result
        result.log(f"C: DATA ({len(raw)} bytes)")
        try:
            result.data = reply_of(await client.data(raw))
        except SMTPResponseException as refused:
            result.data = Reply(refused.code, refused.message)
        result.log(f"S: {result.data}")
        return result


def send_message(message: EmailMessage | bytes, **kwargs) -> SmtpResult:  # type: ignore[no-untyped-def]
    """Blocking form of send_message_async, for tests."""
    return asyncio.run(send_message_async(message, **kwargs))
