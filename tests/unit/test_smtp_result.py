"""SmtpResult: the queue ID from sendmail's reply to DATA, and acceptance."""

from harness import Reply, SmtpResult


def test_queue_id_is_read_from_sendmails_data_reply() -> None:
    result = SmtpResult(data=Reply(250, "2.0.0 6APDVepT000046 Message accepted for delivery"))
    assert result.accepted and result.queue_id == "6APDVepT000046"


def test_a_refused_data_is_not_accepted_and_has_no_queue_id() -> None:
    result = SmtpResult(data=Reply(552, "5.2.3 Message size exceeds maximum value"))
    assert not result.accepted and result.queue_id is None
