"""Hostile input and exposure: the chain relays for nobody outside, shows nothing it need
not, and survives broken and abusive SMTP with a 4xx/5xx (or a timeout) while it keeps
serving everyone else."""

import asyncio
import json
import re
from collections.abc import Iterator

import pytest

from harness import Stack, make_message, message_id_of, send_message
from harness.raw_smtp import RawSession
from tests.conftest import LOCAL_DOMAIN, OUTSIDE_SENDER, POLICY, REMOTE_DOMAIN, assert_chain_still_delivers
from tests.run_report import HOSTILE

pytestmark = pytest.mark.chain

VICTIM = f"victim@{REMOTE_DOMAIN}"
# The classic ways to make a mail server relay: every one must be refused from outside, and
# refused as relaying (MAIL 250, then RCPT 550 5.7.x), so the relay decision is what the test
# sees, not an earlier refusal of something else.
RELAY_TRICKS = [
    (OUTSIDE_SENDER, VICTIM),
    (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@{LOCAL_DOMAIN}"),
    (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@{LOCAL_DOMAIN.upper()}"),
    (OUTSIDE_SENDER, f"{REMOTE_DOMAIN}!victim@{LOCAL_DOMAIN}"),
    (OUTSIDE_SENDER, f"\"victim@{REMOTE_DOMAIN}\"@{LOCAL_DOMAIN}"),
    (OUTSIDE_SENDER, f"\"victim%{REMOTE_DOMAIN}\"@{LOCAL_DOMAIN}"),
    (OUTSIDE_SENDER, f"@{LOCAL_DOMAIN}:victim@{REMOTE_DOMAIN}"),
    (OUTSIDE_SENDER, f"@{LOCAL_DOMAIN},@mail.{LOCAL_DOMAIN}:victim@{REMOTE_DOMAIN}"),
    (OUTSIDE_SENDER, "victim@[192.0.2.10]"),
    (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@[127.0.0.1]"),
    (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}."),
    (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN.upper()}"),
    (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}@{LOCAL_DOMAIN}"),
    (OUTSIDE_SENDER, f"victim@{LOCAL_DOMAIN}.{REMOTE_DOMAIN}"),
    (f"postmaster@{LOCAL_DOMAIN}", VICTIM),
    (f"alice@{LOCAL_DOMAIN}", VICTIM),
    (f"postmaster@{LOCAL_DOMAIN.upper()}", VICTIM),
    ("postmaster@[127.0.0.1]", VICTIM),
    ("", VICTIM),
    ("", f"victim%{REMOTE_DOMAIN}@{LOCAL_DOMAIN}"),
    ("postmaster", VICTIM),
]
RELAY_REFUSED = r"550 5\.7\.\d+ "
# The tricks that sendmail refuses before it judges relaying, and why: (sender, recipient)
# -> (the command refused, its reply, the reason). Every other trick must get MAIL 250 and
# RCPT 550 5.7.x.
REFUSED_EARLIER = {
    ("postmaster", VICTIM): ("MAIL", r"553 5\.5\.4 ", "an SMTP sender needs a domain (\"Domain name required\")"),
    ("postmaster@[127.0.0.1]", VICTIM):
        ("MAIL", r"553 5\.5\.4 ", "an address literal is no sender domain (\"Real domain name required\")"),
    (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}@{LOCAL_DOMAIN}"):
        ("RCPT", r"553 5\.1\.3 ", "two @ signs: a malformed route address, refused as such"),
}


async def _try_relay(port: int, sender: str, rcpt: str, message: bytes) -> tuple[list[str], RawSession]:
    """The server's replies to greeting, EHLO, MAIL and RCPT (as "250 2.1.0 ..." lines), and
    the session; past an accepted RCPT it goes on to DATA, to see whether the message is
    refused later or relayed."""
    session = await RawSession.open(port)
    replies = [await session.reply()]
    replies.append(await session.command(b"EHLO attacker.example"))
    replies.append(await session.command(f"MAIL FROM:<{sender}>".encode()))
    replies.append(reply := await session.command(f"RCPT TO:<{rcpt}>".encode()))
    if reply is not None and reply.code < 400 and (data := await session.command(b"DATA")) and data.code == 354:
        await session.send(message + b".\r\n")
        await session.reply()
    await session.command(b"QUIT")
    await session.close()
    return [str(r) if r else "<connection closed>" for r in replies], session


def relay_refusal_failure(sender: str, rcpt: str, replies: list[str]) -> str | None:
    """What is wrong with the replies to one trick, or None."""
    mail, rcpt_reply = replies[2], replies[3]
    if (sender, rcpt) in REFUSED_EARLIER:
        command, expected, why = REFUSED_EARLIER[(sender, rcpt)]
        got = mail if command == "MAIL" else rcpt_reply
        if command == "RCPT" and not mail.startswith("250 "):
            return f"MAIL was refused ({mail}); expected 250, then RCPT {expected} ({why})"
        return None if re.match(expected, got) else f"{command} got {got}; expected {expected} ({why})"
    if not mail.startswith("250 "):
        return f"MAIL got {mail}, so relaying was never judged; expected 250"
    if not re.match(RELAY_REFUSED, rcpt_reply):
        return f"RCPT got {rcpt_reply}; expected 550 5.7.x (relaying denied)"
    return None


@pytest.mark.parametrize("port_name", ["smtp_port", "submission_port"])
def test_the_open_relay_battery_from_outside_is_refused_as_relaying_and_nothing_reaches_the_sink(
    stack: Stack, port_name: str
) -> None:
    port = getattr(stack, port_name)
    message_ids, failures = [], []
    for sender, rcpt in RELAY_TRICKS:
        message = make_message(sender=sender or "MAILER-DAEMON", to=VICTIM, tag="relay-attempt")
        message_ids.append(message_id_of(message))
        replies, session = asyncio.run(_try_relay(port, sender, rcpt, message.as_bytes()))
        if (failure := relay_refusal_failure(sender, rcpt, replies)) is not None:
            failures.append(f"MAIL FROM:<{sender}> RCPT TO:<{rcpt}>: {failure}\n{session}")
    assert not failures, "\n\n".join(failures)
    # Mail that MTA-RX does relay (from the LAN) gets through; the attempts did not.
    probe = make_message(sender=f"alice@{LOCAL_DOMAIN}", to=f"partner@{REMOTE_DOMAIN}", tag="relay-probe")
    assert send_message(probe, port=stack.office_port, mail_from=f"alice@{LOCAL_DOMAIN}",
                        rcpt_to=[f"partner@{REMOTE_DOMAIN}"]).accepted
    stack.sink.wait_for(message_id_of(probe), timeout=120)
    arrived = {m.message_id for m in stack.sink.messages()}
    assert not arrived & set(message_ids), [stack.trail(m) for m in arrived & set(message_ids)]


@pytest.mark.parametrize("neighbour", ["internet", "office"])
@pytest.mark.parametrize("port", [10024, 10025])
def test_amavis_and_mta_tx_are_unreachable_from_other_containers(stack: Stack, neighbour: str, port: int) -> None:
    script = (
        "import json, socket\n"
        "def probe(port):\n"
        "    try:\n"
        "        socket.create_connection(('mx', port), timeout=5).close(); return 'open'\n"
        "    except OSError as error: return type(error).__name__\n"
        f"print(json.dumps({{'smtp': probe(25), 'port': probe({port})}}))\n"
    )
    seen = json.loads(stack.exec(neighbour, ["python3", "-c", script]))
    assert seen["smtp"] == "open", seen  # the namespace is reachable from there ...
    assert seen["port"] == "ConnectionRefusedError", seen  # ... and this port is not


def test_only_25_and_587_of_the_chain_are_published(stack: Stack) -> None:
    def bound(service: str) -> list[str]:  # exposed-but-unpublished ports have no bindings
        ports = stack.container(service).attrs["NetworkSettings"]["Ports"] or {}
        return sorted(port for port, bindings in ports.items() if bindings)

    published = {service: bound(service) for service in ("mx", "rx", "amavis", "clamd", "tx")}
    assert published == {"mx": ["25/tcp", "587/tcp"], "rx": [], "amavis": [], "clamd": [], "tx": []}, published


def test_mta_rx_serves_smtp_and_runs_its_queue_as_smmsp_not_root(stack: Stack) -> None:
    async def hold_a_session() -> list[str]:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        await session.command(b"EHLO client.example")
        processes = stack.exec("rx", ["ps", "-eo", "user:16=,args="]).splitlines()
        await session.command(b"QUIT")
        await session.close()
        return processes

    processes = [line.split(None, 1) for line in asyncio.run(hold_a_session()) if "sendmail" in line]
    listening = [user for user, args in processes if "accepting connections" in args]
    others = [(user, args) for user, args in processes if "accepting connections" not in args]
    assert listening == ["root"], processes  # binding port 25 needs root; nothing else does
    assert any("startup with" in args or "cmd read" in args or "client" in args for _, args in others), processes
    assert any("queue" in args.lower() for _, args in others), processes
    assert {user for user, _ in others} == {"smmsp"}, processes


def test_vrfy_and_expn_do_not_disclose_users(stack: Stack) -> None:
    async def ask() -> tuple[list[tuple[bytes, int, str]], RawSession]:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        await session.command(b"EHLO client.example")
        answers = []
        for command in (b"VRFY alice", b"VRFY nosuchuser", b"EXPN postmaster", b"EXPN nosuchlist"):
            reply = await session.command(command)
            answers.append((command, reply.code if reply else 0, reply.text if reply else ""))
        await session.command(b"QUIT")
        await session.close()
        return answers, session

    answers, session = asyncio.run(ask())
    codes = {command: code for command, code, _ in answers}
    assert codes[b"VRFY alice"] == codes[b"VRFY nosuchuser"] and codes[b"VRFY alice"] // 100 in (2, 5), session
    assert codes[b"VRFY alice"] != 250, session  # 252: "cannot VRFY user", for everyone alike
    assert codes[b"EXPN postmaster"] // 100 == 5 and codes[b"EXPN nosuchlist"] // 100 == 5, session
    for _, _, text in answers:
        assert not re.search(r"admin|<alice@|Alice", text), session


SMUGGLING_ENDS = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n"]


@pytest.mark.parametrize("end", SMUGGLING_ENDS, ids=lambda end: repr(end.decode()))
def test_a_bare_lf_or_cr_end_of_data_never_smuggles_a_second_message(stack: Stack, end: bytes) -> None:
    outer_rcpt, smuggled_rcpt = f"alice@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"
    outer = make_message(sender=OUTSIDE_SENDER, to=outer_rcpt, tag="smuggling-outer")
    smuggled = make_message(sender=f"ceo@{LOCAL_DOMAIN}", to=smuggled_rcpt, tag="smuggled")
    payload = (outer.as_bytes() + end + f"MAIL FROM:<ceo@{LOCAL_DOMAIN}>\r\nRCPT TO:<{smuggled_rcpt}>\r\n"
               "DATA\r\n".encode() + smuggled.as_bytes() + b"\r\n.\r\n")

    async def session() -> RawSession:
        raw = await RawSession.open(stack.smtp_port)
        await raw.reply()
        await raw.command(b"EHLO client.example")
        await raw.command(f"MAIL FROM:<{OUTSIDE_SENDER}>".encode())
        await raw.command(f"RCPT TO:<{outer_rcpt}>".encode())
        await raw.command(b"DATA")
        await raw.send(payload)
        for _ in range(4):  # whatever the server says to the rest of the bytes
            if await raw.reply() is None:
                break
        await raw.command(b"QUIT")
        await raw.close()
        return raw

    raw = asyncio.run(session())
    accepted = [line for line in raw.transcript if re.match(r"S: 250 .*(accepted|queued)", line, re.IGNORECASE)]
    assert len(accepted) <= 1, raw
    assert_chain_still_delivers(stack, "after-smuggling")
    smuggled_id = message_id_of(smuggled)
    for user in POLICY.users.existing:
        assert not stack.tx.copies(user, smuggled_id), f"{raw}\n{stack.trail(smuggled_id)}"
    assert not stack.sink.by_message_id(smuggled_id), raw


async def _abuse(port: int, lines: list[bytes], *, pipelined: bool = False) -> tuple[list[int], RawSession]:
    """Send `lines` (each answered before the next, or all in one write) after EHLO and
    MAIL; the reply codes (0: the server closed the connection)."""
    session = await RawSession.open(port, timeout=60)
    await session.reply()
    await session.command(b"EHLO client.example")
    await session.command(f"MAIL FROM:<{OUTSIDE_SENDER}>".encode())
    codes = []
    if pipelined:
        await session.send(b"".join(line + b"\r\n" for line in lines))
    for line in lines:
        reply = await session.reply() if pipelined else await session.command(line)
        codes.append(reply.code if reply else 0)
        if reply is None:
            break
    await session.close()
    return codes, session


PIPELINED_FLOOD = 5000
IDLE_CONNECTIONS = 150
ABUSE = {
    "over-long command line": [b"RCPT TO:<" + b"a" * 20_000 + b"@" + LOCAL_DOMAIN.encode() + b">"],
    "over-long address": [b"RCPT TO:<" + b"a" * 900 + b"@" + LOCAL_DOMAIN.encode() + b">"],
    "NUL bytes in a command": [b"RCPT TO:<al\x00ice@" + LOCAL_DOMAIN.encode() + b">", b"RC\x00PT TO:<x@y>"],
    "8-bit garbage as commands": [bytes(range(128, 256)), b"\xff\xfe\xfd\xfc", b"MAIL\xa0FROM:<\xe9@x>"],
    "thousands of unknown recipients": [f"RCPT TO:<nobody{i}@{LOCAL_DOMAIN}>".encode() for i in range(2000)],
    "thousands of relay attempts": [f"RCPT TO:<victim{i}@{REMOTE_DOMAIN}>".encode() for i in range(2000)],
}


@pytest.mark.parametrize("abuse", list(ABUSE))
def test_abusive_commands_get_4xx_or_5xx_and_others_are_still_served(stack: Stack, abuse: str) -> None:
    codes, session = asyncio.run(_abuse(stack.smtp_port, ABUSE[abuse]))
    assert codes and all(code == 0 or code >= 400 for code in codes), session
    assert_chain_still_delivers(stack, abuse.replace(" ", "-"))


def test_a_flood_of_pipelined_commands_is_answered_and_others_are_still_served(stack: Stack) -> None:
    flood = [f"RCPT TO:<victim{i}@{REMOTE_DOMAIN}>".encode() for i in range(PIPELINED_FLOOD)]
    codes, session = asyncio.run(_abuse(stack.smtp_port, flood, pipelined=True))
    assert codes and all(code == 0 or code >= 400 for code in codes), session
    assert_chain_still_delivers(stack, "pipelined-flood")


def test_a_client_that_stalls_mid_data_does_not_block_others_and_its_half_message_is_dropped(stack: Stack) -> None:
    rcpt = f"carol@{LOCAL_DOMAIN}"
    half = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="stalled").as_bytes()
    half = half[: len(half) // 2]

    async def stall_and_probe() -> RawSession:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        for line in (b"EHLO client.example", f"MAIL FROM:<{OUTSIDE_SENDER}>".encode(), f"RCPT TO:<{rcpt}>".encode(),
                     b"DATA"):
            await session.command(line)
        await session.send(half)  # ... and nothing more: a stalled client
        await asyncio.to_thread(assert_chain_still_delivers, stack, "during-stall")
        await session.close()  # gives up without the final dot
        return session

    session = asyncio.run(stall_and_probe())
    assert_chain_still_delivers(stack, "after-stall")
    stalled_id = re.search(rb"Message-ID: <([^>]+)>", half, re.IGNORECASE)
    assert stalled_id, half[:500]
    assert not stack.tx.copies("carol", stalled_id.group(1).decode()), session


def max_daemon_children(stack: Stack) -> int:
    """MTA-RX's MaxDaemonChildren as its running .cf has it (0: no limit)."""
    line = stack.exec("rx", ["sh", "-c", "grep '^O MaxDaemonChildren=' /etc/mail/sendmail-rx.cf; true"])
    return int(line.split("=", 1)[1]) if line.strip() else 0


async def _greeting(session: RawSession) -> str:
    try:
        reply = await session.reply()
    except TimeoutError:
        return f"<no greeting within {session.timeout:.0f} s>"
    return str(reply) if reply else "<closed without a reply>"


def test_many_idle_connections_are_each_greeted_and_do_not_lock_out_others(stack: Stack) -> None:
    """Each of many idle connections gets its 220 greeting, and a probe still gets through.
    Beyond MaxDaemonChildren sendmail hangs up on new clients without a word, by design,
    so with a limit the test holds a few fewer connections than it allows."""
    limit = max_daemon_children(stack)
    count = min(IDLE_CONNECTIONS, limit - 5) if limit else IDLE_CONNECTIONS

    async def hold_and_probe() -> list[str]:
        sessions = await asyncio.gather(*(RawSession.open(stack.smtp_port) for _ in range(count)))
        greetings = await asyncio.gather(*(_greeting(s) for s in sessions))
        await asyncio.to_thread(assert_chain_still_delivers, stack, "with-idle-connections")
        await asyncio.gather(*(s.close() for s in sessions))
        return greetings

    greetings = asyncio.run(hold_and_probe())
    others = [g for g in greetings if not g.startswith("220 ")]
    assert not others, f"{len(others)} of {count} connections not greeted (MaxDaemonChildren={limit}): {others[:3]}"
    HOSTILE.append(f"idle connections: {count} held, each greeted (MaxDaemonChildren={limit or 'none'})")


@pytest.fixture(scope="module", autouse=True)
def count_hostile_inputs() -> Iterator[None]:
    """What this module tried, for the run's summary (tests/run_report.py)."""
    yield
    HOSTILE.append(
        f"hostile input (test_hostile.py): {len(RELAY_TRICKS)} relay tricks on 2 ports, {len(SMUGGLING_ENDS)} "
        f"smuggling end-of-data variants, {sum(len(lines) for lines in ABUSE.values()) + PIPELINED_FLOOD} abusive "
        f"commands in {len(ABUSE) + 1} sessions, 1 stalled DATA, {IDLE_CONNECTIONS} idle connections")
