"""make lint-config: check $TESTBED_CONFIG (assembled from $TESTBED_SOURCE_CONFIG) and the
images tagged $TESTBED_TAG; print each finding; exit status 1 when there is any."""

import os
import sys
from pathlib import Path

from siteconfig.check import (
    check_absent_pieces,
    check_document_advice,
    check_document_invariants,
    check_keys,
    check_policy,
    check_tools,
    read_chain,
)
from siteconfig.layout import REPO, SAMPLE


def main() -> int:
    assembled = REPO / os.environ.get("TESTBED_CONFIG", "config/sample")
    source = Path(os.environ.get("TESTBED_SOURCE_CONFIG", SAMPLE))
    tag = os.environ.get("TESTBED_TAG", "latest")
    topology = os.environ.get("TESTBED_TOPOLOGY") or "dual"
    compiled, unreadable = read_chain(tag, topology)
    findings = check_policy(assembled, source, compiled, topology) + unreadable
    findings += check_document_invariants(assembled, source, compiled, topology)
    findings += check_tools(assembled, source, tag) + check_keys(assembled, source, tag, topology)
    for finding in findings:
        print(f"lint: {finding}", file=sys.stderr)
    for note in check_absent_pieces(assembled, source, compiled, topology):
        print(f"site milter: {note}")
    if topology == "dual":  # the one MTA of the milter topology has no RX and TX to compare
        for advice in check_document_advice(assembled, source, compiled):
            print(f"advice: {advice} (not refused: the suite reports it as a failed row, tests/test_advice.py)")
    if findings:
        print(f"lint: {len(findings)} problem(s) in the configuration {source}; fix them, or the policy, "
              "and run again", file=sys.stderr)
        return 1
    print(f"lint: configuration {source} ({topology} topology) is consistent with its policy; m4, sendmail, BIND "
          "and amavisd-new accept it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
