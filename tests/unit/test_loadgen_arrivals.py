"""Arrivals in mailboxes, found in the bytes appended to an mbox; sessions per injection point."""

import pytest

from loadgen.arrivals import Arrivals, MailboxScanner, MailboxWatcher
from loadgen.delivery import BODY_HEADER, Delivery, body_digest, body_of, body_stamp
from loadgen.runner import _split_sessions
from loadgen.workload import Workload, pregenerate

MBOX = (
    b"From loadgen@testbed.example Wed Nov 25 10:00:00 2026\n"
    b"Received: from mta-rx\n"
    b"Message-ID: <first@loadgen>\n"
    b"Subject: one\n"
    b"\n"
    b"A body that quotes a header:\n"
    b"Message-ID: <quoted@elsewhere>\n"
    b"\n"
    b"From loadgen@testbed.example Wed Nov 25 10:00:01 2026\n"
    b"message-id:   <second@loadgen>\n"
    b"\n"
    b"body\n"
    b"\n"
)


def test_the_scanner_finds_each_header_message_id_once_however_the_mbox_is_cut() -> None:
    for cut in range(len(MBOX) + 1):
        scanner = MailboxScanner()
        found = scanner.feed(MBOX[:cut]) + scanner.feed(MBOX[cut:])
        assert found == [("first@loadgen", ""), ("second@loadgen", "")], cut  # no body stamp: no digest


def test_a_line_that_has_not_ended_is_not_read_yet() -> None:
    scanner = MailboxScanner()
    assert scanner.feed(b"From a@b Wed Nov 25 10:00:00 2026\nMessage-ID: <part") == []
    assert scanner.feed(b"ial@x>\n\n") == [("partial@x", "")]


def test_the_watcher_reads_only_what_was_appended_and_times_each_arrival() -> None:
    boxes = {"alice": b"", "bob": b""}
    reads: list[dict[str, int]] = []

    def read(offsets: dict[str, int]) -> dict[str, tuple[int, bytes]]:
        reads.append(dict(offsets))
        return {u: (len(boxes[u]), boxes[u][o:]) for u, o in offsets.items()}

    boxes["alice"] = MBOX[:120]  # before the watcher starts: not this run's
    watcher = MailboxWatcher(read, {"alice": "alice@t.example", "bob": "bob@t.example"}, interval=0)
    arrivals: Arrivals = {}
    boxes["alice"] = MBOX + MBOX.replace(b"second@", b"third@")
    boxes["bob"] = MBOX.replace(b"@loadgen", b"@bob")
    watcher.poll(arrivals)
    assert reads[-1] == {"alice": 120, "bob": 0}
    assert sorted((d.message_id, d.recipient) for d in arrivals) == [
        ("first@bob", "bob@t.example"), ("first@loadgen", "alice@t.example"), ("second@bob", "bob@t.example"),
        ("second@loadgen", "alice@t.example"), ("third@loadgen", "alice@t.example")]
    first = Delivery("first@loadgen", "alice@t.example", "")
    assert len(arrivals[first]) == 1  # the second copy of first@ in alice's box
    watcher.poll(arrivals)
    assert len(arrivals[first]) == 1 and reads[-1]["alice"] == len(boxes["alice"])


def stamped(message_id: str, body: bytes) -> bytes:
    return (b"From loadgen@testbed.example Wed Nov 25 10:00:00 2026\nMessage-ID: <" + message_id.encode() + b">\n"
            + f"{BODY_HEADER}: {body_stamp(body)}\n".encode() + b"\n" + body + b"\n\n")


def test_a_stamped_body_is_digested_whole_once_its_length_is_in_however_the_mbox_is_cut() -> None:
    body = b"line one\n\nline three after a blank line\n" + b"x" * 300
    mbox = stamped("whole@loadgen", body)
    for cut in range(len(mbox) + 1):
        scanner = MailboxScanner()
        found = scanner.feed(mbox[:cut]) + scanner.feed(mbox[cut:])
        assert found == [("whole@loadgen", body_digest(body))], cut


def test_a_cut_body_is_reported_with_another_digest_when_the_next_message_starts_or_the_run_ends() -> None:
    body = b"a body of some length\n" * 20
    cut = stamped("cut@loadgen", body)[:-200] + b"\n\n"
    scanner = MailboxScanner()
    assert scanner.feed(cut) == []  # not as long as its stamp says: still open
    found = scanner.feed(stamped("next@loadgen", b"next"))
    assert found[0][0] == "cut@loadgen" and found[0][1] != body_digest(body)
    assert found[1] == ("next@loadgen", body_digest(b"next"))
    scanner.feed(stamped("last@loadgen", body)[:-300])
    ((message_id, digest),) = scanner.finish()
    assert message_id == "last@loadgen" and digest != body_digest(body)


def test_a_planned_message_carries_the_stamp_of_the_body_that_must_arrive() -> None:
    (planned,) = pregenerate(1, Workload(seed=3))
    scanner = MailboxScanner()
    mbox = b"From x@y Wed Nov 25 10:00:00 2026\n" + planned.data.replace(b"\r\n", b"\n") + b"\n"
    assert scanner.feed(mbox) == [(planned.message_id, planned.digest)]
    assert planned.delivery.digest == body_digest(body_of(planned.data))


def test_sessions_are_split_by_injection_point_in_proportion_and_one_at_least() -> None:
    plan = pregenerate(100, Workload(submission_share=0.25, seed=2))
    vias = [p.via for p in plan]
    assert 10 < vias.count("submission") < 40 and set(vias) == {"smtp", "submission"}
    assert _split_sessions(plan, 8) == {"smtp": 6, "submission": 2}
    assert _split_sessions(plan, 1) == {"smtp": 1, "submission": 1}
    assert _split_sessions(pregenerate(10, Workload()), 4) == {"smtp": 4}


def test_local_recipients_go_to_mailboxes_and_shares_are_checked() -> None:
    plan = pregenerate(100, Workload(local_share=0.5, seed=2))
    local = [p for p in plan if p.mailbox]
    assert 30 < len(local) < 70 and {p.mailbox for p in local} <= {"alice", "bob", "dave", "admin"}
    assert all(p.recipient.endswith("@remote.example") for p in plan if not p.mailbox)
    with pytest.raises(ValueError, match="local-share must be between 0 and 1"):
        Workload(local_share=1.5)
