"""The document's comparison, claim by claim: the milter setup (one sendmail, amavisd-new
asked through amavisd-milter during the SMTP session) against the dual-MTA chain
(README.sendmail-dual, its opening paragraphs). Each test runs on both topologies (make test
TOPOLOGY=dual|milter) and asserts what that topology does; where it differs from what the
test names, by design, it records the evidence (tests/claims.py), and the summary lists it.
"""

import asyncio
import re
import time
from collections.abc import Iterator

import pytest

from harness import SmtpResult, Stack, make_message, message_id_of, poll_until, send_message
from harness.payloads import EICAR, GTUBE
from harness.smtp import SMTPStatus, send_message_async
from siteconfig.policy import Policy
from tests.claims import differs_by_design, not_borne_out
from tests.conftest import REMOTE_DOMAIN, People, needs_lan_relay, not_applicable_unless
from tests.test_content_filter import assert_not_bounced, with_attachment

pytestmark = pytest.mark.chain

IN_SESSION = "the content filter's verdict reaches the client in its own SMTP session (5xx at the end of DATA)"
SPLIT = "only the dual-MTA setup removes some recipients while delivering to the rest (*_lovers)"
PER_RECIPIENT = "only the dual-MTA setup gives recipients of one message their own header edits"
DECOUPLED = "reception does not depend on the content filter: mail is taken while it is down or hung"
HOLD_S = 5  # the dual chain's bound on a transaction while amavisd-new is frozen (test_queue_only.py)
QUEUED_IN_DUAL = ("the dual chain takes the mail and queues it: tests/test_queue_only.py shows it, here the milter "
                  "topology's answer is tested")


def milter(stack: Stack) -> bool:
    return stack.topology.name == "milter"


def offer(stack: Stack, people: People, message: object, rcpts: list[str]) -> SmtpResult:
    """From people.sender, a local sender, so a DSN would land in a mailbox the tests read."""
    return send_message(message, port=stack.smtp_port, mail_from=people.address(people.sender), rcpt_to=rcpts)


@pytest.mark.parametrize("kind", ["virus", "spam", "banned"])
def test_a_virus_kill_level_spam_or_banned_file_is_refused_in_the_session_only_in_the_milter_setup(
    stack: Stack, policy: Policy, people: People, request: pytest.FixtureRequest, kind: str
) -> None:
    not_applicable_unless(policy.content.checked, "the policy has content checks off (content.checked = false)")
    destiny = getattr(policy.content, kind)
    reader = people.address(people.reader)
    if kind == "banned":
        message = with_attachment(people, b"MZ not really a program", "invoice.pdf.exe", tag="verdict-banned")
    else:
        message = make_message(sender=people.address(people.sender), to=reader, tag=f"verdict-{kind}",
                               body=f"{GTUBE if kind == 'spam' else EICAR}\n")
    msgid = message_id_of(message)
    result = offer(stack, people, message, [reader])
    evidence = f"{result}\n{stack.trail(msgid)}"
    if milter(stack):
        not_applicable_unless(destiny == "reject", f"the policy's milter {kind} destiny is {destiny} ([milter])")
        assert result.data is not None and result.data.code == SMTPStatus.transaction_failed \
            and result.data.text.startswith("5.7."), evidence
        assert_not_bounced(stack, people, msgid, evidence)  # refused, so nothing to bounce
        assert not stack.tx.copies(people.reader, msgid), evidence
        return
    # The dual chain: MTA-RX said 250 before amavisd-new looked; the verdict comes later.
    not_applicable_unless(destiny != "pass", f"the policy's {kind} destiny is pass: nothing to refuse")
    assert result.accepted, evidence
    (verdict,) = stack.amavis.wait_for_verdicts(msgid)
    assert verdict.action == "Blocked", stack.trail(msgid)
    assert not stack.tx.copies(people.reader, msgid), stack.trail(msgid)
    differs_by_design(request, IN_SESSION, f"MTA-RX answered '{result.data}' before amavisd-new looked; "
                      f"amavisd-new then {verdict.action} {verdict.category} (destiny {destiny}), out of the session")


