"""Unit tests run the same whichever topology the run is for: `make test TOPOLOGY=milter`
exports TESTBED_TOPOLOGY, which the code under test reads for its defaults."""

import pytest


@pytest.fixture(autouse=True)
def _no_topology_from_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTBED_TOPOLOGY", raising=False)
    monkeypatch.delenv("LOADGEN_TOPOLOGY", raising=False)
