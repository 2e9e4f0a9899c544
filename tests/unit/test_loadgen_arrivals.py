"""Arrivals in mailboxes, found in the bytes appended to an mbox; sessions per injection point."""

import pytest

from loadgen.arrivals import MailboxScanner, MailboxWatcher
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
        assert found == ["first@loadgen", "second@loadgen"], cut


def test_a_line_that_has_not_ended_is_not_read_yet() -> None:
    scanner = MailboxScanner()
    assert scanner.feed(b"From a@b Wed Nov 25 10:00:00 2026\nMessage-ID: <part") == []
    assert scanner.feed(b"ial@x>\n") == ["partial@x"]


def test_the_watcher_reads_only_what_was_appended_and_times_each_arrival() -> None:
    boxes = {"alice": b"", "bob": b""}
    reads: list[dict[str, int]] = []

    def read(offsets: dict[str, int]) -> dict[str, tuple[int, bytes]]:
        reads.append(dict(offsets))
        return {u: (len(boxes[u]), boxes[u][o:]) for u, o in offsets.items()}

    boxes["alice"] = MBOX[:120]  # before the watcher starts: not this run's
    watcher = MailboxWatcher(read, ["alice", "bob"], interval=0)
    arrivals: dict[str, list[float]] = {}
    boxes["alice"] = MBOX + MBOX.replace(b"second@", b"third@")
    boxes["bob"] = MBOX.replace(b"@loadgen", b"@bob")
    watcher.poll(arrivals)
    assert reads[-1] == {"alice": 120, "bob": 0}
    assert sorted(arrivals) == ["first@bob", "first@loadgen", "second@bob", "second@loadgen", "third@loadgen"]
    assert len(arrivals["first@loadgen"]) == 1  # the second copy of first@ in alice's box
    watcher.poll(arrivals)
    assert len(arrivals["first@loadgen"]) == 1 and reads[-1]["alice"] == len(boxes["alice"])


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
