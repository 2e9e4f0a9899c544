"""amavisd-new's TIMING lines, read from a Docker log with timestamps, and the legs."""

import pytest

from loadgen.breakdown import breakdown, parse_timings, stage_leg

LOG = """\
2026-11-26T10:00:00.100000000Z (01234-01) ESMTP :10024 /var/lib/amavis/tmp/amavis-x: <a@t> -> <b@r> SIZE=900 Received: from mail.testbed.example
2026-11-26T10:00:01.000000000Z (01234-01) Passed CLEAN {RelayedOutbound}, [127.0.0.1] <a@t> -> <b@r>, Queue-ID: Q1, Message-ID: <one@x>, mail_id: m1, Hits: 1.2, size: 900, queued_as: T1, 700 ms
2026-11-26T10:00:01.250000000Z (01234-01) TIMING [total 750 ms, cpu 600 ms] - SMTP greeting: 2 (0%)0, SMTP EHLO: 1.5 (0%)0, SMTP DATA: 40 (5%)6, check_init: 0.5 (0%)6, digest_hdr: 1 (0%)6, mime_decode: 20 (3%)9, get-file-type1: 9 (1%)10, AV-scan-1: 30 (4%)14, spam-wb-list: 2 (0%)15, SA check: 500 (67%)81, fwd-connect: 10 (1%)83, fwd-data-contents: 4 (1%)83, write-header: 1 (0%)84, main_log_entry: 20 (3%)86, rundown: 109 (14%)100
2026-11-26T10:00:02.000000000Z (01234-02) Passed SPAM {Discarded}, Message-ID: <two@x>, mail_id: m2
2026-11-26T10:00:02.500000000Z (01235-01) TIMING [total 10 ms] - SMTP greeting: 10 (100%)100
"""


def test_stages_fall_into_their_legs() -> None:
    assert [stage_leg(s) for s in ("SMTP DATA", "AV-scan-1", "SA check", "spam-wb-list", "fwd-connect",
                                   "mime_decode", "get-file-type3", "rundown")] == \
        ["receive", "virus", "spam", "spam", "forward", "mime", "mime", "other"]


def test_a_timing_line_is_tied_to_its_message_by_the_task_id() -> None:
    timings = parse_timings(LOG)
    assert set(timings) == {"one@x"}  # the other task logged no Message-ID
    one = timings["one@x"]
    assert one.total_ms == 750
    assert one.done == pytest.approx(1795687201.25)
    assert one.started == pytest.approx(1795687200.5)
    assert one.legs_ms == {"receive": 43.5, "mime": 30.5, "virus": 30, "spam": 502, "forward": 15, "other": 129}


def test_the_legs_add_the_queue_wait_before_and_the_tx_leg_after() -> None:
    timings = parse_timings(LOG)
    result = breakdown(["one@x", "missing@x"], accepted={"one@x": 1795687200.0},
                       arrived={"one@x": 1795687201.45}, timings=timings)
    assert result.messages == 1
    assert result.legs_ms["rx_queue"] == pytest.approx(500)
    assert result.legs_ms["tx"] == pytest.approx(200)
    assert result.legs_ms["spam"] == 502
    assert result.total_ms == pytest.approx(1450)
