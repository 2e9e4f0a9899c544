"""The one place that makes SMTP clients: connected, greeted, upgraded to TLS and logged
in as asked, and closed politely. Tests, the load generator and its bench all take their
sessions from here, so a client option (certificates, HELO name, timeouts) is set once."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponse

from harness.smtp.result import Reply, SmtpResult

__all__ = ["DEFAULT_HELO", "Client", "close", "connect", "open_client", "reply_of"]

DEFAULT_HELO = "client.testbed.test"
# What callers hold: aiosmtplib's session, so the fast path of loadgen.send.wire can still
# write to its protocol directly.
Client: TypeAlias = aiosmtplib.SMTP


def reply_of(response: SMTPResponse) -> Reply:
    return Reply(response.code, response.message)


async def open_client(
    port: int,
    *,
    host: str = "127.0.0.1",
    helo: str = DEFAULT_HELO,
    timeout: float = 60,
    ehlo: bool = True,
    starttls: bool = False,
    login: tuple[str, str] | None = None,
    transcript: SmtpResult | None = None,
) -> Client:
    """An open session: the banner read, then EHLO (unless `ehlo` is False), STARTTLS and
    EHLO again if `starttls` (the testbed's certificate is self-signed, so it is not
    verified), then AUTH if `login`. Each step goes into `transcript` when one is given.
    A failure at any step closes the connection and raises (aiosmtplib's errors). The
    caller closes the session with close(); connect() does that itself."""
    client = Client(hostname=host, port=port, timeout=timeout, start_tls=False, local_hostname=helo,
                    validate_certs=False)
    banner = reply_of(await client.connect())
    if transcript is not None:
        transcript.banner = banner
    _log(transcript, f"S: {banner}")
    try:
        if ehlo or starttls:
            await _ehlo(client, helo, transcript)
        if starttls:
            _log(transcript, "C: STARTTLS")
            _log(transcript, f"S: {reply_of(await client.starttls())}")
            await _ehlo(client, helo, transcript)  # the extensions offered inside TLS
        if login:
            _log(transcript, f"C: AUTH ({login[0]}, password hidden)")
            _log(transcript, f"S: {reply_of(await client.login(*login))}")
    except BaseException:
        await close(client, transcript)
        raise
    return client


async def close(client: Client, transcript: SmtpResult | None = None) -> None:
    """QUIT politely; a server that already hung up is not an error of the session."""
    try:
        if client.is_connected:
            await client.quit()
            _log(transcript, "C: QUIT")
    except (SMTPException, OSError):
        pass
    finally:
        client.close()


@asynccontextmanager
async def connect(
    port: int,
    *,
    host: str = "127.0.0.1",
    helo: str = DEFAULT_HELO,
    timeout: float = 60,
    ehlo: bool = True,
    starttls: bool = False,
    login: tuple[str, str] | None = None,
    transcript: SmtpResult | None = None,
) -> AsyncIterator[Client]:
    """`async with connect(port) as client:` an open_client() session, closed at the end."""
    client = await open_client(port, host=host, helo=helo, timeout=timeout, ehlo=ehlo, starttls=starttls,
                               login=login, transcript=transcript)
    try:
        yield client
    finally:
        await close(client, transcript)


async def _ehlo(client: Client, helo: str, transcript: SmtpResult | None) -> None:
    _log(transcript, f"C: EHLO {helo}")
    _log(transcript, f"S: {reply_of(await client.ehlo())}")


def _log(transcript: SmtpResult | None, line: str) -> None:
    if transcript is not None:
        transcript.log(line)
