"""One chain per test session: started once, removed at the end even when tests fail."""

import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness import Stack, make_message, message_id_of, send_message
from harness.stack import REPO
from siteconfig.policy import REMOTE_DOMAIN, current_policy
from tests import run_report

__all__ = ["LOCAL_DOMAIN", "OUTSIDE_SENDER", "POLICY", "REMOTE_DOMAIN", "not_applicable_unless"]

POLICY = current_policy()  # what the configuration under test promises
POLICY_SOURCE = os.environ.get("TESTBED_SOURCE_CONFIG", "config/sample")
LOCAL_DOMAIN = POLICY.local_domain
OUTSIDE_SENDER = f"someone@{REMOTE_DOMAIN}"


def not_applicable_unless(condition: bool, reason: str) -> None:
    """End a test whose feature the policy turns off; the summary lists it as not
    applicable, with the reason (not as passed, not as failed)."""
    if not condition:
        pytest.skip(f"not applicable: {reason}")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's chain. TESTBED_ATTACH=<compose project> runs the tests against a chain
    already up instead (`make up`'s is "testbed"), left running afterwards: to try a change
    made inside its containers by hand."""
    attach = os.environ.get("TESTBED_ATTACH")
    if attach:
        yield Stack(project=attach)
        return
    with Stack() as running:
        yield running


@pytest.fixture
def amavis_restored(stack: Stack) -> Iterator[None]:
    """For tests that stop amavisd-new: it is running and healthy again afterwards."""
    yield
    container = stack.container("amavis")
    container.reload()
    if container.status != "running":
        stack.start("amavis")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker (each runs its own chain): hand what this worker's tests
    noted for the run's report to the controller, which writes the report."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["hostile"] = list(run_report.HOSTILE)
        output["fault_rows"] = [asdict(row) for row in run_report.ROWS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the pytest-xdist controller: collect each worker's notes (pytest_sessionfinish)."""
    output = getattr(node, "workeroutput", {})
    run_report.HOSTILE.extend(output.get("hostile", []))
    run_report.ROWS.extend(run_report.FaultRow(**row) for row in output.get("fault_rows", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault table (tests/test_faults.py) and the hostile-input counts, when they ran;
    and reports/summary.md, a Markdown summary of the run for a pull-request comment."""
    xml = terminalreporter.config.option.xmlpath  # the summary goes beside the JUnit file
    if xml:  # a make target's run (each target names its own report); not a bare pytest
        summary = run_report.write_summary(terminalreporter, Path(xml).with_name(
            Path(xml).stem.replace("junit", "summary") + ".md"), POLICY_SOURCE)
        if summary is not None:
            terminalreporter.write_line(f"Markdown summary: {summary}")
    path = run_report.write_table(REPO / "reports")
    if path is not None:
        terminalreporter.section("faults under load")
        terminalreporter.write_line(run_report.markdown(run_report.ROWS))
        terminalreporter.write_line(f"(written to {path.relative_to(REPO)})")
    if run_report.HOSTILE:
        terminalreporter.section("hostile input")
        for line in run_report.HOSTILE:
            terminalreporter.write_line(line)


def assert_chain_still_delivers(stack: Stack, tag: str) -> None:
    """A probe message from outside reaches its mailbox: the daemons still serve others."""
    user = POLICY.mailboxes[-1]
    message = make_message(sender=OUTSIDE_SENDER, to=POLICY.address(user), tag=f"probe-{tag}")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[POLICY.address(user)])
    assert result.accepted, result
    stack.tx.wait_for_mailbox(user, message_id_of(message), timeout=120)
