"""Submission on port 587 (RFC 6409): STARTTLS first, then AUTH; authenticated clients relay."""

import pytest

from harness import Stack, make_message, message_id_of, send_message
from harness.smtp import SMTPAuthenticationError, SMTPStatus, ehlo_keywords
from siteconfig.policy import Policy
from tests.conftest import REMOTE_DOMAIN, needs_submission

pytestmark = pytest.mark.chain


@pytest.fixture(autouse=True)
def submission_enabled(policy: Policy) -> None:
    """Every test here uses port 587: not applicable where the policy turns submission off."""
    needs_submission(policy)


def test_submission_offers_starttls_and_offers_auth_only_inside_tls(stack: Stack) -> None:
    plain = ehlo_keywords(port=stack.submission_port)
    inside_tls = ehlo_keywords(port=stack.submission_port, starttls=True)
    assert "STARTTLS" in plain, plain
    assert not [k for k in plain if k.startswith("AUTH")], plain
    # The mechanisms in whatever order MTA-RX lists them (its confAUTH_MECHANISMS').
    offered = {mechanism for k in inside_tls if k.startswith("AUTH ") for mechanism in k.split()[1:]}
    assert offered & {"PLAIN", "LOGIN"}, inside_tls


def test_an_authenticated_client_may_relay_to_a_remote_domain(stack: Stack, submission_login: tuple[str, str]) -> None:
    user, password = submission_login
    rcpt = f"partner@{REMOTE_DOMAIN}"
    message = make_message(sender=user, to=rcpt, tag="submission")
    result = send_message(message, port=stack.submission_port, mail_from=user, rcpt_to=[rcpt],
                          starttls=True, login=(user, password))
    assert result.accepted, result
    arrived = stack.sink.wait_for(message_id_of(message))
    assert arrived[0].recipients == [rcpt], stack.trail(message_id_of(message))


def test_an_unauthenticated_client_may_not_relay_on_the_submission_port(
    stack: Stack, submission_login: tuple[str, str]
) -> None:
    user = submission_login[0]
    rcpt = f"partner@{REMOTE_DOMAIN}"
    result = send_message(make_message(sender=user, to=rcpt), port=stack.submission_port, mail_from=user,
                          rcpt_to=[rcpt], starttls=True)
    msa = stack.shape.rx.msa
    if msa is not None and "a" in msa.modifiers:  # M=a: AUTH before MAIL (Debian's MSP)
        assert result.mail is not None and result.mail.code == SMTPStatus.access_denied \
            and result.mail.text.startswith("5.7.0"), result  # 530 5.7.0: authentication required (RFC 4954)
        return
    reply = result.rcpts[rcpt]
    assert reply.code == SMTPStatus.mailbox_does_not_exist and reply.text.startswith("5.7.1"), result


def test_a_wrong_password_is_refused_with_535(stack: Stack, submission_login: tuple[str, str]) -> None:
    user = submission_login[0]
    with pytest.raises(SMTPAuthenticationError) as refused:
        send_message(make_message(sender=user, to=user), port=stack.submission_port, mail_from=user,
                     rcpt_to=[user], starttls=True, login=(user, "not-the-password"))
    assert refused.value.code == SMTPStatus.auth_failed
