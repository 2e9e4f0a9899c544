"""Content filtering by amavisd-new with SpamAssassin and ClamAV, per the configured destinies:
spam tagged below the kill level and blocked at it, viruses and banned files blocked and
quarantined, notifications through MTA-TX, spam lovers served, quarantine released."""

import io
import zipfile
from email.message import EmailMessage

import pytest

from harness import SmtpResult, Stack, make_message, message_id_of, poll_until, send_message
from harness.payloads import EICAR, GTUBE, SCORE_10_MARKER
from siteconfig.policy import Policy
from tests.claims import differs_by_design
from tests.conftest import People, not_applicable_unless

pytestmark = pytest.mark.chain


def checked(policy: Policy) -> None:
    not_applicable_unless(policy.content.checked, "the policy has content checks off (content.checked = false)")


def destiny(policy: Policy, kind: str, tested: str) -> None:
    """These tests pin down the sample's destinies; another policy's are not what they check."""
    checked(policy)
    configured = getattr(policy.content, kind)
    not_applicable_unless(configured == tested, f"the policy's {kind} destiny is {configured}; this checks {tested}")


def send(stack: Stack, people: People, message: EmailMessage | bytes, rcpts: list[str]) -> SmtpResult:
    """From people.sender, a local sender, so any DSN to it lands in a mailbox we read."""
    result = send_message(message, port=stack.smtp_port, mail_from=people.address(people.sender), rcpt_to=rcpts)
    assert result.accepted, result
    return result


def dsns_about(stack: Stack, people: People, msgid: str) -> list[EmailMessage]:
    """Delivery status notifications in the sender's mailbox that quote the message."""
    return [m for m in stack.tx.mailbox(people.sender)
            if m.get_content_type() == "multipart/report" and msgid in m.as_string()]


def assert_not_bounced(stack: Stack, people: People, msgid: str, evidence: str) -> None:
    """No DSN about the message reaches its sender. A DSN would be on its way before the
    verdict is logged; a control message sent after the verdict, through the whole chain to
    the same mailbox, must arrive first, so its arrival shows that the wait was long enough."""
    sender = people.address(people.sender)
    control = make_message(sender=sender, to=sender, tag="dsn-control")
    send(stack, people, control, [sender])
    stack.tx.wait_for_mailbox(people.sender, message_id_of(control))
    assert not dsns_about(stack, people, msgid), evidence


def with_attachment(people: People, payload: bytes, filename: str, *, tag: str) -> EmailMessage:
    message = make_message(sender=people.address(people.sender), to=people.address(people.reader), tag=tag)
    message.add_attachment(payload, maintype="application", subtype="octet-stream", filename=filename)
    return message


