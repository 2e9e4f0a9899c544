"""The summary's view of the two topologies: what each test module did on each, and the
document's claims as the tests found them (tests/claims.py records them as JUnit properties).

A run of one topology reads the other's JUnit file when it is there (make test writes
reports/junit.xml, make test TOPOLOGY=milter reports/junit-milter.xml), so whichever runs
second sets both side by side.
"""

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DIFFERS", "NOT_BORNE_OUT", "Outcomes", "claims_markdown", "from_junit", "from_reports",
           "other_topology_junit", "side_by_side"]

DIFFERS = "differs_by_design"  # the JUnit property names tests/claims.py records
NOT_BORNE_OUT = "not_borne_out"
KINDS = ("passed", "failed", "n/a", "differs by design", "claim not borne out")


@dataclass
class Outcomes:
    """Per test module, how many tests ended which way; and each claim row (test, text)."""

    by_module: dict[str, Counter[str]] = field(default_factory=dict)
    claims: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, test, text)

    def add(self, nodeid: str, outcome: str, properties: list[tuple[str, str]]) -> None:
        module = nodeid.split("::")[0].removeprefix("tests/")  # unit/test_x.py apart from test_x.py
        counts = self.by_module.setdefault(module, Counter())
        counts[outcome] += 1
        for name, text in properties:
            kind = {DIFFERS: "differs by design", NOT_BORNE_OUT: "claim not borne out"}.get(name)
            if kind:
                counts[kind] += 1
                self.claims.append((kind, nodeid.split("::")[-1], text))


def from_reports(reports: list[Any]) -> Outcomes:
    """From pytest's reports of this run (the terminal reporter's stats)."""
    outcomes = Outcomes()
    for report in reports:
        if report.when == "call" or report.outcome != "passed":
            outcome = {"passed": "passed", "failed": "failed", "skipped": "n/a"}[report.outcome]
            outcomes.add(report.nodeid, outcome, list(getattr(report, "user_properties", [])))
    return outcomes


def from_junit(path: Path) -> Outcomes:
    """From another run's JUnit XML (pytest writes user properties into it)."""
    outcomes = Outcomes()
    for case in ET.parse(path).getroot().iter("testcase"):
        nodeid = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "n/a"
        else:
            outcome = "passed"
        properties = [(p.get("name", ""), p.get("value", "")) for p in case.iter("property")]
        outcomes.add(nodeid, outcome, properties)
    return outcomes


def other_topology_junit(xml: Path) -> tuple[str, Path]:
    """The other topology's name and JUnit file of the same target (junit.xml <-> junit-milter.xml)."""
    if xml.stem.endswith("-milter"):
        return "dual", xml.with_name(xml.stem.removesuffix("-milter") + ".xml")
    return "milter", xml.with_name(xml.stem + "-milter.xml")


def _cell(counts: Counter[str] | None) -> str:
    if counts is None:
        return "(not run)"
    return ", ".join(f"{counts[kind]} {kind}" for kind in KINDS if counts[kind]) or "-"


def side_by_side(runs: dict[str, Outcomes]) -> str:
    """A Markdown table: one row per test module, one column per topology."""
    names = list(runs)
    modules = sorted({m for outcomes in runs.values() for m in outcomes.by_module})
    lines = ["| module | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {module} | " + " | ".join(_cell(runs[n].by_module.get(module)) for n in names) + " |"
              for module in modules]
    return "\n".join(lines)


def claims_markdown(runs: dict[str, Outcomes]) -> list[str]:
    """The document's claims as found: one line per differing or surprising test."""
    lines = []
    for name, outcomes in runs.items():
        for kind, test, text in outcomes.claims:
            lines.append(f"- **{name}**, {kind}: `{test}`: {text}")
    return lines