def test_spam_to_a_lover_and_another_recipient_reaches_the_lover_only(
    stack: Stack, policy: Policy, people: People, request: pytest.FixtureRequest
) -> None:
    not_applicable_unless(policy.content.spam in ("discard", "reject"),
                          f"the policy's spam destiny is {policy.content.spam}: nobody's copy is held back")
    reader, lover = people.address(people.reader), people.address(people.lover)
    message = make_message(sender=people.address(people.sender), to=[reader, lover], body=f"{GTUBE}\n",
                           tag="split")
    msgid = message_id_of(message)
    result = offer(stack, people, message, [reader, lover])
    assert result.accepted, f"{result}\n{stack.trail(msgid)}"
    delivered = stack.tx.wait_for_mailbox(people.lover, msgid)
    stack.amavis.wait_for_verdicts(msgid, recipients=2 if not milter(stack) else 1)
    evidence = stack.trail(msgid)
    assert delivered["X-Spam-Flag"] == "YES", evidence
    assert not stack.tx.copies(people.reader, msgid), evidence
    if milter(stack):
        removed = re.findall(rf"{result.queue_id}: Milter \(amavisd-milter\) delete: rcpt <[^>]+>", stack.logs("rx"))
        assert removed, evidence
        not_borne_out(request, SPLIT, f"the client got 250 for both; amavisd-milter removed the other recipient "
                      f"({removed[0]}) and the lover got the message tagged (X-Spam-Flag: YES)")


def test_local_and_remote_recipients_of_one_message_get_their_own_header_edits(
    stack: Stack, policy: Policy, people: People, request: pytest.FixtureRequest
) -> None:
    """amavisd-new adds X-Spam-* header fields for local recipients only ($sa_tag_level_deflt
    applies to @local_domains_acl): a copy per kind of recipient, or one message for all."""
    needs_lan_relay(policy)
    sender, local, remote = people.address(people.sender), people.address(people.reader), f"partner@{REMOTE_DOMAIN}"
    message = make_message(sender=sender, to=[local, remote], tag="per-recipient")
    msgid = message_id_of(message)
    result = send_message(message, port=stack.office_port, mail_from=sender, rcpt_to=[local, remote])
    assert result.accepted, result
    local_copy = stack.tx.wait_for_mailbox(people.reader, msgid)
    remote_raw = stack.sink.raw(stack.sink.wait_for(msgid)[0].id)
    local_tagged, remote_tagged = bool(local_copy["X-Spam-Status"]), b"\nX-Spam-Status:" in remote_raw
    evidence = f"local copy tagged: {local_tagged}, remote copy tagged: {remote_tagged}\n{stack.trail(msgid)}"
    if not milter(stack):
        assert local_tagged and not remote_tagged, evidence
        return
    assert local_tagged or remote_tagged, evidence  # amavisd-new checked it, one way or the other
    if local_tagged and not remote_tagged:
        not_borne_out(request, PER_RECIPIENT, "the local copy got X-Spam-Status and the remote one did not")
    else:
        assert local_tagged == remote_tagged, evidence  # one message, one set of header fields
        what = ("carries the local recipient's X-Spam-Status" if remote_tagged
                else "and the local one both lack X-Spam-Status")
        differs_by_design(request, PER_RECIPIENT, f"one message for both recipients: the remote copy {what}")


@pytest.fixture
def daemons_back(stack: Stack) -> Iterator[None]:
    """amavisd-new and the milter running and unfrozen again after the test."""
    yield
    for service in ("amavis", *(("milter",) if milter(stack) else ())):
        container = stack.container(service)
        container.reload()
        if container.status == "paused":
            stack.unpause(service)
        elif container.status != "running":
            stack.start(service)


