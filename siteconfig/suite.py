"""One run of the suite on a configuration folder, as make runs it (`make test CONFIG=...`), read
back from its JUnit report: each row's outcome, why a row was not applicable or failed, or the
one message that refused the folder before any test ran. make test-real and make diff both
compare such runs; this is the one place that starts them and reads them."""

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from siteconfig.layout import REPO

__all__ = ["Outcome", "read_junit", "refusal", "run_suite"]


@dataclass
class Outcome:
    """What one run got: refused (the message), or the rows by outcome."""

    refused: str = ""
    rows: dict[str, str] = field(default_factory=dict)  # test id -> passed, failed, n/a
    why_not: dict[str, str] = field(default_factory=dict)  # test id -> why it is not applicable
    why_failed: dict[str, str] = field(default_factory=dict)  # test id -> the failure's first line

    def count(self, outcome: str) -> int:
        return sum(1 for seen in self.rows.values() if seen == outcome)


def read_junit(junit: Path) -> Outcome:
    """Each row's outcome; for a row not applicable its reason (without the note on the derived
    policy every reason carries when the folder states none), for a failed one its message."""
    got = Outcome()
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        failure = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        got.rows[test] = "failed" if failure is not None else "n/a" if skipped is not None else "passed"
        if failure is not None:
            said = (failure.get("message") or "").strip().splitlines()
            got.why_failed[test] = said[0][:300] if said else ""
        elif skipped is not None:
            why = re.sub(r"^not applicable: | \(no stated policy: .*$", "", skipped.get("message") or "")
            got.why_not[test] = why.strip()
    return got


def refusal(output: str) -> str:
    """The one message that stopped the run: a lint problem, or the chain's Exit line with the
    first SMTP refusal or cause under it."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Exit: "):
            causes = [later.strip() for later in lines[i + 1:] if re.match(r"\s+S: [45]\d\d |\s+what to do", later)]
            following = [later.strip() for later in lines[i + 1:i + 2] if not later.startswith("make")]
            cause = causes[0] if causes else following[0] if following else ""
            said = f"{line.removeprefix('Exit: ')} {cause}".strip()
            return re.sub(r" \(project [^)]*\)|<preflight\.[^>]*>", "", said)  # what changes from run to run
    problems = [line for line in lines if re.match(r"(lint|refused): \S+:\d+: |.*\*\*\* ", line)]
    return problems[0] if problems else ""


def run_suite(config: Path, report: str, pytest_args: str, log: Path, topology: str = "dual",
              make_args: tuple[str, ...] = ()) -> Outcome:
    """make test on the folder with one chain (so two runs fit this machine side by side): the
    rows, or the refusal's first line. `pytest_args` may name tests (with -m, it replaces make
    test's own selection). The whole output goes to `log`."""
    junit = REPO / "reports" / f"junit-{report}{'-milter' if topology == 'milter' else ''}.xml"  # make's REPORT_NAME
    junit.unlink(missing_ok=True)
    done = subprocess.run(["make", "--no-print-directory", "test", f"CONFIG={config}", f"TOPOLOGY={topology}",
                           "TEST_CHAINS=1", f"REPORT={report}", f"PYTEST_ARGS={pytest_args}", *make_args],
                          cwd=REPO, capture_output=True, text=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.stdout + done.stderr)
    if not junit.is_file():  # refused before the suite: lint, the build, or a chain that did not come up
        return Outcome(refused=refusal(done.stdout + done.stderr) or f"(no message: see {log})")
    return read_junit(junit)
