"""What MTA-RX refuses in the SMTP session itself, before anything is queued."""

import pytest

from harness import SmtpResult, Stack, make_message, send_message
from harness.codes import S550_MAILBOX_UNAVAILABLE
from tests.conftest import LOCAL_DOMAIN, OUTSIDE_SENDER, REMOTE_DOMAIN

pytestmark = pytest.mark.chain


def send_from_outside(stack: Stack, rcpt: str) -> SmtpResult:
    return send_message(make_message(sender=OUTSIDE_SENDER, to=rcpt), port=stack.smtp_port,
                        mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])


@pytest.mark.parametrize("local_part", ["nosuchuser", "nosuchuser+tag"])
def test_unknown_local_user_is_refused_at_rcpt_with_550_5_1_1_and_nothing_is_queued(
    stack: Stack, local_part: str
) -> None:
    rcpt = f"{local_part}@{LOCAL_DOMAIN}"
    result = send_from_outside(stack, rcpt)
    reply = result.rcpts[rcpt]
    assert reply.code == S550_MAILBOX_UNAVAILABLE and reply.text.startswith("5.1.1"), result
    assert result.data is None, result
    assert not [e for e in stack.rx_queue() if rcpt in e.recipients], result


def test_relaying_to_a_foreign_domain_for_an_outside_client_is_refused_with_550_5_7_1(stack: Stack) -> None:
    rcpt = f"victim@{REMOTE_DOMAIN}"
    result = send_from_outside(stack, rcpt)
    reply = result.rcpts[rcpt]
    assert reply.code == S550_MAILBOX_UNAVAILABLE and reply.text.startswith("5.7.1"), result
    assert result.data is None, result
