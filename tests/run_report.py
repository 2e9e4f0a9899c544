"""What a run reports beside pytest's own output: the fault table (one row per fault),
the count of hostile inputs tried (both printed, the table also written to
reports/faults-<time>.md), and reports/summary.md, a Markdown summary of the whole run
fit for a pull-request comment (JUnit XML comes from pytest's --junitxml)."""

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from siteconfig.policy import Derivation
from tests import topology_report

__all__ = ["HOSTILE", "ROWS", "FaultRow", "markdown", "write_summary", "write_table"]


@dataclass(frozen=True)
class FaultRow:
    fault: str
    acknowledged: int  # got 250 at the end of DATA
    delivered: int
    lost: int
    duplicated: int
    refused: int  # refused or failed sends (not acknowledged: the client still has them)
    drain_s: float  # from the chain healed to the last acknowledged message arriving
    host: str  # how busy the machine was meanwhile (harness.host): a slow drain's first suspect
    notes: str


ROWS: list[FaultRow] = []
HOSTILE: list[str] = []  # one line per pass of hostile input (e.g. the fuzz pass)


def markdown(rows: list[FaultRow]) -> str:
    names = list(asdict(rows[0]))
    lines = ["| " + " | ".join(n.replace("_", " ") for n in names) + " |",
             "| " + " | ".join("---" if n in ("fault", "host", "notes") else "---:" for n in names) + " |"]
    lines += ["| " + " | ".join(str(v) for v in asdict(row).values()) + " |" for row in rows]
    return "\n".join(lines)


def write_table(directory: Path) -> Path | None:
    if not ROWS:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"faults-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text("# Faults under load\n\n" + markdown(ROWS) + "\n")
    return path


def _first_line(report: Any) -> str:
    text = str(getattr(report, "longreprtext", "") or report.longrepr or "")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("E ")]
    return (lines[0][1:].strip() if lines else text.strip().splitlines()[-1] if text.strip() else "")[:300]


def write_summary(terminal: Any, path: Path, config: str, derived: Derivation | None = None,
                  topology: str = "dual") -> Path | None:
    """A Markdown summary from pytest's terminal reporter: the outcome, each failure with
    its first error line, each test the policy made not applicable with its reason, and the
    document's claims as the tests found them, beside the other topology's run when there is
    one (tests/topology_report.py). The chain gets a verdict only if chain tests ran; no file
    if no test ran at all."""
    stats = terminal.stats
    passed, failed = stats.get("passed", []), stats.get("failed", []) + stats.get("error", [])
    skipped = stats.get("skipped", [])
    ran = [r for r in passed + failed + skipped if getattr(r, "when", "call") in ("call", "setup")]
    if not ran:
        return None
    verdict = "FAILED" if failed else "PASSED"
    if any("chain" in r.keywords for r in ran):
        title = f"# Testbed: {verdict}"
    else:
        title = f"# Unit tests: {verdict} (no chain test ran: this says nothing about the chain)"
    lines = [title, "", f"Configuration `{config}`, {topology} topology: {len(passed)} passed, {len(failed)} "
             f"failed, {len(skipped)} not applicable or skipped.", ""]
    if derived is not None:
        lines += [f"Its policy was derived from the configuration (no policy.toml); not stated: "
                  f"{'; '.join(derived.unstated) or 'nothing'}.", ""]
    if failed:
        lines += ["## Failures", ""] + [f"- `{r.nodeid}`: {_first_line(r)}" for r in failed] + [""]
    if skipped:
        lines += ["## Not applicable", ""]
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            lines.append(f"- `{report.nodeid}`: {reason.removeprefix('Skipped: ')}")
        lines.append("")
    lines += _topologies(ran, path, topology)
    if ROWS:
        lines += ["## Faults under load", "", markdown(ROWS), ""]
    if HOSTILE:
        lines += ["## Hostile input", ""] + [f"- {line}" for line in HOSTILE] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def _topologies(reports: list[Any], path: Path, topology: str) -> list[str]:
    """The claims rows of this run, and both topologies side by side when the other ran too."""
    runs = {topology: topology_report.from_reports(reports)}
    other, other_xml = topology_report.other_topology_junit(path.with_name(path.stem.replace("summary", "junit")
                                                                            + ".xml"))
    if other_xml.is_file():
        runs[other] = topology_report.from_junit(other_xml)
    lines = []
    claims = topology_report.claims_markdown(runs)
    if claims:
        lines += ["## The document's milter-vs-dual claims, as found", "", *claims, ""]
    if len(runs) > 1:
        runs = dict(sorted(runs.items()))  # dual first
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(other_xml.stat().st_mtime))
        # Whatever run left that file: its time lets a reader see it is not from another day.
        lines += [f"## Both topologies (the {other} column is from {other_xml.name}, written {written})", "",
                  topology_report.side_by_side(runs), ""]
    return lines
