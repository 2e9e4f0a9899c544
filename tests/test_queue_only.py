"""Queue-only delivery at MTA-RX, the reason this design exists: accepting mail never waits
for amavisd-new, and only the R queue runners talk to it, however many clients arrive."""

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from harness import Stack, make_message, message_id_of, poll_until, send_message
from harness.smtp import send_message_async
from siteconfig.policy import Policy
from siteconfig.run_settings import ChainSettings
from tests.claims import dual_chain_only
from tests.conftest import OUTSIDE_SENDER, People

pytestmark = pytest.mark.chain


@pytest.fixture(autouse=True)
def _dual_chain() -> None:
    dual_chain_only("no queue between reception and the filter: tests/test_topologies.py checks what clients "
                    "get there while amavisd-new is down or hung")


def smtp_mailer_maxmsgs(stack: Stack) -> int:
    """m= (SMTP_MAILER_MAXMSGS) of the mailer MTA-RX reaches amavisd-new by, as built."""
    return stack.rx.compiled().maxmsgs("esmtp")


@pytest.fixture
def amavis_unpaused(stack: Stack) -> Iterator[None]:
    yield
    container = stack.container("amavis")
    container.reload()
    if container.status == "paused":
        stack.unpause("amavis")


def delivered_ids(stack: Stack, users: list[str], msgids: set[str]) -> set[str]:
    found = set()
    for user in users:
        found.update(str(m["Message-ID"]).strip("<>") for m in stack.tx.mailbox(user))
    return found & msgids


@pytest.mark.usefixtures("amavis_restored")
def test_mail_accepted_while_amavis_is_stopped_waits_in_the_rx_queue_and_is_delivered_once(
    stack: Stack, people: People
) -> None:
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="queued")
    msgid = message_id_of(message)
    stack.stop("amavis")

    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted and result.queue_id, result
    # A queue runner tried amavisd-new, failed, and kept the message.
    deferred = poll_until(
        lambda: [e for e in stack.rx.queue() if e.queue_id == result.queue_id and "Deferred" in e.status],
        timeout=60, what=f"{result.queue_id} deferred in the RX queue", evidence=lambda: stack.trail(msgid))
    assert deferred[0].recipients == [rcpt], deferred
    assert not stack.tx.copies(people.reader, msgid), stack.trail(msgid)

    stack.start("amavis")
    # The persistent runners' retry, not a queue run the wait asks for, must bring it.
    stack.tx.wait_for_mailbox(people.reader, msgid, timeout=120, ask_queue_run=False)
    poll_until(lambda: all(e.queue_id != result.queue_id for e in stack.rx.queue()), timeout=60,
               what=f"{result.queue_id} to leave the RX queue", evidence=lambda: stack.trail(msgid))
    assert len(stack.tx.copies(people.reader, msgid)) == 1, stack.trail(msgid)


@pytest.mark.usefixtures("amavis_unpaused")
def test_mta_rx_says_250_to_data_at_once_while_amavis_hangs_and_holds_the_message_until_it_answers(
    stack: Stack, people: People
) -> None:
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="stalled")
    msgid = message_id_of(message)
    stack.pause("amavis")  # a hang: its port still accepts connections, nothing answers

    started = time.monotonic()
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    elapsed = time.monotonic() - started
    assert result.accepted, result
    # Delivery in the SMTP session would wait for amavisd-new's greeting (minutes).
    # ... plus the greeting pause the site's MTA-RX keeps (FEATURE(greet_pause)), by design.
    pause = stack.rx.compiled().greet_pause
    assert elapsed < 5 + pause, f"the transaction took {elapsed:.1f} s (greeting pause {pause:g} s)\n{result}"
    assert [e for e in stack.rx.queue() if e.queue_id == result.queue_id], stack.trail(msgid)

    stack.unpause("amavis")
    stack.tx.wait_for_mailbox(people.reader, msgid, timeout=120, ask_queue_run=False)


@dataclass
class Burst:
    peak_connections: int
    samples: list[int]
    messages_per_connection: list[int]
    msgids: set[str]


def run_burst(stack: Stack, policy: Policy, *, messages: int = 30, sessions: int = 30) -> Burst:
    """Hold amavisd-new, send a burst over many concurrent sessions, release it, and watch
    MTA-RX's connections to amavisd-new (10024 in the sample) while the queue drains. 30 messages from 30 clients at
    once are many times the runners (2-4) and more than one connection's m= (10) carries, so
    every runner has work and connections carry several; each costs amavisd-new a
    SpamAssassin pass, so more only makes the test slower."""
    users = policy.mailboxes
    stack.pause("amavis")
    batch = [make_message(sender=OUTSIDE_SENDER, to=policy.address(users[i % len(users)]), tag="burst")
             for i in range(messages)]
    gate = asyncio.Semaphore(sessions)

    async def one(message) -> bool:  # type: ignore[no-untyped-def]
        async with gate:
            result = await send_message_async(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER,
                                              rcpt_to=[str(message["To"])])
            return result.accepted

    async def all_of_them() -> list[bool]:
        return await asyncio.gather(*(one(m) for m in batch))

    assert all(asyncio.run(all_of_them())), "MTA-RX refused part of the burst"
    samples: list[int] = []
    port = stack.shape.amavis.port
    sampler = threading.Thread(target=lambda: samples.extend(stack.rx.sample_connections(port, seconds=180)))
    sampler.start()
    stack.unpause("amavis")
    sampler.join()
    msgids = {message_id_of(m) for m in batch}
    poll_until(lambda: delivered_ids(stack, users, msgids) == msgids, timeout=120, interval=1,
               what="every message of the burst in a mailbox")
    per_connection = [v.messages_in_session for msgid in msgids for v in stack.amavis.verdicts(msgid)]
    return Burst(max(samples, default=0), samples, per_connection, msgids)


@pytest.mark.slow
@pytest.mark.usefixtures("amavis_unpaused")
def test_mta_rx_opens_no_more_connections_to_amavis_than_queue_runners_and_amavis_children(
    stack: Stack, policy: Policy
) -> None:
    burst = run_burst(stack, policy)
    runners, children = stack.rx.queue_runners, stack.amavis.children()
    evidence = f"R={runners}, amavisd-new children={children}, connection samples={burst.samples}"
    assert 1 <= burst.peak_connections <= runners, evidence
    assert burst.peak_connections <= children, evidence
    # SMTP_MAILER_MAXMSGS: a connection carries up to that many messages, and does carry several.
    maxmsgs = smtp_mailer_maxmsgs(stack)
    if maxmsgs:  # 0: no SMTP_MAILER_MAXMSGS, no limit to check
        assert max(burst.messages_per_connection) <= maxmsgs, burst.messages_per_connection
    assert max(burst.messages_per_connection) > 1, burst.messages_per_connection


@pytest.mark.slow
def test_more_queue_runners_and_amavis_children_show_as_more_concurrent_connections(policy: Policy) -> None:
    with Stack(settings=ChainSettings(workers=4)) as wider:  # and as many queue runners
        assert (wider.rx.queue_runners, wider.amavis.children()) == (4, 4)
        burst = run_burst(wider, policy)
    assert 2 < burst.peak_connections <= 4, f"connection samples={burst.samples}"
