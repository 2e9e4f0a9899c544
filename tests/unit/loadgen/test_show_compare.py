"""Sweeps set side by side (`python -m loadgen report A B`): one sweep per topology."""

from dataclasses import replace
from pathlib import Path

from loadgen.cli.options import main
from loadgen.show.compare import comparison, read_sweeps
from loadgen.show.report import write_report
from tests.unit.loadgen.test_show_report import META, milter_point, point


def two_sweeps(tmp_path: Path) -> list[Path]:
    dual, milter = tmp_path / "dual", tmp_path / "milter"
    write_report([point(1, 1.6, 0.1, 160), point(2, 3.0, 0.2, 200)], dual, META, plots=False)
    write_report([milter_point(1, 2.4, 0.1, 160), milter_point(2, 3.1, 0.2, 200),
                  milter_point(3, 3.0, 0.2, 240)], milter, {**META, "topology": "milter"}, plots=False)
    return [dual, milter]


def test_each_sweep_is_a_curve_named_by_its_topology(tmp_path: Path) -> None:
    sweeps = read_sweeps(two_sweeps(tmp_path))
    assert [label for label, _ in sweeps] == ["dual", "milter"]
    assert [p.workers for p in sweeps[1][1]] == [1, 2, 3]
    twice = read_sweeps([tmp_path / "dual", tmp_path / "dual"])  # the same label twice: the folder tells them apart
    assert [label for label, _ in twice] == ["dual (dual)", "dual (dual)"]


def test_the_table_sets_each_sweep_against_the_first_with_the_verdict_its_intervals_allow(tmp_path: Path) -> None:
    table = comparison(read_sweeps(two_sweeps(tmp_path)))
    assert "| workers | dual | milter | milter vs dual | verdict |" in table
    assert "| 1 | 1.60 +- 0.10 | 2.40 +- 0.10 | +0.80 +- 0.14 | faster by 50% |" in table
    assert "| 2 | 3.00 +- 0.20 | 3.10 +- 0.20 | +0.10 +- 0.28 | noise larger than the effect: no conclusion |" in table
    assert "| 3 | - | 3.00 +- 0.20 | - | - |" in table
    assert "| milter | 2 | 478 | 95% | 200 | 1 msg/s | 1.80 s | 4.00 s |" in table
    assert "- dual: knee at 2 workers" in table and "- milter: knee at 2 workers" in table


def test_report_with_two_folders_writes_the_table_and_one_plot_of_both(tmp_path: Path) -> None:
    out = tmp_path / "both"
    assert main(["report", *map(str, two_sweeps(tmp_path)), "--out", str(out)]) == 0
    assert "| workers | dual | milter |" in (out / "summary.md").read_text()
    assert (out / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_variant_other_than_shipped_is_named_in_its_label(tmp_path: Path) -> None:
    write_report([replace(point(1, 1.6, 0.1, 160), variant="tmpfs")], tmp_path / "t", META, plots=False)
    assert [label for label, _ in read_sweeps([tmp_path / "t"])] == ["dual tmpfs"]
