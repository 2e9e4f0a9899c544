"""Arrivals in mailboxes, found in the bytes appended to an mbox."""

from loadgen.measure.arrivals import Arrivals, MailboxScanner, MailboxWatcher
from loadgen.send.delivery import BODY_HEADER, Delivery, content_digest
from loadgen.send.workload import Workload, pregenerate

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
    header = b"Message-ID: <" + message_id.encode() + b">\n"
    digest = content_digest(header + b"\n" + body)
    return (b"From loadgen@testbed.example Wed Nov 25 10:00:00 2026\n" + header
            + f"{BODY_HEADER}: {digest}\n".encode() + b"\n" + body + b"\n\n")


def digest_of(body: bytes) -> str:
    return content_digest(b"Subject: x\n\n" + body)


def test_a_stamped_message_is_digested_whole_once_complete_however_the_mbox_is_cut() -> None:
    body = b"line one\n\nline three after a blank line\n" + b"x" * 300
    mbox = stamped("whole@loadgen", body)
    for cut in range(len(mbox) + 1):
        scanner = MailboxScanner()
        found = scanner.feed(mbox[:cut]) + scanner.feed(mbox[cut:])
        assert found == [("whole@loadgen", digest_of(body))], cut


def test_a_cut_message_is_reported_with_another_digest_when_the_next_one_starts_or_the_run_ends() -> None:
    body = b"a body of some length\n" * 20
    cut = stamped("cut@loadgen", body)[:-200] + b"\n\n"
    scanner = MailboxScanner()
    assert scanner.feed(cut) == []  # its content does not match its stamp yet: still open
    found = scanner.feed(stamped("next@loadgen", b"next"))
    assert found[0][0] == "cut@loadgen" and found[0][1] != digest_of(body)
    assert found[1] == ("next@loadgen", digest_of(b"next"))
    scanner.feed(stamped("last@loadgen", body)[:-300])
    ((message_id, digest),) = scanner.finish()
    assert message_id == "last@loadgen" and digest != digest_of(body)


def test_a_planned_message_carries_the_digest_of_the_content_that_must_arrive() -> None:
    (planned,) = pregenerate(1, Workload(seed=3))
    scanner = MailboxScanner()
    mbox = b"From x@y Wed Nov 25 10:00:00 2026\n" + planned.data.replace(b"\r\n", b"\n") + b"\n"
    assert scanner.feed(mbox) == [(planned.message_id, planned.digest)]
    assert planned.delivery.digest == content_digest(planned.data)
