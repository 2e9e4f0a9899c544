"""Configurations that cannot work stop in `make lint-config` within 90 seconds, with one
clear message naming the file, the line and the cause (config/examples/broken-*). Each
runs the command a person runs, so what is asserted is what they would read."""

import subprocess
import time
from dataclasses import dataclass

import pytest

from siteconfig.layout import REPO

pytestmark = [pytest.mark.examples, pytest.mark.chain]

BOUND = 90  # seconds: the bound for a broken configuration to be refused


@dataclass(frozen=True)
class Broken:
    folder: str
    # What the message must say: the file and line first, then the cause's words.
    where: str
    says: tuple[str, ...]
    refusals: int = 1  # findings in the message (a bypass shows at SMART_HOST and MAIL_HUB)


CASES = [
    Broken("broken-mc-syntax", "build: config/examples/broken-mc-syntax/rx/thishost-rx.mc:23: m4 refused it",
           ("end of file in argument list", "a quote opened with ` on that line is never closed")),
    Broken("broken-comment", "build: config/examples/broken-comment/rx/thishost-rx.mc:7: m4 refused it",
           ("missing argument for FEATURE(`enhdnsbl')", "cf.m4 turns m4's # comments off")),
    Broken("broken-custom-mailer", "build: config/examples/broken-custom-mailer/tx/thishost-tx.mc:36: m4 refused it",
           ("cannot open `/usr/share/sendmail/cf/mailer/ftn.m4'", "not part of sendmail-cf")),
    Broken("broken-map", "build: config/examples/broken-map/rx/access:8: makemap refused it",
           ("no RHS for LHS connect:192.0.2.1", "this one has no value")),
    Broken("broken-amavis", "lint: config/examples/broken-amavis/amavis/60-site:4: amavisd-new (Perl) does not load it",
           ("Missing semicolon on previous line?",)),
    Broken("broken-size", "lint: config/examples/broken-size/rx/thishost-rx.mc:23: confMAX_MESSAGE_SIZE is 20971520",
           ("config/examples/broken-size/policy.toml:18 says limits.max_message_size = 10485760",)),
    Broken("broken-bypass", "lint: config/examples/broken-bypass/rx/thishost-rx.mc:59: MTA-RX's SMART_HOST",
           ("sends by mailer esmtp to port 10025, but amavisd-new listens on 10024", "this bypasses amavisd-new"),
           refusals=2),
    Broken("broken-open-relay", "lint: config/examples/broken-open-relay/rx/access:8: grants RELAY to Connect:192.168",
           ("relay.clients does not name 192.168",)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.folder for case in CASES])
def test_a_configuration_that_cannot_work_is_refused_in_lint_naming_file_line_and_cause(case: Broken) -> None:
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", "lint-config", f"CONFIG=config/examples/{case.folder}"],
                          cwd=REPO, capture_output=True, text=True, timeout=BOUND + 60)
    took = time.monotonic() - started
    said = done.stdout + done.stderr
    assert done.returncode != 0, f"make lint-config passed a configuration that cannot work:\n{said}"
    assert took <= BOUND, f"refused only after {took:.0f} s (bound {BOUND} s):\n{said}"
    # One message: the refusal's first line names the file and line, and nothing else is refused.
    refusals = [line for line in said.splitlines() if line.startswith(("build: config/", "lint: config/"))]
    assert len(refusals) == case.refusals, said
    assert refusals[0].startswith(case.where), said
    for words in case.says:
        assert words in said, f"the message lacks {words!r}:\n{said}"


CHAIN_DOWN_BOUND = 300  # seconds: build, lint, compose's wait for the daemons, the diagnosis


def test_a_chain_that_cannot_start_ends_the_run_at_once_with_one_located_message() -> None:
    """config/examples/broken-address passes lint, but its MTA-RX binds an address the
    namespace lacks: `make test` stops before any test, with the daemon, sendmail's SYSERR,
    the .mc line and what to do, once; no test is reported as an error for it."""
    folder = "config/examples/broken-address"
    mc = (REPO / folder / "rx" / "thishost-rx.mc").read_text().splitlines()
    line = next(n for n, text in enumerate(mc, 1) if text.startswith("DAEMON_OPTIONS("))
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", "test", f"CONFIG={folder}", "TEST_CHAINS=2",
                           "PYTEST_ARGS=tests/test_routing.py"], cwd=REPO, capture_output=True, text=True,
                          timeout=CHAIN_DOWN_BOUND + 120)
    took = time.monotonic() - started
    said = done.stdout + done.stderr
    assert done.returncode != 0, f"make test passed a chain that cannot start:\n{said}"
    assert took <= CHAIN_DOWN_BOUND, f"stopped only after {took:.0f} s (bound {CHAIN_DOWN_BOUND} s):\n{said}"
    assert said.count("the chain did not come up") == 1, said
    for words in ("rx (", "daemon MTA-RX: cannot bind: Cannot assign requested address",
                  f"configured at {REPO / folder}/rx/thishost-rx.mc:{line}", "what to do: the daemon binds an address"):
        assert words in said, f"the message lacks {words!r}:\n{said}"
    assert "ERROR at setup" not in said and " passed" not in said and " error" not in said, said