@pytest.mark.usefixtures("daemons_back")
@pytest.mark.parametrize("down", ["amavis", "milter"])
def test_with_the_filter_down_mail_is_taken_and_queued_or_the_client_is_told_to_retry(
    stack: Stack, people: People, request: pytest.FixtureRequest, down: str
) -> None:
    if down == "milter":
        not_applicable_unless(milter(stack), "the dual chain has no helper program between sendmail and amavisd-new")
    not_applicable_unless(milter(stack), QUEUED_IN_DUAL)
    reader = people.address(people.reader)
    message = make_message(sender=people.address(people.sender), to=reader, tag=f"{down}-down")
    msgid = message_id_of(message)
    stack.stop(down)
    result = offer(stack, people, message, [reader])
    # Nothing was acknowledged: the client still holds the message and must retry. With the
    # milter itself down sendmail refuses at MAIL FROM already (F=T); amavisd-new down, at DATA.
    refusal = result.data or result.mail
    assert refusal is not None and 400 <= refusal.code < 500, f"{result}\n{stack.trail(msgid)}"
    assert not stack.tx.copies(people.reader, msgid)
    stack.start(down)
    retried = poll_until(lambda: (r := offer(stack, people, message, [reader])).accepted and r, timeout=60,
                         interval=2, what="the retried message to be accepted", evidence=lambda: stack.trail(msgid))
    stack.tx.wait_for_mailbox(people.reader, msgid)
    assert len(stack.tx.copies(people.reader, msgid)) == 1, f"{retried}\n{stack.trail(msgid)}"
    step = "the end of DATA" if result.data else "MAIL FROM"
    differs_by_design(request, DECOUPLED, f"with {down} stopped the client got '{refusal.code} {refusal.text}' "
                      f"at {step} and had to send again")


@pytest.mark.usefixtures("daemons_back")
def test_with_amavisd_new_hung_the_client_waits_for_its_250_only_in_the_milter_setup(
    stack: Stack, people: People, request: pytest.FixtureRequest
) -> None:
    not_applicable_unless(milter(stack), QUEUED_IN_DUAL)
    reader = people.address(people.reader)
    message = make_message(sender=people.address(people.sender), to=reader, tag="amavis-hung")
    msgid = message_id_of(message)
    before = _milter_work(stack)  # left by earlier tests: not this message's
    stack.pause("amavis")  # a hang: its socket still takes connections, nothing answers

    async def observe() -> tuple[SmtpResult, float, bool]:
        started = time.monotonic()
        sending = asyncio.ensure_future(send_message_async(
            message, port=stack.smtp_port, mail_from=people.address(people.sender), rcpt_to=[reader], timeout=300))
        # The milter has written the message for amavisd-new: the client is now at the end of
        # DATA. Watched for as long as the dual chain takes for a whole transaction while
        # amavisd-new is frozen (HOLD_S), it must get no reply; then amavisd-new is let go.
        deadline = time.monotonic() + 60
        while not (await asyncio.to_thread(_milter_work, stack)) - before:
            assert time.monotonic() < deadline and not sending.done(), (
                f"the milter never got the message\n{stack.trail(msgid)}")
            await asyncio.sleep(0.2)
        try:
            await asyncio.wait_for(asyncio.shield(sending), timeout=HOLD_S)
            waiting = False  # answered while amavisd-new was frozen
        except TimeoutError:
            waiting = True
        await asyncio.to_thread(stack.unpause, "amavis")
        return await sending, time.monotonic() - started, waiting

    result, elapsed, waited = asyncio.run(observe())
    evidence = f"{result}\n{stack.trail(msgid)}"
    assert waited and result.accepted, evidence
    stack.tx.wait_for_mailbox(people.reader, msgid)
    differs_by_design(request, DECOUPLED, f"with amavisd-new frozen the client got no reply to its DATA for "
                      f"{HOLD_S} s (watched that long); its 250 came {elapsed:.1f} s after it began, once "
                      "amavisd-new was let go")


def _milter_work(stack: Stack) -> set[str]:
    """amavisd-milter keeps each message it hands amavisd-new in a directory of its work area."""
    return set(stack.exec("milter", ["sh", "-c", "ls /var/lib/amavis/milter/tmp/ 2>/dev/null; true"]).split())
