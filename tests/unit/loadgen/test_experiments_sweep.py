"""The settings a sweep refuses, and the sessions it gives each topology."""

import pytest

from loadgen.experiments.sweep import SweepSettings


def test_a_cap_too_short_for_the_minimum_batches_is_refused() -> None:
    with pytest.raises(ValueError, match="--cap 20 leaves no room for 5 batches of 5 s after a 5 s warm-up"):
        SweepSettings(cap=20)


def test_the_milter_topology_gets_sessions_enough_to_keep_every_worker_busy() -> None:
    """Its sessions wait for their 250 while amavisd-new filters: they bound the work."""
    settings = SweepSettings(sessions=4)
    assert [settings.sessions_for(w, "dual") for w in (1, 4, 8)] == [4, 4, 4]
    assert [settings.sessions_for(w, "milter") for w in (1, 4, 8)] == [4, 10, 18]
