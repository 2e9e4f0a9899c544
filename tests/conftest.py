"""One chain per test session: started once, removed at the end even when tests fail.

What the chain promises comes from the policy of the configuration under test (fixture
`policy`), read once when a test first needs it; fixture `people` names the local users by
the role a test gives them."""

import functools
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import Stack, StackError, make_message, message_id_of, send_message
from harness.preflight import preflight
from harness.topology import topology_from_env
from siteconfig.errors import TestbedError
from siteconfig.layout import REPO
from siteconfig.policy import REMOTE_DOMAIN, Policy, PolicyError, current_policy
from siteconfig.shape import SiteShape, current_shape
from tests import run_report

__all__ = ["NONE", "OUTSIDE_SENDER", "REMOTE_DOMAIN", "People", "needs_submission", "not_applicable_unless",
           "policy_under_test"]

POLICY_SOURCE = os.environ.get("TESTBED_SOURCE_CONFIG", "config/sample")
OUTSIDE_SENDER = f"someone@{REMOTE_DOMAIN}"  # the testbed's own outside world, in no policy
NONE = "(none)"  # the one parameter of a test whose policy list is empty: it reports itself not applicable
# Test arguments that take each value of a list in the policy, one test per value, named
# after it (parametrization happens before any fixture exists, so this hook reads the policy).
POLICY_LISTS: dict[str, Callable[[Policy], list[str]]] = {
    "nonexistent_user": lambda policy: policy.users.nonexistent,
    "unchecked_domain": lambda policy: policy.content.unchecked_domains,
    "relay_domain": lambda policy: policy.relay.domains,
}


@functools.cache
def shape_under_test() -> SiteShape:
    """The site's shape (siteconfig/shape.py: its daemons, ports, queues), as make build wrote it
    from the compiled .cf files: what a test expects of ports and banners."""
    return current_shape(topology_from_env().name)


@functools.cache
def policy_under_test() -> Policy:
    """The policy of the configuration under test ($TESTBED_POLICY), read on first use: a
    policy.toml that does not validate fails the tests that need it, not the collection of
    the unit tests."""
    return current_policy()


def not_applicable_unless(condition: bool, reason: str) -> None:
    """End a test whose feature the policy turns off; the summary lists it as not
    applicable, with the reason (not as passed, not as failed)."""
    if not condition:
        try:
            derived = policy_under_test().derived
        except PolicyError:
            derived = None  # the tests that read the policy fail, and say why
        stated = (f" (no stated policy: the testbed derived one from {derived.source}, which has no policy.toml; "
                  "state it there to test this)" if derived else "")
        pytest.skip(f"not applicable: {reason}{stated}")


def needs_submission(policy: Policy) -> None:
    """Ends a test that uses the MSA when the site runs none, or the policy has submission off."""
    not_applicable_unless(shape_under_test().rx.msa is not None, "MTA-RX runs no MSA (its .cf has no daemon on the "
                          "submission port: FEATURE(`no_default_msa') and no DAEMON_OPTIONS for one)")
    not_applicable_unless(policy.submission.enabled, "the policy has submission off (submission.enabled = false)")


def needs_lan_relay(policy: Policy) -> None:
    """Ends a test that relays through MTA-RX for the trusted LAN client when the site grants
    no client RELAY (relay.lan = false: its MTA-RX reads no access map)."""
    not_applicable_unless(policy.relay.lan, "MTA-RX relays for no LAN client (relay.lan = false)")


@dataclass(frozen=True)
class People:
    """The local users a test needs, by role, from the policy. A role the policy cannot fill
    ends the test that asks for it as not applicable, with the reason."""

    domain: str
    mailboxes: tuple[str, ...]  # users who get only what passes the checks (no spam lovers)
    lovers: tuple[str, ...]
    admin: str  # gets the virus alerts (content.admin)

    @classmethod
    def of(cls, policy: Policy) -> "People":
        return cls(policy.local_domain, tuple(policy.mailboxes), tuple(policy.content.spam_lovers),
                   policy.content.admin)

    def address(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def _mailbox(self, index: int, role: str) -> str:
        not_applicable_unless(len(self.mailboxes) > index, f"the policy has {len(self.mailboxes)} mailbox users "
                              f"besides spam lovers (users.existing); this test needs {index + 1}, for {role}")
        return self.mailboxes[index]

    @property
    def reader(self) -> str:
        """The user the tests send mail to."""
        return self._mailbox(0, "the reader")

    @property
    def sender(self) -> str:
        """A second user: a local sender, whose mailbox receives the DSNs."""
        return self._mailbox(1, "a local sender")

    @property
    def other(self) -> str:
        """A third user, apart from the reader and the sender."""
        return self._mailbox(2, "a third user")

    @property
    def lover(self) -> str:
        """A spam lover: gets spam tagged instead of blocked."""
        not_applicable_unless(bool(self.lovers), "the policy has no spam lover (content.spam_lovers)")
        return self.lovers[0]


@pytest.fixture(scope="session")
def policy() -> Policy:
    """What the configuration under test promises (its policy.toml)."""
    return policy_under_test()


@pytest.fixture(scope="session")
def people(policy: Policy) -> People:
    return People.of(policy)


@pytest.fixture
def submission_login(policy: Policy) -> tuple[str, str]:
    """The policy's submission account; a test that needs it is not applicable without it."""
    needs_submission(policy)
    not_applicable_unless(bool(policy.submission.login), "the policy names no submission login (submission.login)")
    return policy.submission_login


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, values in POLICY_LISTS.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values(policy_under_test()) or [NONE])
    if "internal_port" in metafunc.fixturenames:  # amavisd-new's and MTA-TX's, as the site has them
        metafunc.parametrize("internal_port", shape_under_test().internal_ports)


