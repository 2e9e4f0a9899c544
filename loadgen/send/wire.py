"""SMTP as the load generator speaks it: messages prepared for DATA before the clock
starts, and one transaction with as little work per message as aiosmtplib allows, on a
session from the harness's client layer (harness.smtp.open_client)."""

import re
import time

from harness.smtp import Client, SMTPResponseException, SMTPServerDisconnected, SMTPStatus

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


_OK = (SMTPStatus.completed,)
_RCPT_OK = (SMTPStatus.completed, SMTPStatus.will_forward)
_DATA_OK = (SMTPStatus.start_input,)


async def send_one(client: Client, sender: str, recipient: str, wire: bytes) -> float:
    """One transaction on a session of harness.smtp.open_client (greeted already), `wire`
    from on_the_wire(). Each command goes straight to aiosmtplib's protocol (write, then
    read its reply): sendmail() would parse every address with the email package, and
    data() would re-quote the message, together most of the sender's CPU in `loadgen bench`.
    Returns the seconds from writing the message to the 250 after it (the time the
    receiving MTA took to say yes: its filter's work, in the milter topology)."""
    protocol, timeout = client.protocol, client.timeout
    if protocol is None:
        raise SMTPServerDisconnected("Connection lost")
    sent = time.perf_counter()
    for command, expected in ((f"MAIL FROM:<{sender}>\r\n".encode(), _OK),
                              (f"RCPT TO:<{recipient}>\r\n".encode(), _RCPT_OK), (b"DATA\r\n", _DATA_OK),
                              (wire, _OK)):
        if command is wire:
            sent = time.perf_counter()
        protocol.write(command)
        reply = await protocol.read_response(timeout=timeout)
        if reply.code not in expected:
            if command is not wire:  # mid-transaction: end it so the session can go on
                await client.rset()
            raise SMTPResponseException(reply.code, reply.message)
    return time.perf_counter() - sent
