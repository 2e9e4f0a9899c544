"""Send one message over SMTP and keep the whole dialogue, for assertions and evidence."""

import asyncio
import re
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

__all__ = [
    "Reply", "SmtpResult", "ehlo_keywords", "read_banner", "read_banner_async", "send_message", "send_message_async",
]

# sendmail's reply to DATA: "250 2.0.0 6APDVepT000046 Message accepted for delivery"
_QUEUE_ID = re.compile(r"^(?:\d\.\d\.\d\s+)?([0-9A-Za-z]{14})\s+Message accepted")


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass
class SmtpResult:
    """What the server said at each step. `data` is None when DATA was not reached."""

    banner: Reply | None = None
    mail: Reply | None = None
    rcpts: dict[str, Reply] = field(default_factory=dict)
    data: Reply | None = None
    transcript: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.data is not None and self.data.code == 250

    @property
    def queue_id(self) -> str | None:
        match = _QUEUE_ID.match(self.data.text) if self.data else None
        return match.group(1) if match else None

    def log(self, line: str) -> None:
        self.transcript.append(line)

    def __str__(self) -> str:
        return "SMTP transcript:\n  " + "\n  ".join(self.transcript)


async def _close(client: aiosmtplib.SMTP, result: SmtpResult | None = None) -> None:
    """QUIT politely; a server that already hung up is not an error of the transaction."""
    try:
        await client.quit()
        if result:
            result.log("C: QUIT")
    except (aiosmtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def _reply(response: aiosmtplib.SMTPResponse) -> Reply:
    return Reply(response.code, response.message)


async def send_message_async(
    message: EmailMessage | bytes,
    *,
    host: str = "127.0.0.1",
    port: int,
    mail_from: str,
    rcpt_to: list[str],
    helo: str = "client.testbed.test",
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
    client = aiosmtplib.SMTP(hostname=host, port=port, timeout=timeout, start_tls=False, local_hostname=helo,
                             validate_certs=False)
    banner = await client.connect()
    result.banner = _reply(banner)
    result.log(f"S: {result.banner}")
    try:
        result.log(f"C: EHLO {helo}")
        result.log(f"S: {_reply(await client.ehlo())}")
        if starttls:
            result.log("C: STARTTLS")
            result.log(f"S: {_reply(await client.starttls())}")
            result.log(f"C: EHLO {helo}")
            result.log(f"S: {_reply(await client.ehlo())}")
        if login:
            result.log(f"C: AUTH ({login[0]}, password hidden)")
            result.log(f"S: {_reply(await client.login(*login))}")
        command = " ".join([f"FROM:<{mail_from}>", *(mail_options or [])])
        result.log(f"C: MAIL {command}")
        result.mail = _reply(await client.execute_command(b"MAIL", command.encode()))
        result.log(f"S: {result.mail}")
        if result.mail.code != 250:
            return result
        for rcpt in rcpt_to:
            result.log(f"C: RCPT TO:<{rcpt}>")
            result.rcpts[rcpt] = _reply(await client.execute_command(b"RCPT", f"TO:<{rcpt}>".encode()))
            result.log(f"S: {result.rcpts[rcpt]}")
        if not any(r.code in (250, 251) for r in result.rcpts.values()):
            return result
        result.log(f"C: DATA ({len(raw)} bytes)")
        try:
            result.data = _reply(await client.data(raw))
        except aiosmtplib.SMTPResponseException as refused:
            result.data = Reply(refused.code, refused.message)
        result.log(f"S: {result.data}")
        return result
    finally:
        await _close(client, result)


def send_message(message: EmailMessage | bytes, **kwargs) -> SmtpResult:  # type: ignore[no-untyped-def]
    """Blocking form of send_message_async, for tests."""
    return asyncio.run(send_message_async(message, **kwargs))


async def ehlo_keywords_async(*, host: str = "127.0.0.1", port: int, starttls: bool = False) -> set[str]:
    client = aiosmtplib.SMTP(hostname=host, port=port, timeout=30, start_tls=False, validate_certs=False)
    await client.connect()
    try:
        await client.ehlo()
        if starttls:
            await client.starttls()
            await client.ehlo()  # the extensions offered inside TLS
        return {f"{name.upper()} {value}".strip() for name, value in client.esmtp_extensions.items()}
    finally:
        await _close(client)


def ehlo_keywords(*, host: str = "127.0.0.1", port: int, starttls: bool = False) -> set[str]:
    """The EHLO extensions the server offers ("STARTTLS", "AUTH PLAIN LOGIN", ...)."""
    return asyncio.run(ehlo_keywords_async(host=host, port=port, starttls=starttls))


async def read_banner_async(*, host: str = "127.0.0.1", port: int, timeout: float = 30) -> Reply:
    client = aiosmtplib.SMTP(hostname=host, port=port, timeout=timeout, start_tls=False)
    banner = _reply(await client.connect())
    await _close(client)
    return banner


def read_banner(*, host: str = "127.0.0.1", port: int, timeout: float = 30) -> Reply:
    """The server's greeting (220 ...), then QUIT."""
    return asyncio.run(read_banner_async(host=host, port=port, timeout=timeout))
