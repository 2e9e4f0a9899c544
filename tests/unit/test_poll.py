"""poll_until: returns the first truthy result, else fails with what it waited for."""

import pytest

from harness import PollTimeout, poll_until


def test_returns_the_first_truthy_result() -> None:
    answers = iter([None, [], ["found"]])
    assert poll_until(lambda: next(answers), timeout=5, interval=0, what="x") == ["found"]


def test_times_out_naming_what_it_waited_for_with_the_evidence() -> None:
    with pytest.raises(PollTimeout, match=r"waiting for the message: not within 0.05 s\nthe logs"):
        poll_until(lambda: None, timeout=0.05, interval=0.01, what="the message", evidence=lambda: "the logs")


def test_a_fatal_reason_stops_the_wait_at_once() -> None:
    calls = []
    with pytest.raises(PollTimeout, match="amavis is exited"):
        poll_until(lambda: calls.append(1), timeout=60, interval=0, what="x", fatal=lambda: "amavis is exited")
    assert len(calls) == 1


def test_poll_timeout_is_a_timeout_error() -> None:
    assert issubclass(PollTimeout, TimeoutError)


def test_a_nudge_is_given_once_after_the_first_miss_and_not_when_the_first_look_finds_it() -> None:
    nudges: list[int] = []
    answers = iter([None, None, "found"])
    assert poll_until(lambda: next(answers), timeout=5, interval=0, what="x", nudge=lambda: nudges.append(1)) == "found"
    assert nudges == [1]
    assert poll_until(lambda: "at once", timeout=5, interval=0, what="x", nudge=lambda: nudges.append(2)) == "at once"
    assert nudges == [1]
