"""The document's advice, one row each: a site that does not follow it still gets a chain and
the rest of the suite, and this row fails with the file, line and fix (siteconfig/check/
advice.py). Read from the .cf files the running daemons use, not from the images."""

import os
from pathlib import Path

import pytest

from harness import Stack
from siteconfig.check import check_document_advice
from siteconfig.check.advice import ADVICE
from siteconfig.layout import REPO
from tests.claims import dual_chain_only
from tests.conftest import POLICY_SOURCE

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("advice", list(ADVICE))
def test_the_configuration_follows_the_documents_advice(stack: Stack, advice: str) -> None:
    dual_chain_only("one sendmail: no MTA-RX and MTA-TX whose settings the advice compares")
    assembled = REPO / os.environ.get("TESTBED_CONFIG", "config/sample")
    compiled = {"rx": stack.rx.compiled(), "tx": stack.tx.compiled()}
    findings = check_document_advice(assembled, REPO / Path(POLICY_SOURCE), compiled, advice)
    assert not findings, "\n".join(str(finding) for finding in findings)
