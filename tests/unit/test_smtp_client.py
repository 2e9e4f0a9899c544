"""The harness's SMTP layer against a scripted server on loopback: the dialogue it keeps,
and the load generator's fast path on a session the layer opened. No Docker needed."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from harness.smtp import DEFAULT_HELO, SMTPStatus, open_client, send_message_async
from loadgen.send.wire import on_the_wire, send_one


@asynccontextmanager
async def scripted_server(heard: list[str]) -> AsyncIterator[int]:
    """A server that says yes to everything and notes each command line it hears."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 scripted ESMTP\r\n")
        while line := (await reader.readline()).decode().rstrip("\r\n"):
            heard.append(line)
            verb = line.split()[0].upper()
            if verb == "EHLO":
                writer.write(b"250-scripted\r\n250 8BITMIME\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                while (await reader.readline()) != b".\r\n":
                    pass
                writer.write(b"250 2.0.0 6APDVepT000046 Message accepted for delivery\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"250 ok\r\n")
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def test_a_transaction_keeps_every_step_of_the_dialogue_and_quits() -> None:
    async def run() -> tuple[list[str], list[str]]:
        heard: list[str] = []
        async with scripted_server(heard) as port:
            result = await send_message_async(b"Subject: x\r\n\r\nbody\r\n", port=port, mail_from="a@example.test",
                                              rcpt_to=["b@example.test"])
        assert result.accepted and result.queue_id == "6APDVepT000046", result
        return result.transcript, heard

    transcript, heard = asyncio.run(run())
    assert [line.split()[1] for line in transcript if line.startswith("C:")] == ["EHLO", "MAIL", "RCPT", "DATA",
                                                                                 "QUIT"], transcript
    assert transcript[0] == "S: 220 scripted ESMTP" and heard[0] == f"EHLO {DEFAULT_HELO}", heard


def test_the_load_generators_fast_path_runs_on_a_session_the_layer_opened() -> None:
    async def run() -> list[str]:
        heard: list[str] = []
        async with scripted_server(heard) as port:
            client = await open_client(port)
            for _ in range(3):
                await send_one(client, "a@example.test", "b@example.test", on_the_wire(b"Subject: x\r\n\r\nbody"))
            assert (await client.quit()).code == SMTPStatus.closing
        return heard

    heard = asyncio.run(run())
    assert heard.count("MAIL FROM:<a@example.test>") == 3 and heard[0].startswith("EHLO"), heard
