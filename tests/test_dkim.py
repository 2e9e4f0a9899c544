"""DKIM where the document places it (its 2006 update): OpenDKIM signs at MTA-TX, after
amavisd-new, and verifies at MTA-RX, whose Authentication-Results header then travels
through amavisd-new.

Signatures are verified with dkimpy against the record the testbed's DNS serves (dig in the
chain's DNS container), as a receiver on the Internet would. Mail from outside is signed
with the outside world's key, which the same DNS publishes for remote.example."""

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from harness import Stack, make_message, message_id_of, poll_until, send_message
from harness.dkim import authentication_results, outside_key, sign, signatures, start_milter, stop_milter, verify
from siteconfig.dkimkeys import OUTSIDE_SELECTOR
from siteconfig.dnsworld import CHAIN_HOST
from siteconfig.policy import Dkim, Policy
from tests.claims import dual_chain_only
from tests.conftest import OUTSIDE_SENDER, REMOTE_DOMAIN, People, not_applicable_unless

pytestmark = pytest.mark.chain

AUTHSERV_ID = CHAIN_HOST  # rx/opendkim.conf AuthservID: the chain's own name


@dataclass(frozen=True)
class Arrival:
    message_id: str
    raw: bytes  # as it arrived (sink) or as mail.local stored it (mailbox)


def evidence(stack: Stack, arrival: Arrival) -> str:
    """What a failing DKIM test shows: the message's headers as they arrived, its trail
    through the daemons' logs (sendmail's milter lines and OpenDKIM's carry its queue ID),
    and OpenDKIM's own last lines in both MTAs."""
    head = arrival.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode(errors="replace")
    milters = "\n".join(f"--- opendkim in {service} ---\n" + "\n".join(
        line for line in stack.logs(service, tail=400).splitlines() if "opendkim" in line.lower())[-3000:]
        for service in ("rx", "tx"))
    return f"headers as arrived:\n{head}\n{stack.trail(arrival.message_id)}\n{milters}"


@pytest.fixture(scope="module")
def dkim(policy: Policy) -> Dkim:
    """What the policy states about DKIM; every test here is not applicable without it."""
    dual_chain_only("no DKIM milters: DKIM is tested on the dual chain, where the document places it")
    not_applicable_unless(policy.dkim is not None, "the policy states no [dkim]")
    assert policy.dkim is not None
    return policy.dkim


def signing_login(dkim: Dkim, login: tuple[str, str]) -> tuple[str, str]:
    """The submission account, when its domain is one MTA-TX signs for."""
    not_applicable_unless(bool(dkim.signing_domains), "the policy signs nothing (dkim.signing_domains = [])")
    domain = login[0].rpartition("@")[2].lower()
    not_applicable_unless(domain in [d.lower().rstrip(".") for d in dkim.signing_domains],
                          f"the submission login's domain {domain} is not in dkim.signing_domains")
    return login


def submit(stack: Stack, login: tuple[str, str], rcpt: str, tag: str) -> EmailMessage:
    message = make_message(sender=login[0], to=rcpt, tag=tag)
    result = send_message(message, port=stack.submission_port, mail_from=login[0], rcpt_to=[rcpt],
                          starttls=True, login=login)
    assert result.accepted, result
    return message


@pytest.fixture(scope="module")
def outgoing(stack: Stack, dkim: Dkim, submission_login_once: tuple[str, str]) -> Arrival:
    """One message submitted on 587 to a remote address, as the sink received it."""
    message = submit(stack, signing_login(dkim, submission_login_once), f"partner@{REMOTE_DOMAIN}", "dkim-out")
    arrived = stack.sink.wait_for(message_id_of(message), timeout=90)
    return Arrival(message_id_of(message), stack.sink.raw(arrived[0].id))


@pytest.fixture(scope="module")
def submission_login_once(policy: Policy) -> tuple[str, str]:
    not_applicable_unless(policy.submission.enabled and bool(policy.submission.login),
                          "the policy has no submission account (submission.login)")
    return policy.submission_login


def test_mail_submitted_to_a_remote_address_leaves_mta_tx_with_a_signature_of_the_senders_domain(
    stack: Stack, policy: Policy, dkim: Dkim, outgoing: Arrival
) -> None:
    found = signatures(outgoing.raw)
    domain = policy.submission.login.rpartition("@")[2]
    assert [(s.domain, s.selector) for s in found] == [(domain, dkim.selector)], evidence(stack, outgoing)


