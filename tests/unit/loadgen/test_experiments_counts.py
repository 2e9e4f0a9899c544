"""Counts checked where they enter loadgen: sessions, workers."""

import pytest

from loadgen.experiments.counts import CountError, parse_counts


def test_session_counts_allow_more_than_the_worker_limit_but_not_zero() -> None:
    assert parse_counts("20 50,200", most=2000, what="sessions") == [20, 50, 200]
    with pytest.raises(CountError, match="at most 100 workers"):
        parse_counts("200", most=100, what="workers")
    with pytest.raises(CountError):
        parse_counts("0", most=100, what="sessions")
