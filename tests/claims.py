"""The document's comparison of the two setups, as the suite reports it.

One suite runs on both topologies (make test TOPOLOGY=dual|milter). A test of something the
document says one setup cannot do runs there too and records what happened instead:
`differs_by_design` (the setup does what its design allows, shown with the evidence) or
`not_borne_out` (it did what the document says it cannot). The summary lists both, and sets
the two topologies side by side when both ran (tests/run_report.py). A test of a structure
only the dual chain has (MTA-RX's queue, its 10024 hop) is not applicable on the milter
topology: `dual_chain_only`.
"""

import pytest

from harness.topology import topology_from_env
from tests.conftest import not_applicable_unless
from tests.topology_report import DIFFERS, NOT_BORNE_OUT

__all__ = ["DIFFERS", "NOT_BORNE_OUT", "differs_by_design", "dual_chain_only", "not_borne_out"]



def dual_chain_only(what: str) -> None:
    """End a test of the dual chain's own structure on the milter topology, saying what
    the milter topology has instead."""
    not_applicable_unless(topology_from_env().name == "dual", f"the milter topology (TOPOLOGY=milter) has {what}")


def differs_by_design(request: pytest.FixtureRequest, claim: str, evidence: str) -> None:
    """This topology does what its design allows instead of what the test names; `evidence`
    shows what happened (a reply, a header, a log line)."""
    request.node.user_properties.append((DIFFERS, f"{claim}: {' '.join(evidence.split())[:400]}"))


def not_borne_out(request: pytest.FixtureRequest, claim: str, evidence: str) -> None:
    """The document says this topology cannot do it, and it did."""
    request.node.user_properties.append((NOT_BORNE_OUT, f"{claim}: {' '.join(evidence.split())[:400]}"))
