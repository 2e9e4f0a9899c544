"""An SMTP client that sends exactly the bytes it is given: for tests that must break the
protocol (smuggling, NUL bytes, floods), which a proper client library refuses to do.
It keeps a transcript, like send_message, for the failure report."""

import asyncio
import contextlib
import re

from harness.smtp import Reply

__all__ = ["RawSession"]

_LINE = re.compile(rb"^(\d{3})([ -])(.*)$")


class RawSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self.reader, self.writer, self.timeout = reader, writer, timeout
        self.transcript: list[str] = []
        self.closed_by_server = False

    @classmethod
    async def open(cls, port: int, *, host: str = "127.0.0.1", timeout: float = 30) -> "RawSession":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=1 << 20), timeout)
        return cls(reader, writer, timeout)

    async def reply(self) -> Reply | None:
        """The next (multi-line) reply; None if the server closed the connection.
        Raises TimeoutError if it says nothing within the timeout (a hang)."""
        texts = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if not line:
                self.closed_by_server = True
                self.transcript.append("S: <connection closed>")
                return None
            match = _LINE.match(line.rstrip(b"\r\n"))
            if not match:
                self.transcript.append(f"S: <not a reply: {line[:200]!r}>")
                continue
            texts.append(match.group(3).decode(errors="replace"))
            if match.group(2) == b" ":
                reply = Reply(int(match.group(1)), "\n".join(texts))
                self.transcript.append(f"S: {reply}")
                return reply

    async def send(self, data: bytes) -> None:
        shown = data if len(data) <= 300 else data[:300] + f"... ({len(data)} bytes)".encode()
        self.transcript.append(f"C: {shown!r}")
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed_by_server = True
            self.transcript.append("C: <write failed: connection closed>")

    async def command(self, line: bytes) -> Reply | None:
        await self.send(line + b"\r\n")
        return await self.reply()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    def __str__(self) -> str:
        return "SMTP transcript:\n  " + "\n  ".join(self.transcript)
