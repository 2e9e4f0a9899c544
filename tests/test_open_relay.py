"""The open relay battery: the classic ways to make a mail server relay, tried from outside
on 25 and 587, are each refused as relaying, and nothing reaches the sink."""

import asyncio
import re
from collections.abc import Iterator

import pytest

from harness import Stack, make_message, message_id_of, send_message
from harness.raw_smtp import RawSession
from harness.smtp import SMTPStatus
from siteconfig.policy import Policy
from tests.conftest import OUTSIDE_SENDER, REMOTE_DOMAIN, needs_submission
from tests.run_report import HOSTILE

pytestmark = pytest.mark.chain

VICTIM = f"victim@{REMOTE_DOMAIN}"
RELAY_REFUSED = r"550 5\.7\.\d+ "
PORTS = ["smtp_port", "submission_port"]


def relay_tricks(policy: Policy) -> list[tuple[str, str]]:
    """The classic ways to make a mail server relay, as (sender, recipient) against the
    policy's local domain: every one must be refused from outside, and refused as relaying
    (MAIL 250, then RCPT 550 5.7.x), so the relay decision is what the test sees, not an
    earlier refusal of something else."""
    local = policy.local_domain
    return [
        (OUTSIDE_SENDER, VICTIM),
        (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@{local}"),
        (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@{local.upper()}"),
        (OUTSIDE_SENDER, f"{REMOTE_DOMAIN}!victim@{local}"),
        (OUTSIDE_SENDER, f"\"victim@{REMOTE_DOMAIN}\"@{local}"),
        (OUTSIDE_SENDER, f"\"victim%{REMOTE_DOMAIN}\"@{local}"),
        (OUTSIDE_SENDER, f"@{local}:victim@{REMOTE_DOMAIN}"),
        (OUTSIDE_SENDER, f"@{local},@mail.{local}:victim@{REMOTE_DOMAIN}"),
        (OUTSIDE_SENDER, "victim@[192.0.2.10]"),
        (OUTSIDE_SENDER, f"victim%{REMOTE_DOMAIN}@[127.0.0.1]"),
        (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}."),
        (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN.upper()}"),
        (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}@{local}"),
        (OUTSIDE_SENDER, f"victim@{local}.{REMOTE_DOMAIN}"),
        (f"postmaster@{local}", VICTIM),
        (policy.address(policy.users.existing[0]), VICTIM),
        (f"postmaster@{local.upper()}", VICTIM),
        ("postmaster@[127.0.0.1]", VICTIM),
        ("", VICTIM),
        ("", f"victim%{REMOTE_DOMAIN}@{local}"),
        ("postmaster", VICTIM),
    ]


def refused_earlier(policy: Policy) -> dict[tuple[str, str], tuple[str, str, str]]:
    """The tricks that sendmail refuses before it judges relaying, and why: (sender,
    recipient) -> (the command refused, its reply, the reason). Every other trick must get
    MAIL 250 and RCPT 550 5.7.x."""
    return {
        ("postmaster", VICTIM): ("MAIL", r"553 5\.5\.4 ", "an SMTP sender needs a domain (\"Domain name required\")"),
        ("postmaster@[127.0.0.1]", VICTIM):
            ("MAIL", r"553 5\.5\.4 ", "an address literal is no sender domain (\"Real domain name required\")"),
        (OUTSIDE_SENDER, f"victim@{REMOTE_DOMAIN}@{policy.local_domain}"):
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
    if (reply is not None and reply.code < 400 and (data := await session.command(b"DATA"))
            and data.code == SMTPStatus.start_input):
        await session.send(message + b".\r\n")
        await session.reply()
    await session.command(b"QUIT")
    await session.close()
    return [str(r) if r else "<connection closed>" for r in replies], session


def relay_refusal_failure(sender: str, rcpt: str, replies: list[str],
                          earlier: dict[tuple[str, str], tuple[str, str, str]], *, delay_checks: bool = False,
                          auth_first: bool = False) -> str | None:
    """What is wrong with the replies to one trick, or None (`earlier`: refused_earlier).
    `auth_first`: the daemon wants AUTH before MAIL (M=a), so every trick gets 530 5.7.0 there.
    `delay_checks`: FEATURE(delay_checks) moves the sender's checks to RCPT, so a trick
    refused at MAIL for its sender gets MAIL 250 and then a 5xx at RCPT."""
    mail, rcpt_reply = replies[2], replies[3]
    if auth_first:
        return None if re.match(r"530 5\.7\.0 ", mail) else f"MAIL got {mail}; expected 530 5.7.0 (AUTH first: M=a)"
    if (sender, rcpt) in earlier:
        command, expected, why = earlier[(sender, rcpt)]
        if command == "MAIL" and delay_checks and mail.startswith("250 "):
            refused = rcpt_reply[:1] == "5"
            return None if refused else f"RCPT got {rcpt_reply}; expected 5xx ({why}, at RCPT: delay_checks)"
        got = mail if command == "MAIL" else rcpt_reply
        if command == "RCPT" and not mail.startswith("250 "):
            return f"MAIL was refused ({mail}); expected 250, then RCPT {expected} ({why})"
        return None if re.match(expected, got) else f"{command} got {got}; expected {expected} ({why})"
    if not mail.startswith("250 "):
        return f"MAIL got {mail}, so relaying was never judged; expected 250"
    if not re.match(RELAY_REFUSED, rcpt_reply):
        return f"RCPT got {rcpt_reply}; expected 550 5.7.x (relaying denied)"
    return None


@pytest.mark.parametrize("port_name", PORTS)
def test_the_open_relay_battery_from_outside_is_refused_as_relaying_and_nothing_reaches_the_sink(
    stack: Stack, policy: Policy, port_name: str
) -> None:
    if port_name == "submission_port":
        needs_submission(policy)
    port = getattr(stack, port_name)
    earlier = refused_earlier(policy)
    rx = stack.rx.compiled()
    delay_checks = "delay_checks" in rx.made_from
    msa = stack.shape.rx.msa
    auth_first = port_name == "submission_port" and msa is not None and "a" in msa.modifiers
    message_ids, failures = [], []
    for sender, rcpt in relay_tricks(policy):
        message = make_message(sender=sender or "MAILER-DAEMON", to=VICTIM, tag="relay-attempt")
        message_ids.append(message_id_of(message))
        replies, session = asyncio.run(_try_relay(port, sender, rcpt, message.as_bytes()))
        failure = relay_refusal_failure(sender, rcpt, replies, earlier, delay_checks=delay_checks,
                                        auth_first=auth_first)
        if failure is not None:
            failures.append(f"MAIL FROM:<{sender}> RCPT TO:<{rcpt}>: {failure}\n{session}")
    assert not failures, "\n\n".join(failures)
    # Mail that MTA-RX does relay (from the LAN) gets through; the attempts did not. Where it
    # relays for no client, a message to a local user shows the queues have moved on instead.
    local_sender = policy.address(policy.users.existing[0])
    if policy.relay.lan:
        probe = make_message(sender=local_sender, to=f"partner@{REMOTE_DOMAIN}", tag="relay-probe")
        assert send_message(probe, port=stack.office_port, mail_from=local_sender,
                            rcpt_to=[f"partner@{REMOTE_DOMAIN}"]).accepted
        stack.sink.wait_for(message_id_of(probe), timeout=120)
    else:
        probe = make_message(sender=OUTSIDE_SENDER, to=local_sender, tag="relay-probe")
        assert send_message(probe, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[local_sender]).accepted
        stack.tx.wait_for_mailbox(policy.users.existing[0], message_id_of(probe), timeout=120)
    arrived = {m.message_id for m in stack.sink.messages()}
    assert not arrived & set(message_ids), [stack.trail(m) for m in arrived & set(message_ids)]


@pytest.fixture(scope="module", autouse=True)
def count_relay_tricks(policy: Policy) -> Iterator[None]:
    """What this module tried, for the run's summary (tests/run_report.py)."""
    yield
    ports = len(PORTS) if policy.submission.enabled else 1
    HOSTILE.append(f"hostile input (test_open_relay.py): {len(relay_tricks(policy))} relay tricks on {ports} "
                   f"port{'s' if ports > 1 else ''}")
