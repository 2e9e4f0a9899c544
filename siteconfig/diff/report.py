"""reports/diff.md, for a person (what changed, read in a minute) and reports/junit-diff.xml,
for a pipeline (one case per change: a failure where the change is not declared)."""

import xml.etree.ElementTree as ET
from pathlib import Path

from siteconfig.diff.compare import Comparison, recipient_classes
from siteconfig.diff.promises import Promises

__all__ = ["write_junit", "write_markdown"]


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")[:220]


def write_markdown(path: Path, names: tuple[str, str], old: Promises, new: Promises, got: Comparison,
                   files: tuple[list[str], list[str]]) -> None:
    meant, comments = files
    verdict = ("nothing changed" if not got.changed else
               "changed, as declared (EXPECT)" if not got.undeclared else "changed: needs review")
    lines = [f"# What the change changes: {verdict}", "", f"- OLD: {names[0]}", f"- NEW: {names[1]}",
             f"- files whose meaning differs: {', '.join(meant) or 'none'}",
             f"- files that differ only in comments: {', '.join(comments) or 'none'}", ""]
    if got.undeclared:
        lines += ["## Needs review", "", *[f"- {why}" for why in got.undeclared], ""]
    for side, said in got.refused.items():
        lines += [f"**{side} refused:** {said}", ""]
    lines += ["## Policy values that changed", ""]
    if got.values:
        lines += ["| value | OLD | NEW | set on OLD by | set on NEW by |", "|---|---|---|---|---|"]
        lines += [f"| `{c.key}` | {_cell(c.old)} | {_cell(c.new)} | {_cell(c.old_source)} | {_cell(c.new_source)} |"
                  for c in got.values]
    else:
        lines.append("none")
    lines += ["", "## Rows whose outcome changed", ""]
    if got.rows:
        lines += ["| row | OLD | NEW | why (OLD / NEW) |", "|---|---|---|---|"]
        lines += [f"| `{r.test}` | {r.old} | {r.new} | {_cell(r.old_why) or '-'} / {_cell(r.new_why) or '-'} |"
                  for r in got.rows]
    else:
        lines.append("none")
    lines += ["", "## What each class of recipient gets", "", "| recipients | OLD | NEW | |", "|---|---|---|---|"]
    for (what, before), (_, after) in zip(recipient_classes(old), recipient_classes(new), strict=True):
        lines.append(f"| {what} | {_cell(before)} | {_cell(after)} | {'**changed**' if before != after else ''} |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_junit(path: Path, got: Comparison) -> None:
    suite = ET.Element("testsuite", name="diff")
    cases = [(f"policy {c.key}", f"{c.old!r} -> {c.new!r} ({c.new_source})") for c in got.values]
    cases += [(f"row {r.test}", f"{r.old} -> {r.new}: {r.new_why}") for r in got.rows]
    cases += [(f"refused {side}", said) for side, said in got.refused.items()]
    undeclared = " ".join(got.undeclared)
    for name, said in cases:
        case = ET.SubElement(suite, "testcase", classname="diff", name=name)
        ET.SubElement(case, "system-out").text = said
    verdict = ET.SubElement(suite, "testcase", classname="diff", name="every change is declared")
    if got.undeclared:
        ET.SubElement(verdict, "failure", message=undeclared[:500]).text = "\n".join(got.undeclared)
    suite.set("tests", str(len(cases) + 1))
    suite.set("failures", "1" if got.undeclared else "0")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
