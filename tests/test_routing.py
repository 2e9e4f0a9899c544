"""Where accepted mail goes: local users' mailboxes, and the Internet (the sink)."""

import re
import shlex

import pytest

from harness import Stack, make_message, message_id_of, poll_until, send_message
from harness.payloads import GTUBE
from harness.smtp import SMTPStatus
from siteconfig.policy import Policy
from tests.claims import dual_chain_only
from tests.conftest import NONE, OUTSIDE_SENDER, REMOTE_DOMAIN, People, needs_lan_relay, not_applicable_unless

pytestmark = pytest.mark.chain

_RECEIVED_ID = re.compile(r"with E?SMTP id ([0-9A-Za-z]{14})")


def test_clean_mail_to_a_local_user_goes_rx_then_amavis_then_tx_into_the_mailbox(stack: Stack, people: People) -> None:
    dual_chain_only("one hop: the MTA's milter asks amavisd-new during the session (tests/test_topologies.py)")
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="local")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)

    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    evidence = f"{result}\n{stack.trail(msgid)}\n{delivered}"
    assert delivered["X-Virus-Scanned"], evidence
    assert delivered["Return-Path"] == f"<{OUTSIDE_SENDER}>", evidence
    # Newest first: MTA-TX, then amavisd-new, then MTA-RX, each naming its queue.
    tx_hop, amavis_hop, rx_hop = (str(h) for h in delivered.get_all("Received")[:3])
    assert f"(amavis, port {stack.shape.amavis.port})" in amavis_hop, evidence
    rx_id = _RECEIVED_ID.search(rx_hop)
    tx_id = _RECEIVED_ID.search(tx_hop)
    assert rx_id and rx_id.group(1) == result.queue_id, evidence
    assert tx_id, evidence
    for instance, queue_id in (("rx", rx_id.group(1)), ("tx", tx_id.group(1))):
        logged = rf"sm-mta-{instance}\[\d+\]: {queue_id}: from=.*msgid=<{re.escape(msgid)}>"
        assert re.search(logged, stack.logs(instance)), evidence


def test_mail_for_a_remote_domain_from_a_trusted_lan_client_is_relayed_to_the_internet(
    stack: Stack, policy: Policy, people: People
) -> None:
    needs_lan_relay(policy)
    sender, rcpt = people.address(people.sender), f"friend@{REMOTE_DOMAIN}"
    message = make_message(sender=sender, to=rcpt, tag="relay")
    result = send_message(message, port=stack.office_port, mail_from=sender, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)

    arrived = stack.sink.wait_for(msgid)
    raw = stack.sink.raw(arrived[0].id)
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert len(arrived) == 1, evidence
    assert arrived[0].recipients == [rcpt] and arrived[0].sender == sender, evidence
    assert b"X-Virus-Scanned:" in raw, evidence
    if stack.topology.name == "dual":  # the milter topology has no hop through amavisd-new's port
        assert f"(amavis, port {stack.shape.amavis.port})".encode() in raw, evidence


def test_one_message_to_local_remote_and_unknown_recipients_reaches_each_valid_one_once(
    stack: Stack, policy: Policy, people: People
) -> None:
    needs_lan_relay(policy)
    sender = people.address(people.sender)
    local, remote = people.address(people.reader), f"partner@{REMOTE_DOMAIN}"
    # An unknown recipient only where the policy says MTA-RX refuses one (else MTA-TX bounces it).
    unknown = [policy.address(policy.users.nonexistent[0])] if policy.users.nonexistent else []
    message = make_message(sender=sender, to=[local, remote, *unknown], tag="mixed")
    result = send_message(message, port=stack.office_port, mail_from=sender, rcpt_to=[local, remote, *unknown])
    code, enhanced = policy.users.unknown_reply.split()
    for refused in unknown:
        assert result.rcpts[refused].code == int(code) and result.rcpts[refused].text.startswith(enhanced), result
    assert result.rcpts[local].code == result.rcpts[remote].code == SMTPStatus.completed, result
    assert result.accepted, result
    msgid = message_id_of(message)

    stack.tx.wait_for_mailbox(people.reader, msgid)
    arrived = stack.sink.wait_for(msgid)
    # Both copies are out; the receiving MTA's queue is empty of it, so nothing more can come.
    poll_until(lambda: all(e.queue_id != result.queue_id for e in stack.rx.queue()), timeout=60,
               what="the message to leave the RX queue", evidence=lambda: stack.trail(msgid))
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert [a.recipients for a in arrived] == [[remote]], evidence
    assert len(stack.tx.copies(people.reader, msgid)) == 1, evidence


