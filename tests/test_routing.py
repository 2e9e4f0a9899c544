"""Where accepted mail goes: local users' mailboxes, and the Internet (the sink)."""

import re

import pytest

from harness import Stack, make_message, message_id_of, send_message
from tests.conftest import LOCAL_DOMAIN, OUTSIDE_SENDER, REMOTE_DOMAIN

pytestmark = pytest.mark.chain

_RECEIVED_ID = re.compile(r"with E?SMTP id ([0-9A-Za-z]{14})")


def test_clean_mail_to_a_local_user_goes_rx_then_amavis_then_tx_into_the_mailbox(stack: Stack) -> None:
    rcpt = f"alice@{LOCAL_DOMAIN}"
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="local")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)

    delivered = stack.wait_for_mailbox("alice", msgid)
    evidence = f"{result}\n{stack.trail(msgid)}\n{delivered}"
    assert delivered["X-Virus-Scanned"], evidence
    assert delivered["Return-Path"] == f"<{OUTSIDE_SENDER}>", evidence
    # Newest first: MTA-TX, then amavisd-new, then MTA-RX, each naming its queue.
    tx_hop, amavis_hop, rx_hop = (str(h) for h in delivered.get_all("Received")[:3])
    assert "(amavis, port 10024)" in amavis_hop, evidence
    rx_id = _RECEIVED_ID.search(rx_hop)
    tx_id = _RECEIVED_ID.search(tx_hop)
    assert rx_id and rx_id.group(1) == result.queue_id, evidence
    assert tx_id, evidence
    for instance, queue_id in (("rx", rx_id.group(1)), ("tx", tx_id.group(1))):
        logged = rf"sm-mta-{instance}\[\d+\]: {queue_id}: from=.*msgid=<{re.escape(msgid)}>"
        assert re.search(logged, stack.logs(instance)), evidence


def test_mail_for_a_remote_domain_from_a_trusted_lan_client_is_relayed_to_the_internet(stack: Stack) -> None:
    sender, rcpt = f"bob@{LOCAL_DOMAIN}", f"carol@{REMOTE_DOMAIN}"
    message = make_message(sender=sender, to=rcpt, tag="relay")
    result = send_message(message, port=stack.office_port, mail_from=sender, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)

    arrived = stack.wait_for_sink(msgid)
    raw = stack.sink.raw(arrived[0].id)
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert len(arrived) == 1, evidence
    assert arrived[0].recipients == [rcpt] and arrived[0].sender == sender, evidence
    assert b"X-Virus-Scanned:" in raw and b"(amavis, port 10024)" in raw, evidence
