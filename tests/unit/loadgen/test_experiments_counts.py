"""Counts checked where they enter loadgen: sessions, workers."""

import pytest

from loadgen.experiments.counts import CountError, parse_counts, parse_workers
from siteconfig.run_settings import WORKERS


def test_session_counts_allow_more_than_the_worker_limit_but_not_zero() -> None:
    assert parse_counts("20 50,200", most=2000, what="sessions") == [20, 50, 200]
    assert parse_workers(f"1 {WORKERS.most}") == [1, WORKERS.most]
    with pytest.raises(CountError, match=f"at most {WORKERS.most} workers"):
        parse_workers(str(WORKERS.most + 1))
    with pytest.raises(CountError):
        parse_counts("0", most=2000, what="sessions")