def test_mail_from_the_sendmail_command_inside_mta_rx_is_content_checked_too(stack: Stack, people: People) -> None:
    rcpt = people.address(people.reader)
    message = make_message(sender=people.address("root"), to=rcpt, tag="command")
    # The submission program (MSP, submit.cf) hands it to MTA-RX on 127.0.0.1:25.
    stack.exec("rx", ["bash", "-c", f"printf %s {shlex.quote(message.as_string())} | sendmail -i -t"])
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    hops = [str(h) for h in delivered.get_all("Received")]
    assert delivered["X-Virus-Scanned"], stack.trail(msgid)
    if stack.topology.name == "dual":  # the milter topology's check is in the session, no hop
        assert any(f"(amavis, port {stack.shape.amavis.port})" in hop for hop in hops), stack.trail(msgid)
    else:
        assert re.search(rf"Passed CLEAN .*Message-ID: <{re.escape(msgid)}>", stack.logs("amavis")), stack.trail(msgid)


def test_the_chain_keeps_return_path_address_extensions_and_utf8_bodies_intact(
    stack: Stack, policy: Policy, people: People
) -> None:
    sender, rcpt = f"return.path+bounces@{REMOTE_DOMAIN}", people.address(f"{people.reader}+newsletters")
    body = "Grüße aus Köln, 東京, ünïcödé ✓ €\n"
    message = make_message(sender=sender, to=rcpt, body=body, tag="envelope")
    message.set_content(body, cte="8bit")
    result = send_message(message, port=stack.smtp_port, mail_from=sender, rcpt_to=[rcpt],
                          mail_options=["BODY=8BITMIME"])
    assert result.accepted, result
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert delivered["Return-Path"] == f"<{sender}>", evidence
    # Each hop names the envelope recipient it received, extension included (beyond MTA-RX
    # in the domain the policy says MTA-RX rewrites it to, if it does).
    assert delivered.get_content() == body, evidence
    if stack.topology.name != "dual":  # one MTA, one hop: its Received is checked below
        assert f"for <{rcpt}>" in str(delivered.get_all("Received")[0]).replace("\n", " "), evidence
        return
    beyond_rx = f"{people.reader}+newsletters@{policy.domains.rewritten_to or policy.local_domain}"
    tx_hop, amavis_hop, rx_hop = (str(h).replace("\n", " ") for h in delivered.get_all("Received")[:3])
    assert f"for <{rcpt}>" in rx_hop, evidence
    assert f"for <{beyond_rx}>" in amavis_hop and f"for <{beyond_rx}>" in tx_hop, evidence


def test_mail_to_a_domain_the_policy_leaves_unchecked_goes_straight_to_mta_tx(
    stack: Stack, policy: Policy, people: People, unchecked_domain: str
) -> None:
    needs_lan_relay(policy)
    not_applicable_unless(unchecked_domain != NONE,
                          "the policy has every domain content-checked (content.unchecked_domains is empty)")
    sender, rcpt = people.address(people.sender), f"partner@{unchecked_domain}"
    message = make_message(sender=sender, to=rcpt, body=GTUBE + "\n", tag="unchecked")  # spam, were it checked
    result = send_message(message, port=stack.office_port, mail_from=sender, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)
    arrived = stack.sink.wait_for(msgid, timeout=120)
    raw = stack.sink.raw(arrived[0].id)
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert b"X-Virus-Scanned:" not in raw and f"port {stack.shape.amavis.port}".encode() not in raw, evidence
    assert msgid not in stack.logs("amavis"), evidence
    assert re.search(rf"{result.queue_id}: to=<{re.escape(rcpt)}>.*relay=\[?127\.0\.0\.1\]? \[127\.0\.0\.1\].*"
                     r"stat=Sent", stack.logs("rx")), evidence


def test_mail_from_outside_to_a_relay_domain_of_the_policy_is_relayed(stack: Stack, relay_domain: str) -> None:
    not_applicable_unless(relay_domain != NONE, "the policy relays for no domain from outside (relay.domains)")
    rcpt = f"someone@{relay_domain}"
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="relay-domain")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    arrived = stack.sink.wait_for(message_id_of(message), timeout=120)
    assert arrived[0].recipients == [rcpt], f"{result}\n{stack.trail(message_id_of(message))}"