def zipped(name: str, content: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def test_clean_mail_gets_virus_scanned_and_spam_status_headers_for_local_recipients(
    stack: Stack, policy: Policy, people: People
) -> None:
    checked(policy)
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = make_message(sender=sender, to=reader, tag="clean")
    send(stack, people, message, [reader])
    delivered = stack.tx.wait_for_mailbox(people.reader, message_id_of(message))
    assert delivered["X-Virus-Scanned"] and delivered["X-Spam-Score"] is not None, delivered
    assert str(delivered["X-Spam-Status"]).startswith("No,"), delivered
    assert [v.category for v in stack.amavis.verdicts(message_id_of(message))] == ["CLEAN"]


def test_spam_below_the_kill_level_is_delivered_tagged(stack: Stack, policy: Policy, people: People) -> None:
    checked(policy)
    sender, reader = people.address(people.sender), people.address(people.reader)
    body = f"{SCORE_10_MARKER}\n"
    message = make_message(sender=sender, to=reader, subject="quarterly offer", body=body, tag="spammy")
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    evidence = stack.trail(msgid)
    assert delivered["X-Spam-Flag"] == "YES", evidence
    assert str(delivered["Subject"]).startswith("***Spam*** quarterly offer"), evidence
    assert str(delivered["X-Spam-Status"]).startswith("Yes,") and "TESTBED_SCORE_10" in str(delivered["X-Spam-Status"])


def test_spam_at_the_kill_level_is_blocked_quarantined_and_not_bounced(
    stack: Stack, policy: Policy, people: People
) -> None:
    destiny(policy, "spam", "discard")
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = make_message(sender=sender, to=reader, body=f"{GTUBE}\n", tag="gtube")
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    (verdict,) = stack.amavis.wait_for_verdicts(msgid)
    evidence = f"{verdict}\n{stack.trail(msgid)}"
    assert (verdict.action, verdict.category) == ("Blocked", "SPAM"), evidence
    assert "DiscardedInbound" in verdict.flags and verdict.quarantine in stack.amavis.quarantine(), evidence
    assert_not_bounced(stack, people, msgid, evidence)
    assert not stack.tx.copies(people.reader, msgid), evidence


@pytest.mark.parametrize("form", ["attachment", "zipped", "inline"])
def test_a_virus_is_blocked_quarantined_and_reported_to_the_admin_but_not_the_sender(
    stack: Stack, policy: Policy, people: People, form: str
) -> None:
    destiny(policy, "virus", "discard")
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = {
        "attachment": lambda: with_attachment(people, EICAR.encode(), "report.bin", tag="virus-attachment"),
        "zipped": lambda: with_attachment(people, zipped("report.txt", EICAR), "report.zip", tag="virus-zipped"),
        "inline": lambda: make_message(sender=sender, to=reader, body=f"{EICAR}\n", tag="virus-inline"),
    }[form]()
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    (verdict,) = stack.amavis.wait_for_verdicts(msgid)
    evidence = f"{verdict}\n{stack.trail(msgid)}"
    assert (verdict.action, verdict.category) == ("Blocked", "INFECTED") and "Eicar" in verdict.detail, evidence
    assert verdict.quarantine in stack.amavis.quarantine(), evidence
    # The virus admin (virusalert -> content.admin) is told, through $notify_method and MTA-TX.
    notice = poll_until(lambda: [m for m in stack.tx.mailbox(people.admin) if msgid in m.as_string()], timeout=60,
                        what=f"the virus notification in {people.admin}'s mailbox",
                        evidence=lambda: stack.trail(msgid))
    assert str(notice[0]["Subject"]).startswith("VIRUS (Eicar"), evidence
    # $final_virus_destiny is D_DISCARD: no DSN to the sender, nothing delivered.
    assert_not_bounced(stack, people, msgid, evidence)
    assert not stack.tx.copies(people.reader, msgid), evidence


@pytest.mark.parametrize("filename", ["setup.exe", "invoice.pdf.exe"])
def test_a_banned_attachment_is_blocked_and_the_sender_gets_a_bounce(
    stack: Stack, policy: Policy, people: People, filename: str
) -> None:
    destiny(policy, "banned", "bounce")
    reader = people.address(people.reader)
    message = with_attachment(people, b"MZ pretend program", filename, tag="banned")
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    (verdict,) = stack.amavis.wait_for_verdicts(msgid)
    evidence = f"{verdict}\n{stack.trail(msgid)}"
    assert (verdict.action, verdict.category) == ("Blocked", "BANNED") and filename in verdict.detail, evidence
    assert verdict.quarantine in stack.amavis.quarantine(), evidence
    # $final_banned_destiny is D_BOUNCE: the sender gets a DSN, the recipient nothing.
    poll_until(lambda: dsns_about(stack, people, msgid), timeout=60, what="a DSN to the sender",
               evidence=lambda: stack.trail(msgid))
    assert not stack.tx.copies(people.reader, msgid), evidence


def test_a_spam_lover_gets_spam_tagged_while_the_other_recipient_gets_nothing(
    stack: Stack, policy: Policy, people: People
) -> None:
    destiny(policy, "spam", "discard")
    sender, reader, lover = (people.address(user) for user in (people.sender, people.reader, people.lover))
    message = make_message(sender=sender, to=[reader, lover], body=f"{GTUBE}\n", tag="lovers")
    send(stack, people, message, [reader, lover])
    msgid = message_id_of(message)
    verdicts = {v.recipients: v.action for v in stack.amavis.wait_for_verdicts(msgid, recipients=2)}
    seen_as = policy.domains.rewritten_to or policy.local_domain  # how amavisd-new sees local recipients
    expected = {(f"{people.reader}@{seen_as}",): "Blocked", (f"{people.lover}@{seen_as}",): "Passed"}
    assert verdicts == expected, stack.trail(msgid)
    delivered = stack.tx.wait_for_mailbox(people.lover, msgid)
    assert delivered["X-Spam-Flag"] == "YES", stack.trail(msgid)
    assert not stack.tx.copies(people.reader, msgid), stack.trail(msgid)


def test_a_header_with_8bit_bytes_is_a_bad_header_and_passed_with_an_alert(
    stack: Stack, policy: Policy, people: People
) -> None:
    destiny(policy, "bad_header", "pass")
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = make_message(sender=sender, to=reader, subject="menu du jour", tag="badheader")
    raw = message.as_bytes().replace(b"Subject: menu du jour", b"Subject: menu du jour caf\xe9", 1)
    send(stack, people, raw, [reader])
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)  # $final_bad_header_destiny is D_PASS
    (verdict,) = stack.amavis.verdicts(msgid)
    assert verdict.category.startswith("BAD-HEADER"), stack.trail(msgid)
    assert "BAD HEADER" in str(delivered["X-Amavis-Alert"]), stack.trail(msgid)


def test_a_message_without_date_gets_one_from_mta_rx_before_it_is_checked(
    stack: Stack, people: People, request: pytest.FixtureRequest
) -> None:
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = make_message(sender=sender, to=reader, tag="nodate")
    del message["Date"]
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    assert delivered["Date"], stack.trail(msgid)
    bad = [v for v in stack.amavis.verdicts(msgid) if v.category.startswith("BAD-HEADER")]
    if stack.topology.name == "milter":
        # The milter hands amavisd-new the header as the client sent it; sendmail adds Date to
        # what it queues, after the milter has seen it.
        assert bad, stack.trail(msgid)
        differs_by_design(request, "amavisd-new checks the message as the receiving MTA completed it",
                          f"amavisd-new saw it without Date: {bad[0].category} ({bad[0].action})")
        return
    assert not bad, stack.trail(msgid)


def test_a_quarantined_message_can_be_listed_released_and_then_arrives(
    stack: Stack, policy: Policy, people: People
) -> None:
    destiny(policy, "spam", "discard")  # GTUBE is spam at the kill level: quarantined, not delivered
    sender, reader = people.address(people.sender), people.address(people.reader)
    message = make_message(sender=sender, to=reader, body=f"{GTUBE}\n", tag="release")
    send(stack, people, message, [reader])
    msgid = message_id_of(message)
    (verdict,) = stack.amavis.wait_for_verdicts(msgid)
    assert verdict.quarantine in stack.amavis.quarantine(), stack.trail(msgid)
    assert not stack.tx.copies(people.reader, msgid)

    stack.amavis.release(verdict.quarantine)

    released = stack.tx.wait_for_mailbox(people.reader, msgid)
    assert GTUBE in released.get_content(), stack.trail(msgid)
    assert len(stack.tx.copies(people.reader, msgid)) == 1
