"""make switch from the sample to a changed copy of it (the size limit lowered, a user removed),
under load, in the rolling order (MTA-TX, amavisd-new, MTA-RX in turn) and all at once: every
acknowledged message arrives, and the switched chain runs NEW's configuration. `make
test-switch`; each order starts a chain of its own."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from siteconfig.layout import REPO, SAMPLE

pytestmark = pytest.mark.switch

SMALLER = 5 * 1024 * 1024


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} has no {old!r}: the sample changed under this test"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("switch") / "smaller-limit"
    shutil.copytree(SAMPLE, folder)
    _edit(folder / "policy.toml", "max_message_size = 10485760", f"max_message_size = {SMALLER}")
    _edit(folder / "rx" / "thishost-rx.mc", "`10485760')", f"`{SMALLER}')")
    return folder


def test_a_switch_under_load_loses_nothing_in_either_order(changed: Path) -> None:
    report = REPO / "reports" / "switch.md"
    report.unlink(missing_ok=True)  # the evidence is this run's, never an earlier one's
    done = subprocess.run(["make", "--no-print-directory", "switch", f"OLD={SAMPLE}", f"NEW={changed}",
                           "LOADGEN_ARGS=--before 20 --after 20"], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    said = f"{done.stdout[-8000:]}\n{done.stderr[-4000:]}\n--- reports/switch.md ---\n" + (
        report.read_text() if report.is_file() else "(none)")
    assert done.returncode == 0, said
    rows = re.findall(r"^\| (rolling|oneshot) \| [^|]* \| (\d+) \| (\d+) \| (\d+) \| .* \| (\S+) -> (\S+) \|$",
                      report.read_text(), re.M)
    assert {order for order, *_ in rows} == {"rolling", "oneshot"}, said
    for order, acknowledged, delivered, lost, size_before, size_after in rows:
        assert int(lost) == 0, f"{order}: {lost} lost\n{said}"
        assert int(acknowledged) >= 40 and int(delivered) == int(acknowledged), f"{order}\n{said}"
        assert (size_before, size_after) == ("10485760", str(SMALLER)), f"{order}: NEW is not what runs\n{said}"
