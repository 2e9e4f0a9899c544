"""What MTA-RX refuses in the SMTP session itself, before anything is queued."""

import asyncio

import pytest

from harness import SmtpResult, Stack, make_message, message_id_of, send_message
from harness.smtp import SMTPStatus, connect
from siteconfig.policy import Policy
from tests.conftest import NONE, OUTSIDE_SENDER, REMOTE_DOMAIN, People, not_applicable_unless

pytestmark = pytest.mark.chain


def send_from_outside(stack: Stack, rcpt: str) -> SmtpResult:
    return send_message(make_message(sender=OUTSIDE_SENDER, to=rcpt), port=stack.smtp_port,
                        mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])


def test_unknown_local_user_is_refused_at_rcpt_as_the_policy_says_and_nothing_is_queued(
    stack: Stack, policy: Policy, nonexistent_user: str
) -> None:
    not_applicable_unless(nonexistent_user != NONE, "the policy names no nonexistent user (users.nonexistent)")
    rcpt = policy.address(nonexistent_user)
    result = send_from_outside(stack, rcpt)
    reply = result.rcpts[rcpt]
    code, enhanced = policy.users.unknown_reply.split()  # e.g. "550 5.1.1"
    assert reply.code == int(code) and reply.text.startswith(enhanced), result
    assert result.data is None, result
    assert not [e for e in stack.rx.queue() if rcpt in e.recipients], result


def test_relaying_to_a_foreign_domain_for_an_outside_client_is_refused_with_550_5_7_1(stack: Stack) -> None:
    rcpt = f"victim@{REMOTE_DOMAIN}"
    result = send_from_outside(stack, rcpt)
    reply = result.rcpts[rcpt]
    assert reply.code == SMTPStatus.mailbox_does_not_exist and reply.text.startswith("5.7.1"), result
    assert result.data is None, result


@pytest.fixture
def size_limit(policy: Policy) -> int:
    """confMAX_MESSAGE_SIZE, checked by make lint-config."""
    not_applicable_unless(policy.limits.max_message_size > 0, "the policy sets no size limit")
    return policy.limits.max_message_size


def test_a_message_announced_over_the_size_limit_is_refused_at_mail_from_with_552(
    stack: Stack, people: People, size_limit: int
) -> None:
    rcpt = people.address(people.reader)
    result = send_message(make_message(sender=OUTSIDE_SENDER, to=rcpt), port=stack.smtp_port,
                          mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt], mail_options=[f"SIZE={size_limit + 1}"])
    assert result.mail is not None and result.mail.code == SMTPStatus.storage_exceeded, result
    assert result.data is None, result


def test_a_message_over_the_size_limit_without_size_is_refused_after_data_with_552_and_not_queued(
    stack: Stack, people: People, size_limit: int
) -> None:
    rcpt = people.address(people.reader)
    lines = size_limit // 77 + 100
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, body=("y" * 76 + "\n") * lines, tag="oversize")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.rcpts[rcpt].code == SMTPStatus.completed, result
    assert result.data is not None and result.data.code == SMTPStatus.storage_exceeded, result
    assert not [e for e in stack.rx.queue() if e.sender == OUTSIDE_SENDER and e.size > size_limit], result


def test_syntax_errors_in_mail_from_and_rcpt_to_get_5xx_and_the_session_goes_on(
    stack: Stack, policy: Policy, people: People
) -> None:
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="after-syntax-errors")

    async def session() -> list[tuple[str, int]]:
        replies = []
        async with connect(stack.smtp_port) as client:
            for verb, argument in [("MAIL", "FROM:<<broken@@address>"), ("MAIL", f"FROM:<{OUTSIDE_SENDER}>"),
                                   ("RCPT", f"TO:<unbalanced@{policy.local_domain}"), ("RCPT", f"TO:<{rcpt}>")]:
                response = await client.execute_command(verb.encode(), argument.encode())
                replies.append((f"{verb} {argument}", response.code))
            replies.append(("DATA", (await client.data(message.as_bytes())).code))
        return replies

    replies = asyncio.run(session())
    transcript = "\n".join(f"C: {command} -> S: {code}" for command, code in replies)
    assert [code // 100 for _, code in replies] == [5, 2, 5, 2, 2], transcript
    stack.tx.wait_for_mailbox(people.reader, message_id_of(message))


def test_an_over_long_mime_header_is_truncated_by_mta_rx(stack: Stack, people: People) -> None:
    # confMAX_MIME_HEADER_LENGTH (the sample's 256/128): sendmail shortens such headers (an
    # attack pattern) instead of refusing the message, and logs it.
    limit = (stack.rx.compiled().option("MaxMimeHeaderLength") or "").split("/")[0]
    not_applicable_unless(limit.isdigit() and int(limit) > 0, "MTA-RX sets no MaxMimeHeaderLength "
                          "(confMAX_MIME_HEADER_LENGTH): it passes long MIME headers on as they are")
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag="long-mime-header")
    message.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="n" * 300 + ".txt")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    msgid = message_id_of(message)
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    (attachment,) = list(delivered.iter_attachments())
    assert len(str(attachment["Content-Disposition"])) <= int(limit), stack.trail(msgid)
    assert f"{result.queue_id}: Truncated long MIME Content-Disposition header" in stack.logs("rx"), stack.trail(msgid)
