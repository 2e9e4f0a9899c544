"""What a server shows before any mail: its banner, and the EHLO extensions it offers."""

import asyncio

from harness.smtp.client import connect
from harness.smtp.result import Reply, SmtpResult

__all__ = ["ehlo_keywords", "ehlo_keywords_async", "read_banner", "read_banner_async"]


async def ehlo_keywords_async(*, host: str = "127.0.0.1", port: int, starttls: bool = False) -> set[str]:
    async with connect(port, host=host, timeout=30, starttls=starttls) as client:
        return {f"{name.upper()} {value}".strip() for name, value in client.esmtp_extensions.items()}


def ehlo_keywords(*, host: str = "127.0.0.1", port: int, starttls: bool = False) -> set[str]:
    """The EHLO extensions the server offers ("STARTTLS", "AUTH PLAIN LOGIN", ...); with
    `starttls`, those offered inside TLS."""
    return asyncio.run(ehlo_keywords_async(host=host, port=port, starttls=starttls))


async def read_banner_async(*, host: str = "127.0.0.1", port: int, timeout: float = 30) -> Reply:
    greeted = SmtpResult()
    async with connect(port, host=host, timeout=timeout, ehlo=False, transcript=greeted):
        pass
    assert greeted.banner is not None  # connect() raises when there is none
    return greeted.banner


def read_banner(*, host: str = "127.0.0.1", port: int, timeout: float = 30) -> Reply:
    """The server's greeting (220 ...), then QUIT."""
    return asyncio.run(read_banner_async(host=host, port=port, timeout=timeout))