def test_the_signature_covers_from_subject_and_the_whole_body(stack: Stack, outgoing: Arrival) -> None:
    signature = signatures(outgoing.raw)[0]
    assert {"from", "subject"} <= set(signature.headers), evidence(stack, outgoing)
    assert signature.body_length is None, evidence(stack, outgoing)  # no l=: nothing can be appended unsigned


def test_the_signature_verifies_against_the_key_the_testbeds_dns_publishes(stack: Stack, outgoing: Arrival) -> None:
    assert verify(stack, outgoing.raw), evidence(stack, outgoing)


@pytest.mark.parametrize("alteration", ["body", "subject"])
def test_the_signed_message_altered_after_signing_no_longer_verifies(
    stack: Stack, outgoing: Arrival, alteration: str
) -> None:
    head, _, body = outgoing.raw.partition(b"\r\n\r\n")
    altered = (head + b"\r\n\r\n" + body.replace(b"\r\n", b"\r\nAltered on the way.\r\n", 1) if alteration == "body"
               else outgoing.raw.replace(b"\r\nSubject: ", b"\r\nSubject: Altered: ", 1))
    assert altered != outgoing.raw
    assert verify(stack, outgoing.raw), evidence(stack, outgoing)  # as it arrived, it verifies...
    assert not verify(stack, altered), evidence(stack, outgoing)  # ... altered, not


@pytest.fixture(scope="module")
def incoming(stack: Stack, dkim: Dkim, people: People) -> dict[str, Arrival]:
    """Two messages from outside on port 25 to the reader, signed with the outside world's
    key for remote.example: one as signed, one with its body altered after signing."""
    not_applicable_unless(dkim.rx_verifies, "the policy has MTA-RX verify nothing (dkim.rx_verifies = false)")
    key = outside_key()
    not_applicable_unless(key is not None, "no outside key: run through make (it assembles $TESTBED_CONFIG)")
    assert key is not None
    reader, sent = people.address(people.reader), {}
    for kind in ("intact", "tampered"):
        message = make_message(sender=OUTSIDE_SENDER, to=reader, tag=f"dkim-in-{kind}")
        raw = sign(message.as_bytes(), domain=REMOTE_DOMAIN, selector=OUTSIDE_SELECTOR, key=key)
        if kind == "tampered":
            raw = raw.replace(b"\r\n\r\n", b"\r\n\r\nA line added after signing.\r\n", 1)
        result = send_message(raw, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[reader])
        assert result.accepted, result
        sent[kind] = message_id_of(message)
    return {kind: Arrival(mid, stack.tx.wait_for_mailbox(people.reader, mid, timeout=90).as_bytes())
            for kind, mid in sent.items()}


def test_mail_from_outside_signed_by_its_domain_gets_dkim_pass_at_the_mailbox(
    stack: Stack, incoming: dict[str, Arrival]
) -> None:
    results = authentication_results(incoming["intact"].raw, AUTHSERV_ID)
    assert len(results) == 1, evidence(stack, incoming["intact"])
    assert "dkim=pass" in results[0] and f"header.d={REMOTE_DOMAIN}" in results[0], evidence(stack, incoming["intact"])


def test_mail_from_outside_altered_after_signing_gets_dkim_fail_at_the_mailbox(
    stack: Stack, incoming: dict[str, Arrival]
) -> None:
    results = authentication_results(incoming["tampered"].raw, AUTHSERV_ID)
    assert len(results) == 1 and "dkim=fail" in results[0], evidence(stack, incoming["tampered"])


def test_local_to_local_mail_is_signed_only_where_the_policy_says_so(
    stack: Stack, dkim: Dkim, people: People, submission_login_once: tuple[str, str]
) -> None:
    login = signing_login(dkim, submission_login_once)
    message = submit(stack, login, people.address(people.reader), "dkim-local")
    arrival = Arrival(message_id_of(message),
                      stack.tx.wait_for_mailbox(people.reader, message_id_of(message), timeout=90).as_bytes())
    signed = bool(signatures(arrival.raw))
    assert signed == dkim.sign_local, evidence(stack, arrival)