@pytest.fixture(scope="session")
def shape() -> SiteShape:
    """The site's shape: its daemons, ports, greeting and queues."""
    return shape_under_test()


# make's test targets set this: the session's chains come up, and pass the preflight, before any
# test runs, so that a chain that cannot come up ends the run at once with one message and no
# test errors on it. Elsewhere (a bare pytest, TESTBED_ATTACH) a test that asks for the chain
# starts it.
SESSION_CHAINS = "TESTBED_SESSION_CHAINS"
CHAINS = pytest.StashKey[list[Stack]]()


def _bring_up(stack: Stack) -> str | None:
    """Start one chain and send the preflight message through it; what went wrong, if anything."""
    try:
        stack.up()
    except StackError as down:
        return str(down)
    smtp = stack.shape.rx.smtp
    if smtp is not None and smtp.loopback:  # as Debian's own sendmail.mc has it: a host's local MTA
        return (f"MTA-RX's SMTP daemon {smtp.name or smtp.family} listens on {smtp.addr} only (its .cf, line "
                f"{smtp.line}: DaemonPortOptions): no client outside its host can reach it, so no test can send it "
                "mail from outside. A mail gateway listens on every address (or the public one): the testbed runs "
                "the site's files as written, and stops here")
    try:
        policy = policy_under_test()
        user = policy.mailboxes[0]
        preflight(stack, sender=OUTSIDE_SENDER, user=user, address=policy.address(user))
    except (TestbedError, OSError) as broken:  # the preflight's BrokenChainError, a StackError, a PolicyError
        return f"the chain came up but the preflight message did not pass (project {stack.project}):\n{broken}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """The run's chains, one per pytest-xdist worker (each keeps its own), started side by side
    before the tests; any that does not come up ends the run here, with its diagnosis."""
    if hasattr(config, "workerinput") or os.environ.get(SESSION_CHAINS) != "1" or os.environ.get("TESTBED_ATTACH"):
        return
    count = max(1, int(getattr(config.option, "numprocesses", None) or 1))
    try:
        stacks = [Stack() for _ in range(count)]
    except StackError as missing:
        pytest.exit(str(missing), returncode=3)
    config.stash[CHAINS] = stacks
    print(f"bringing up {count} chain(s) of {POLICY_SOURCE} ({topology_from_env().name} topology) and sending a "
          "preflight message through each ...", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(max_workers=count) as pool:
        problems = [problem for problem in pool.map(_bring_up, stacks) if problem]
    if problems:
        for stack in stacks:
            stack.down()
        config.stash[CHAINS] = []
        # One message: the chains run the same configuration, so the first says why.
        extra = f"\n({len(problems) - 1} other chain(s) of the run failed too)" if len(problems) > 1 else ""
        pytest.exit(f"{problems[0]}{extra}", returncode=3)


def pytest_unconfigure(config: pytest.Config) -> None:
    for stack in config.stash.get(CHAINS, []):
        stack.down()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist controller: worker gwN tests on chain N."""
    stacks = node.config.stash.get(CHAINS, [])
    index = int(str(node.gateway.id).removeprefix("gw") or 0)
    if stacks:
        node.workerinput["testbed_project"] = stacks[index % len(stacks)].project


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The session's chain: the one brought up before the tests (make test), else started
    here. TESTBED_ATTACH=<compose project> runs the tests against a chain already up instead
    (`make up`'s is "testbed"), left running afterwards: to try a change made inside its
    containers by hand."""
    attach = os.environ.get("TESTBED_ATTACH")
    if attach and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        pytest.exit("TESTBED_ATTACH runs on one chain: several workers would stop and restart daemons under "
                    "each other's tests. Add TEST_CHAINS=1.", returncode=4)
    started = request.config.stash.get(CHAINS, [])
    project = getattr(request.config, "workerinput", {}).get("testbed_project")
    if attach or project:
        yield Stack(project=attach or project)  # the controller (or the user) takes it down
        return
    if started:
        yield started[0]
        return
    with Stack() as running:  # a chain that does not come up: ChainDownError, told once (makereport)
        policy = policy_under_test()
        user = policy.mailboxes[0]
        preflight(running, sender=OUTSIDE_SENDER, user=user, address=policy.address(user))
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
    # A module's count line comes from every worker that ran some of its tests: once is enough.
    run_report.HOSTILE.extend(line for line in output.get("hostile", []) if line not in run_report.HOSTILE)
    run_report.ROWS.extend(run_report.FaultRow(**row) for row in output.get("fault_rows", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault table (tests/test_faults.py) and the hostile-input counts, when they ran;
    and reports/summary.md, a Markdown summary of the run for a pull-request comment."""
    xml = terminalreporter.config.option.xmlpath  # the summary goes beside the JUnit file
    if xml:  # a make target's run (each target names its own report); not a bare pytest
        try:
            derived = policy_under_test().derived
        except PolicyError:
            derived = None  # the tests that read it failed, and say why
        summary = run_report.write_summary(terminalreporter, Path(xml).with_name(
            Path(xml).stem.replace("junit", "summary") + ".md"), POLICY_SOURCE, derived, topology_from_env().name)
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


def assert_chain_still_delivers(stack: Stack, policy: Policy, tag: str) -> None:
    """A probe message from outside reaches its mailbox: the daemons still serve others."""
    user = policy.mailboxes[-1]
    message = make_message(sender=OUTSIDE_SENDER, to=policy.address(user), tag=f"probe-{tag}")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[policy.address(user)])
    assert result.accepted, result
    stack.tx.wait_for_mailbox(user, message_id_of(message), timeout=120)
