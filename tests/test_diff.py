"""make diff on two changes a site makes: the sample against a copy with one user removed and
the size limit lowered reports exactly those two promises (each with the file:line that sets
it on NEW) and nothing else, and exits 0 when EXPECT declares them (tests/unit/test_diff.py has
the verdict's other cases); a copy that differs only in comments reports no change.
`make test-diff`; each make diff runs both sides' suites on chains of their own."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from siteconfig.layout import REPO, SAMPLE

pytestmark = pytest.mark.diff

# The rows that read the two promises, and a little of everything else: enough to show a
# consequence, short enough for CI (DIFF_TESTS).
TESTS = "-m 'not slow' tests/test_routing.py tests/test_rejection.py"
SMALLER = 5 * 1024 * 1024


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(SAMPLE, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} has no {old!r}: the sample changed under this test"
    path.write_text(text.replace(old, new, 1))


def _diff(new: Path, expect: str = "") -> tuple[subprocess.CompletedProcess[str], str]:
    done = subprocess.run(["make", "--no-print-directory", "diff", f"OLD={SAMPLE}", f"NEW={new}", f"EXPECT={expect}",
                           f"DIFF_TESTS={TESTS}"], cwd=REPO, capture_output=True, text=True, timeout=1500)
    report = REPO / "reports" / "diff.md"
    return done, report.read_text() if report.is_file() else "(no reports/diff.md)"


def _changed_values(output: str) -> set[str]:
    return set(re.findall(r"^diff: (\w+\.\w+): .* -> ", output, re.M))


@pytest.fixture(scope="module")
def two_changes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = _copy(tmp_path_factory.mktemp("diff"), "two-changes")
    _edit(folder / "users", "\ndave\n", "\n")
    _edit(folder / "policy.toml", '"carol", "dave", "admin"', '"carol", "admin"')
    _edit(folder / "policy.toml", "max_message_size = 10485760", f"max_message_size = {SMALLER}")
    _edit(folder / "rx" / "thishost-rx.mc", "`10485760')", f"`{SMALLER}')")
    return folder


def test_a_change_of_one_user_and_the_size_limit_reports_exactly_those_promises_and_passes_when_declared(
    two_changes: Path,
) -> None:
    done, report = _diff(two_changes, expect="users.existing limits.max_message_size")
    said = f"{done.stdout}\n{done.stderr}\n--- reports/diff.md ---\n{report}"
    assert _changed_values(done.stdout) == {"users.existing", "limits.max_message_size"}, said
    assert re.search(r"limits\.max_message_size: 10485760 -> 5242880 +\(NEW: policy\.toml:\d+\)", done.stdout), said
    assert re.search(r"users\.existing: .*'dave'.* -> (?!.*dave).*\(NEW: policy\.toml:\d+\)", done.stdout), said
    assert "needs review" not in done.stderr, said
    assert done.returncode == 0, said
    assert re.search(r"\| size limit \| 10485760 bytes .* \| 5242880 bytes .* \| \*\*changed\*\* \|", report), said
    assert re.search(r"\| local users \| .*dave.* \| (?!.*dave).* \| \*\*changed\*\* \|", report), said
    assert report.count("**changed**") == 2, said
    assert re.search(r"files whose meaning differs: policy\.toml, rx/thishost-rx\.mc, users$", report, re.M), said


def test_a_copy_that_differs_only_in_comments_reports_no_change(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "comments-only")
    _edit(folder / "rx" / "thishost-rx.mc", "divert(0)dnl\n", "divert(0)dnl\ndnl reviewed for the audit\n")
    _edit(folder / "policy.toml", "[limits]\n", "[limits]  # unchanged since the last audit\n")
    done, report = _diff(folder)
    said = f"{done.stdout}\n{done.stderr}\n--- reports/diff.md ---\n{report}"
    assert done.returncode == 0, said
    assert "diff: nothing changed" in done.stdout, said
    assert re.search(r"files that differ only in comments: policy\.toml, rx/thishost-rx\.mc$", report, re.M), said
