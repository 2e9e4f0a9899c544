"""mailq output of sendmail 8.18, parsed into queue entries."""

from harness import parse_mailq

DEFERRED = """\
\t\t/var/spool/mqueue-rx (2 requests)
-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------
6APDVepT000046      459 Wed Nov 25 13:31 <sender@remote.example>
                 (Deferred: Connection refused by [127.0.0.1])
                                         <bob@testbed.example>
6APDVepU000047*    1024 Wed Nov 25 13:32 <a@remote.example>
                                         <alice@testbed.example>
                                         <carol@testbed.example>
\t\tTotal requests: 2
"""


def test_an_empty_queue_has_no_entries() -> None:
    assert parse_mailq("/var/spool/mqueue-rx is empty\n\t\tTotal requests: 0\n") == []


def test_entries_carry_id_size_sender_recipients_and_status() -> None:
    first, second = parse_mailq(DEFERRED)
    assert (first.queue_id, first.size, first.sender) == ("6APDVepT000046", 459, "sender@remote.example")
    assert first.recipients == ["bob@testbed.example"]
    assert first.status == "Deferred: Connection refused by [127.0.0.1]"
    assert second.queue_id == "6APDVepU000047" and second.status == ""
    assert second.recipients == ["alice@testbed.example", "carol@testbed.example"]


def test_a_queue_listed_as_both_msp_and_mta_queue_counts_each_entry_once() -> None:
    both = "MSP Queue status...\n" + DEFERRED + "MTA Queue status...\n" + DEFERRED
    entries = parse_mailq(both)
    assert [e.queue_id for e in entries] == ["6APDVepT000046", "6APDVepU000047"]
    assert entries[1].recipients == ["alice@testbed.example", "carol@testbed.example"]
