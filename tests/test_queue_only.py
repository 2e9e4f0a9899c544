"""Queue-only delivery at MTA-RX: accepting mail never waits for amavisd-new."""

import pytest

from harness import Stack, make_message, message_id_of, poll_until, send_message
from tests.conftest import LOCAL_DOMAIN, OUTSIDE_SENDER

pytestmark = pytest.mark.chain


@pytest.mark.usefixtures("amavis_restored")
def test_mail_accepted_while_amavis_is_stopped_waits_in_the_rx_queue_and_is_delivered_once(stack: Stack) -> None:
    rcpt = f"bob@{LOCAL_DOMAIN}"
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="queued")
    msgid = message_id_of(message)
    stack.stop("amavis")

    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted and result.queue_id, result
    # A queue runner tried amavisd-new, failed, and kept the message.
    deferred = poll_until(
        lambda: [e for e in stack.rx_queue() if e.queue_id == result.queue_id and "Deferred" in e.status],
        timeout=60, what=f"{result.queue_id} deferred in the RX queue", evidence=lambda: stack.trail(msgid))
    assert deferred[0].recipients == [rcpt], deferred
    assert not [m for m in stack.mailbox("bob") if msgid in str(m["Message-ID"])], stack.trail(msgid)

    stack.start("amavis")
    stack.wait_for_mailbox("bob", msgid, timeout=120)
    poll_until(lambda: all(e.queue_id != result.queue_id for e in stack.rx_queue()), timeout=60,
               what=f"{result.queue_id} to leave the RX queue", evidence=lambda: stack.trail(msgid))
    copies = [m for m in stack.mailbox("bob") if msgid in str(m["Message-ID"])]
    assert len(copies) == 1, stack.trail(msgid)
