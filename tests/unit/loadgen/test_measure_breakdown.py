"""amavisd-new's TIMING lines, read from a Docker log with timestamps, and the legs."""
# ruff: noqa: E501  (amavisd-new's log lines, verbatim)

import pytest

from loadgen.measure.breakdown import LEGS, MILTER_LEGS, breakdown, legs_of, parse_timings, stage_leg

LOG = """\
2026-11-26T10:00:00.100000000Z (01234-01) ESMTP :10024 /var/lib/amavis/tmp/amavis-x: <a@t> -> <b@r> SIZE=900 Received: from mail.testbed.example
2026-11-26T10:00:01.000000000Z (01234-01) Passed CLEAN {RelayedOutbound}, [127.0.0.1] <a@t> -> <b@r>, Queue-ID: Q1, Message-ID: <one@x>, mail_id: m1, Hits: 1.2, size: 900, queued_as: T1, 700 ms
2026-11-26T10:00:01.250000000Z (01234-01) TIMING [total 750 ms, cpu 600 ms] - SMTP greeting: 2 (0%)0, SMTP EHLO: 1.5 (0%)0, SMTP DATA: 40 (5%)6, check_init: 0.5 (0%)6, digest_hdr: 1 (0%)6, mime_decode: 20 (3%)9, get-file-type1: 9 (1%)10, AV-scan-1: 30 (4%)14, spam-wb-list: 2 (0%)15, SA check: 500 (67%)81, fwd-connect: 10 (1%)83, fwd-data-contents: 4 (1%)83, write-header: 1 (0%)84, main_log_entry: 20 (3%)86, rundown: 109 (14%)100
2026-11-26T10:00:02.000000000Z (01234-02) Passed SPAM {Discarded}, Message-ID: <two@x>, mail_id: m2
2026-11-26T10:00:02.500000000Z (01235-01) TIMING [total 10 ms] - SMTP greeting: 10 (100%)100
2026-11-26T10:00:03.000000000Z <5>(00118-02-7) Passed CLEAN {RelayedOpenRelay}, [127.0.0.1] <alice@testbed.example> -> <user38@remote.example>, Message-ID: <real@x>, mail_id: o3AbThA_YG7J, Hits: -1, size: 10065, queued_as: 250 2.0.0 6AQ0SIAq000214 Message accepted for delivery, 440 ms
2026-11-26T10:00:03.000100000Z <6>(00118-02-7) TIMING-SA total 251 ms - parse: 2.2 (0.9%), extract_message_metadata: 4.8 (1.9%), tests_pri_0: 198 (78.8%), learn: 16 (6.5%)
2026-11-26T10:00:03.003000000Z <6>(00118-02-7) size: 10065, TIMING [total 444 ms] - SMTP MAIL: 1.2 (0%)0, SMTP pre-DATA-flush: 1.4 (0%)1, SMTP DATA: 87 (20%)20, check_init: 0.6 (0%)20, digest_hdr: 0.3 (0%)20, digest_body: 0.1 (0%)21, collect_info: 1.6 (0%)21, mime_decode: 10 (2%)23, get-file-type2: 33 (7%)30, parts_decode: 0.2 (0%)31, check_header: 0.5 (0%)31, AV-scan-1: 7 (2%)32, spam-wb-list: 0.9 (0%)32, SA msg read: 0.4 (0%)32, SA parse: 2.8 (1%)33, SA check: 247 (56%)89, decide_mail_destiny: 4.2 (1%)90, notif-quar: 0.2 (0%)90, fwd-connect: 8 (2%)91, fwd-mail-pip: 2.8 (1%)92, fwd-rcpt-pip: 0.2 (0%)92, fwd-data-chkpnt: 0.0 (0%)92, write-header: 0.3 (0%)92, fwd-data-contents: 0.2 (0%)92, fwd-end-chkpnt: 13 (3%)95, prepare-dsn: 4.1 (1%)96, report: 9 (2%)98, main_log_entry: 5 (1%)99, update_snmp: 1.3 (0%)100, SMTP pre-response: 0.3 (0%)100, SMTP response: 0.2 (0%)100, unlink-2-files: 0.3 (0%)100, rundown: 0.7 (0%)100
2026-11-26T10:00:04.000000000Z <5>(00118-02-8) Passed CLEAN {RelayedOpenRelay}, Message-ID: <cut@x>, mail_id: x
2026-11-26T10:00:04.100000000Z <6>(00118-02-8) size: 100, TIMING [total 400 ms] - SMTP MAIL: 1.2 (0%)0, SA check: 247 (56%)89, fwd-connect: 8 (2%)91...
"""


def test_stages_fall_into_their_legs() -> None:
    assert [stage_leg(s) for s in ("SMTP DATA", "AV-scan-1", "SA check", "spam-wb-list", "fwd-connect",
                                   "mime_decode", "get-file-type3", "rundown")] == \
        ["receive", "virus", "spam", "spam", "forward", "mime", "mime", "other"]


def test_a_timing_line_is_tied_to_its_message_by_the_task_id() -> None:
    timings = parse_timings(LOG)
    # The task 01235-01 logged no Message-ID; the TIMING of cut@x stops short of 100%.
    assert set(timings) == {"one@x", "real@x"}
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


def test_a_real_amavisd_new_line_with_its_priority_and_size_prefix_and_no_timing_sa() -> None:
    real = parse_timings(LOG)["real@x"]
    assert real.total_ms == 444
    assert real.legs_ms["spam"] == pytest.approx(0.9 + 0.4 + 2.8 + 247)  # TIMING-SA's 251 ms not added again
    assert real.legs_ms["virus"] == 7
    assert real.legs_ms["forward"] == pytest.approx(8 + 2.8 + 0.2 + 0.0 + 0.3 + 0.2 + 13)
    assert sum(real.legs_ms.values()) == pytest.approx(444, abs=2)  # every stage counted once


def test_the_milter_topologys_legs_start_in_the_smtp_session_and_end_after_the_250() -> None:
    """No MTA-RX queue: the message waits for amavisd-new between the end of its DATA and its
    250; amavisd-new's SMTP and forwarding stages (none over AM.PDP) count as the rest."""
    assert legs_of("milter") == MILTER_LEGS and legs_of("dual") == LEGS
    result = breakdown(["one@x", "unsent@x"], accepted={"one@x": 1795687201.3, "unsent@x": 1795687201.3},
                       arrived={"one@x": 1795687201.45, "unsent@x": 1795687201.45}, timings=parse_timings(LOG),
                       data_sent={"one@x": 1795687200.2}, legs=MILTER_LEGS)
    assert result.messages == 1  # unsent@x: no timing, and no end of DATA
    assert set(result.legs_ms) == set(MILTER_LEGS)
    assert result.legs_ms["session"] == pytest.approx(300)
    assert result.legs_ms["reply"] == pytest.approx(50)
    assert result.legs_ms["mta"] == pytest.approx(150)
    assert result.legs_ms["other"] == pytest.approx(129 + 43.5 + 15)
    assert result.total_ms == pytest.approx(1250)  # end of DATA -> arrival, every millisecond once
