"""SMTP as the load generator speaks it: messages prepared for DATA before the clock
starts, and one transaction with as little work per message as aiosmtplib allows."""

import re

import aiosmtplib

__all__ = ["on_the_wire", "send_one"]


def on_the_wire(data: bytes) -> bytes:
    """A message as DATA sends it: CRLF line ends, leading dots doubled, the final dot.
    Done once before the clock starts, not per send (aiosmtplib's data() would redo it)."""
    data = _LINE_END.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_DOT.sub(b"..", data) + b".\r\n"


_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


async def send_one(client: aiosmtplib.SMTP, sender: str, recipient: str, wire: bytes) -> None:
    """One transaction on an open session, `wire` from on_the_wire(). Each command goes
    straight to aiosmtplib's protocol (write, then read its reply): sendmail() would parse
    every address with the email package, and data() would re-quote the message, together
    most of the sender's CPU in `loadgen bench`."""
    if client.last_ehlo_response is None:
        await client.ehlo()
    protocol, timeout = client.protocol, client.timeout
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    for command, expected in ((f"MAIL FROM:<{sender}>\r\n".encode(), (250,)),
                              (f"RCPT TO:<{recipient}>\r\n".encode(), (250, 251)), (b"DATA\r\n", (354,)),
                              (wire, (250,))):
        protocol.write(command)
        reply = await protocol.read_response(timeout=timeout)
        if reply.code not in expected:
            if command is not wire:  # mid-transaction: end it so the session can go on
                await client.rset()
            raise aiosmtplib.SMTPResponseException(reply.code, reply.message)