@pytest.fixture
def signing_milter_restored(stack: Stack) -> Iterator[None]:
    """For the test that stops OpenDKIM in MTA-TX: it runs again afterwards, and MTA-TX and
    amavisd-new (whose healthcheck passes a message through MTA-TX) are healthy."""
    yield
    start_milter(stack, "tx")
    stack.wait_healthy("tx", timeout=60)
    stack.wait_healthy("amavis", timeout=120)


@pytest.mark.slow
@pytest.mark.usefixtures("signing_milter_restored")
def test_with_the_signing_milter_down_mail_is_not_lost_and_leaves_as_the_policy_says(
    stack: Stack, dkim: Dkim, submission_login_once: tuple[str, str]
) -> None:
    """tempfail: the mail waits in MTA-RX's queue (MTA-TX answers 4xx) and leaves once,
    signed, when OpenDKIM is back. pass: it leaves at once, unsigned."""
    login = signing_login(dkim, submission_login_once)
    stop_milter(stack, "tx")
    message = submit(stack, login, f"partner@{REMOTE_DOMAIN}", "dkim-milter-down")
    mid = message_id_of(message)
    if dkim.on_milter_failure == "tempfail":
        # MTA-RX's queue runner was told 4xx (through amavisd-new) and keeps the message.
        poll_until(lambda: "dsn=4." in stack.trail(mid), timeout=60, what=f"<{mid}> deferred by MTA-RX",
                   evidence=lambda: stack.trail(mid))
        assert mid in stack.rx.queued_message_ids(), stack.trail(mid)
        assert stack.sink.by_message_id(mid) == [], stack.trail(mid)
        start_milter(stack, "tx")
    arrived = stack.sink.wait_for(mid, timeout=120)
    arrival = Arrival(mid, stack.sink.raw(arrived[0].id))
    assert len(stack.sink.by_message_id(mid)) == 1, evidence(stack, arrival)
    if dkim.on_milter_failure == "tempfail":
        assert verify(stack, arrival.raw), evidence(stack, arrival)
    else:
        assert signatures(arrival.raw) == [], evidence(stack, arrival)


@pytest.fixture
def verifying_milter_restored(stack: Stack) -> Iterator[None]:
    """For the test that stops OpenDKIM in MTA-RX: it runs again afterwards."""
    yield
    start_milter(stack, "rx")
    stack.wait_healthy("rx", timeout=60)


@pytest.mark.slow
@pytest.mark.usefixtures("verifying_milter_restored")
def test_with_the_verifying_milter_down_mail_from_outside_is_not_taken_unchecked(
    stack: Stack, dkim: Dkim, people: People
) -> None:
    """tempfail: MTA-RX answers 4xx, so the sender keeps the message and sends it again;
    once OpenDKIM is back it is taken and verified. pass: it is taken at once, unverified."""
    not_applicable_unless(dkim.rx_verifies, "the policy has MTA-RX verify nothing (dkim.rx_verifies = false)")
    key = outside_key()
    not_applicable_unless(key is not None, "no outside key: run through make (it assembles $TESTBED_CONFIG)")
    assert key is not None
    reader = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=reader, tag="dkim-verifier-down")
    raw = sign(message.as_bytes(), domain=REMOTE_DOMAIN, selector=OUTSIDE_SELECTOR, key=key)
    stop_milter(stack, "rx")
    first = send_message(raw, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[reader])
    mid = message_id_of(message)
    if dkim.on_milter_failure == "tempfail":
        assert not first.accepted and first.mail is not None and 400 <= first.mail.code < 500, first
        start_milter(stack, "rx")
        again = send_message(raw, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[reader])
        assert again.accepted, again
    else:
        assert first.accepted, first
    arrival = Arrival(mid, stack.tx.wait_for_mailbox(people.reader, mid, timeout=90).as_bytes())
    assert len(stack.tx.copies(people.reader, mid)) == 1, evidence(stack, arrival)
    results = authentication_results(arrival.raw, AUTHSERV_ID)
    if dkim.on_milter_failure == "tempfail":
        assert len(results) == 1 and "dkim=pass" in results[0], evidence(stack, arrival)
    else:
        assert results == [], evidence(stack, arrival)
