"""Each send matched to its arrival: missing, duplicated, wrong and unexpected copies counted."""

from loadgen.measure.matching import match
from loadgen.send.delivery import Delivery


def test_sends_are_matched_to_arrivals_with_missing_duplicated_wrong_and_unexpected_counted() -> None:
    a, b, c, d = (Delivery(m, f"{m}@x.example", f"digest-{m}") for m in "abcd")
    scheduled = {a: 10.0, b: 10.5, c: 11.0, d: 11.0}
    arrivals = {a: [10.25], b: [12.5, 11.5], Delivery("x", "x@x.example", "digest-x"): [13.0],
                d._replace(recipient="other@x.example"): [12.0], c._replace(digest="cut"): [12.0]}
    matched = match(scheduled, arrivals)
    assert matched.delivered == 2
    assert matched.missing == [c, d]  # c arrived cut, d in another mailbox: neither is delivered
    assert sorted(w.message_id for w in matched.wrong) == ["c", "d"]
    assert matched.duplicated == {b: 1}
    assert matched.unexpected == 1
    assert matched.latency.summary()["max"] == 1000  # b: first copy 11.5 - 10.5
