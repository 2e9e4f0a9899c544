"""scripts/import-circles.py (make lint): tiny packages written to tmp_path, with a circle and
without, so the check is known to see one, hidden ones too, and to stay quiet otherwise."""

import subprocess
import sys
from pathlib import Path

from siteconfig.layout import REPO

SCRIPT = REPO / "scripts" / "import-circles.py"


def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), "pkg"], capture_output=True, text=True)


def test_a_circle_hidden_in_a_function_is_reported_with_each_import_line(tmp_path: Path) -> None:
    _package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import helper\n",
                        "pkg/b.py": "def helper():\n    from pkg import a\n    return a\n"})
    done = _run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pkg.a -> pkg.b -> pkg.a" in done.stdout
    assert "pkg/a.py:1" in done.stdout and "pkg/b.py:2" in done.stdout


def test_a_circle_through_a_package_init_is_reported(tmp_path: Path) -> None:
    # pkg.low imports pkg.wing.reader, which runs pkg/wing/__init__.py first, which imports pkg.low.
    _package(tmp_path, {"pkg/__init__.py": "", "pkg/low.py": "from pkg.wing.reader import read\n",
                        "pkg/wing/__init__.py": "from pkg.wing.check import check\n",
                        "pkg/wing/check.py": "from pkg.low import read\n", "pkg/wing/reader.py": "def read(): ...\n"})
    done = _run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pkg.low -> pkg.wing -> pkg.wing.check -> pkg.low" in done.stdout
    assert "pkg/low.py:1 (runs pkg.wing's __init__)" in done.stdout


def test_a_package_without_a_circle_passes(tmp_path: Path) -> None:
    # A package's __init__ importing its submodules, which import each other, is no circle.
    _package(tmp_path, {"pkg/__init__.py": "from pkg.top import run\n", "pkg/top.py": "from pkg import low\nrun = 1\n",
                        "pkg/low.py": "import os\nfrom . import leaf\n", "pkg/leaf.py": "import pkg.nothing_here\n"})
    done = _run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no import circles among 4 modules" in done.stdout
