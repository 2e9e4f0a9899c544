"""Broken and abusive SMTP: a message smuggled by a bare LF or CR end of data, over-long,
NUL and 8-bit commands, floods of recipients and pipelined commands, a stalled DATA and many
idle connections each get a 4xx/5xx (or a timeout) while the chain keeps serving everyone
else."""

import asyncio
import re
from collections.abc import Callable, Iterator

import pytest

from harness import Stack, make_message, message_id_of, poll_until
from harness.raw_smtp import RawSession
from harness.smtp import Reply, SMTPStatus
from siteconfig.policy import Policy
from tests.conftest import OUTSIDE_SENDER, REMOTE_DOMAIN, People, assert_chain_still_delivers, not_applicable_unless
from tests.run_report import HOSTILE

pytestmark = pytest.mark.chain

SMUGGLING_ENDS = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n"]


@pytest.mark.parametrize("end", SMUGGLING_ENDS, ids=lambda end: repr(end.decode()))
def test_a_bare_lf_or_cr_end_of_data_never_smuggles_a_second_message(
    stack: Stack, policy: Policy, people: People, end: bytes
) -> None:
    outer_rcpt, smuggled_rcpt = people.address(people.reader), people.address(people.sender)
    outer = make_message(sender=OUTSIDE_SENDER, to=outer_rcpt, tag="smuggling-outer")
    ceo = people.address("ceo")  # a forged local sender: the payload's, no user of the policy
    smuggled = make_message(sender=ceo, to=smuggled_rcpt, tag="smuggled")
    payload = (outer.as_bytes() + end + f"MAIL FROM:<{ceo}>\r\nRCPT TO:<{smuggled_rcpt}>\r\n"
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
    assert_chain_still_delivers(stack, policy, "after-smuggling")
    smuggled_id = message_id_of(smuggled)
    for user in policy.users.existing:
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
# Each abuse's lines, given the policy's local domain.
ABUSE: dict[str, Callable[[bytes], list[bytes]]] = {
    "over-long command line": lambda local: [b"RCPT TO:<" + b"a" * 20_000 + b"@" + local + b">"],
    "over-long address": lambda local: [b"RCPT TO:<" + b"a" * 900 + b"@" + local + b">"],
    # Any local part does: the NUL in it is the abuse.
    "NUL bytes in a command": lambda local: [b"RCPT TO:<al\x00ice@" + local + b">", b"RC\x00PT TO:<x@y>"],
    "8-bit garbage as commands": lambda local: [bytes(range(128, 256)), b"\xff\xfe\xfd\xfc", b"MAIL\xa0FROM:<\xe9@x>"],
    "thousands of unknown recipients": lambda local: [b"RCPT TO:<nobody%d@%s>" % (i, local) for i in range(2000)],
    "thousands of relay attempts": lambda local: [f"RCPT TO:<victim{i}@{REMOTE_DOMAIN}>".encode() for i in range(2000)],
}


THROTTLED = "Possible SMTP RCPT flood, throttling"  # what sendmail logs once a session passes BadRcptThrottle


def _rcpt_throttle(stack: Stack) -> int:
    """confBAD_RCPT_THROTTLE (BadRcptThrottle): past that many refused recipients in a
    session, sendmail sleeps a second before each further reply (0: off)."""
    value = stack.rx.compiled().option("BadRcptThrottle") or "0"
    return int(value) if value.isdigit() else 0


@pytest.mark.parametrize("abuse", list(ABUSE))
def test_abusive_commands_get_4xx_or_5xx_and_others_are_still_served(stack: Stack, policy: Policy, abuse: str) -> None:
    not_applicable_unless(abuse != "thousands of unknown recipients" or bool(policy.users.nonexistent),
                          "the policy does not say MTA-RX refuses unknown users (users.nonexistent)")
    lines = ABUSE[abuse](policy.local_domain.encode())
    throttle = _rcpt_throttle(stack) if abuse.startswith("thousands") else 0
    if throttle:  # a second per recipient past it: thousands would take an hour; enough to see it act
        lines = lines[: throttle + 5]
    flood_notes = stack.logs("rx").count(THROTTLED)
    codes, session = asyncio.run(_abuse(stack.smtp_port, lines))
    assert codes and all(code == 0 or code >= 400 for code in codes), session
    if throttle:  # this session's own note: the count grew
        assert stack.logs("rx").count(THROTTLED) > flood_notes, f"BadRcptThrottle={throttle}:\n{session}"
    assert_chain_still_delivers(stack, policy, abuse.replace(" ", "-"))


def test_a_flood_of_pipelined_commands_is_answered_and_others_are_still_served(stack: Stack, policy: Policy) -> None:
    throttle = _rcpt_throttle(stack)  # past it a second per reply: enough to see it act
    count = throttle + 5 if throttle else PIPELINED_FLOOD
    flood = [f"RCPT TO:<victim{i}@{REMOTE_DOMAIN}>".encode() for i in range(count)]
    codes, session = asyncio.run(_abuse(stack.smtp_port, flood, pipelined=True))
    assert codes and all(code == 0 or code >= 400 for code in codes), session
    assert_chain_still_delivers(stack, policy, "pipelined-flood")


def test_a_client_that_stalls_mid_data_does_not_block_others_and_its_half_message_is_dropped(
    stack: Stack, policy: Policy, people: People
) -> None:
    rcpt = people.address(people.reader)
    half = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="stalled").as_bytes()
    half = half[: len(half) // 2]

    async def stall_and_probe() -> RawSession:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        for line in (b"EHLO client.example", f"MAIL FROM:<{OUTSIDE_SENDER}>".encode(), f"RCPT TO:<{rcpt}>".encode(),
                     b"DATA"):
            await session.command(line)
        await session.send(half)  # ... and nothing more: a stalled client
        await asyncio.to_thread(assert_chain_still_delivers, stack, policy, "during-stall")
        await session.close()  # gives up without the final dot
        return session

    session = asyncio.run(stall_and_probe())
    assert_chain_still_delivers(stack, policy, "after-stall")
    stalled_id = re.search(rb"Message-ID: <([^>]+)>", half, re.IGNORECASE)
    assert stalled_id, half[:500]
    assert not stack.tx.copies(people.reader, stalled_id.group(1).decode()), session


def max_daemon_children(stack: Stack) -> int:
    """MTA-RX's MaxDaemonChildren as its running .cf has it (0: no limit)."""
    line = stack.exec("rx", ["sh", "-c", f"grep '^O MaxDaemonChildren=' {stack.rx.cf}; true"])
    return int(line.split("=", 1)[1]) if line.strip() else 0


def test_a_client_that_talks_before_the_greeting_is_refused_when_mta_rx_pauses_it(stack: Stack) -> None:
    """FEATURE(greet_pause): spamware that does not wait for the banner is refused (554),
    and sendmail logs it."""
    not_applicable_unless("greet_pause" in stack.rx.compiled().rulesets,
                          "MTA-RX does not pause its greeting (no FEATURE(greet_pause))")

    async def early() -> tuple[Reply | None, RawSession]:
        session = await RawSession.open(stack.smtp_port, timeout=30)
        await session.send(b"EHLO early.example\r\n")
        banner = await session.reply()
        await session.close()
        return banner, session

    banner, session = asyncio.run(early())
    # Exempt clients (GreetPause:<addr> 0 in the access map) are greeted at once: then the
    # pause does not apply to this one, and the test says so.
    not_applicable_unless(banner is None or banner.code != SMTPStatus.ready,
                          f"the access map exempts the test client from the pause:\n{session}")
    # 554 in a greeting: RFC 5321's "No SMTP service here" (aiosmtplib names the code transaction_failed).
    assert banner is not None and banner.code == SMTPStatus.transaction_failed, session
    # sendmail logs it as it drops the client; syslog hands the line on a moment later.
    poll_until(lambda: "pre-greeting traffic" in stack.logs("rx"), timeout=15, interval=0.25,
               what="MTA-RX to log the pre-greeting traffic", evidence=lambda: f"{session}\n{stack.logs('rx')[-2000:]}")


async def _greeting(session: RawSession) -> str:
    try:
        reply = await session.reply()
    except TimeoutError:
        return f"<no greeting within {session.timeout:.0f} s>"
    return str(reply) if reply else "<closed without a reply>"


def test_many_idle_connections_are_each_greeted_and_do_not_lock_out_others(stack: Stack, policy: Policy) -> None:
    """Each of many idle connections gets its 220 greeting, and a probe still gets through.
    Beyond MaxDaemonChildren sendmail hangs up on new clients without a word, by design,
    so with a limit the test holds a few fewer connections than it allows."""
    limit = max_daemon_children(stack)
    count = min(IDLE_CONNECTIONS, limit - 5) if limit else IDLE_CONNECTIONS
    not_applicable_unless(count >= 10, f"MaxDaemonChildren={limit} leaves no room for 10 idle connections")

    # With ConnectionRateThrottle=N sendmail accepts N connections a second and lets the
    # rest wait in the listen queue, and beyond its backlog in the clients' SYN retries:
    # the connections then come N at a time, each group greeted before the next opens.
    throttle = stack.rx.compiled().number("ConnectionRateThrottle", 0)
    group = throttle if throttle > 0 else count

    async def hold_and_probe() -> list[str]:
        sessions, greetings = [], []
        for start in range(0, count, group):
            opened = await asyncio.gather(*(RawSession.open(stack.smtp_port) for _ in range(min(group, count - start))))
            greetings += await asyncio.gather(*(_greeting(s) for s in opened))
            sessions += opened
        await asyncio.to_thread(assert_chain_still_delivers, stack, policy, "with-idle-connections")
        await asyncio.gather(*(s.close() for s in sessions))
        return greetings

    greetings = asyncio.run(hold_and_probe())
    others = [g for g in greetings if not g.startswith("220 ")]
    assert not others, (f"{len(others)} of {count} connections not greeted (MaxDaemonChildren={limit}, "
                        f"ConnectionRateThrottle={throttle}): {others[:3]}")
    HOSTILE.append(f"idle connections: {count} held, each greeted (MaxDaemonChildren={limit or 'none'})")


@pytest.fixture(scope="module", autouse=True)
def count_hostile_inputs(policy: Policy) -> Iterator[None]:
    """What this module tried, for the run's summary (tests/run_report.py)."""
    yield
    abusive = sum(len(lines(policy.local_domain.encode())) for lines in ABUSE.values()) + PIPELINED_FLOOD
    HOSTILE.append(
        f"hostile input (test_protocol_abuse.py): {len(SMUGGLING_ENDS)} smuggling end-of-data variants, {abusive} "
        f"abusive commands in {len(ABUSE) + 1} sessions, 1 stalled DATA, up to {IDLE_CONNECTIONS} idle connections")
