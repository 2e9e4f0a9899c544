"""make test-real: real hosts' .mc files, as Debian's sendmail-cf package ships them, adopted
(make adopt) and run (make test with REAL_TESTS), each against the outcome recorded for it in
tests/real/outcomes.toml: the counts, the rows that fail or are not applicable and why, or the
message that refuses it. The files come from the package installed in the MTA-RX image, the
one whose sendmail runs them (its version is printed, and checked against the recorded one);
the repository holds none of them.

python -m siteconfig.adopt.real [NAME ...]   (RECORD=1: print the outcomes seen, as TOML)
"""

import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from siteconfig.folder import REPO

__all__ = ["Outcome", "main"]

OUTCOMES = REPO / "tests" / "real" / "outcomes.toml"
WORK = REPO / ".build" / "real"
PACKAGE = "sendmail-cf"


@dataclass
class Outcome:
    """What one adopted file got: refused (the message), or the rows by outcome."""

    refused: str = ""
    rows: dict[str, str] = field(default_factory=dict)  # test id -> passed, failed, n/a

    def count(self, outcome: str) -> int:
        return sum(1 for seen in self.rows.values() if seen == outcome)


def _extract(image: str) -> str:
    """The package's .mc files out of the image into WORK/pkg; its version."""
    script = (f"dpkg-query -W -f '${{Version}}\\n' {PACKAGE} >&2 && "
              f"dpkg -L {PACKAGE} | grep -E '/cf/((cf|debian)/[^/]+\\.mc|domain/[^/]+\\.m4)$' | tar -C / -cf - -T - "
              "2>/dev/null")
    (WORK / "pkg").mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "sh",
                           image, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as docker:
        untar = subprocess.run(["tar", "-C", str(WORK / "pkg"), "-xf", "-"], stdin=docker.stdout, capture_output=True)
        version = docker.stderr.read().decode().strip() if docker.stderr else ""
    if docker.returncode or untar.returncode:
        raise SystemExit(f"test-real: cannot take {PACKAGE}'s .mc files out of {image} (make build first): "
                         f"{version or untar.stderr.decode().strip()}")
    return version


def _rows(junit: Path) -> dict[str, str]:
    rows = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        rows[test] = "failed" if failed else "n/a" if case.find("skipped") is not None else "passed"
    return rows


def _refusal(output: str) -> str:
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


def _run(name: str, mc: Path, tests: str) -> Outcome:
    """Adopt the file, then make test on the pair: the rows, or the refusal's first line."""
    out = WORK / name
    env = {**os.environ, "ADOPT_SOURCE": f"{PACKAGE}:{mc.relative_to(WORK / 'pkg')}",
           "ADOPT_CF_TREE": str(WORK / "pkg" / "usr/share/sendmail/cf")}
    subprocess.run([sys.executable, "-m", "siteconfig.adopt", str(mc), str(out)], check=True, env=env, cwd=REPO)
    report = f"real-{name}"
    junit = REPO / "reports" / f"junit-{report}.xml"
    junit.unlink(missing_ok=True)
    done = subprocess.run(["make", "--no-print-directory", "test", f"CONFIG={out}", "TEST_CHAINS=1",
                           f"REPORT={report}", f"PYTEST_ARGS=-m 'not slow' {tests}"],
                          cwd=REPO, capture_output=True, text=True)
    (WORK / f"{name}.log").write_text(done.stdout + done.stderr)
    if not junit.is_file():  # refused before the suite: lint, the build, or a chain that did not come up
        return Outcome(refused=_refusal(done.stdout + done.stderr) or f"(no message: see {WORK / name}.log)")
    return Outcome(rows=_rows(junit))


def _compare(name: str, want: dict, got: Outcome) -> list[str]:
    """What differs from the recorded outcome, as sentences; none when it matches."""
    if want.get("refused") or got.refused:
        if want.get("refused") and got.refused and re.search(want["refused"], got.refused):
            return []
        return [f"{name}: recorded {'refused: ' + want['refused'] if want.get('refused') else 'a run'}, "
                f"got {'refused: ' + got.refused if got.refused else 'a run'}"]
    problems = []
    for outcome, key in (("passed", "passed"), ("failed", "failed"), ("n/a", "not_applicable")):
        if got.count(outcome) != want.get(key, 0):
            problems.append(f"{name}: {got.count(outcome)} {outcome}, recorded {want.get(key, 0)}")
    failing = {test for test, seen in got.rows.items() if seen == "failed"}
    recorded = set(want.get("failing", {}))
    problems += [f"{name}: {test} fails now (not recorded)" for test in sorted(failing - recorded)]
    problems += [f"{name}: {test} recorded as failing, now {got.rows.get(test, 'not run')}"
                 for test in sorted(recorded - failing)]
    return problems


def _as_toml(name: str, file: str, got: Outcome) -> str:
    if got.refused:
        return f'[site.{name}]\nfile = "{file}"\nrefused = "{re.escape(got.refused[:120])}"\n'
    failing = "".join(f'"{test}" = "why?"\n' for test, seen in sorted(got.rows.items()) if seen == "failed")
    return (f'[site.{name}]\nfile = "{file}"\npassed = {got.count("passed")}\nfailed = {got.count("failed")}\n'
            f'not_applicable = {got.count("n/a")}\n' + (f"[site.{name}.failing]\n{failing}" if failing else ""))


def main(names: list[str]) -> int:
    recorded = tomllib.loads(OUTCOMES.read_text())
    sites = {name: site for name, site in recorded["site"].items() if not names or name in names}
    version = _extract(f"testbed-rx:{os.environ.get('TESTBED_TAG', 'latest')}")
    print(f"test-real: {PACKAGE} {version} (recorded {recorded['package']['version']}), {len(sites)} files")
    lines = ["# Real sites' files, adopted and run", "", f"{PACKAGE} {version}; tests: `{recorded['tests']}`", "",
             "| file | outcome | passed | failed | n/a | as recorded |", "|---|---|---:|---:|---:|---|"]
    problems, toml = [], []
    for name, site in sites.items():
        got = _run(name, WORK / "pkg" / site["file"].lstrip("/"), recorded["tests"])
        differs = _compare(name, site, got)
        problems += differs
        toml.append(_as_toml(name, site["file"], got))
        shown = f"refused: {got.refused}" if got.refused else "ran"
        lines.append(f"| {site['file']} | {shown} | {got.count('passed')} | {got.count('failed')} | "
                     f"{got.count('n/a')} | {'yes' if not differs else 'NO: ' + '; '.join(differs)} |")
        print(f"test-real: {name}: {shown}, {got.count('passed')} passed, {got.count('failed')} failed, "
              f"{got.count('n/a')} not applicable: {'as recorded' if not differs else 'CHANGED'}")
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "real.md").write_text("\n".join(lines) + "\n")
    if os.environ.get("RECORD"):
        print("\n".join(toml))
    for problem in problems:
        print(f"test-real: {problem}", file=sys.stderr)
    if version != recorded["package"]["version"]:
        print(f"test-real: note: the outcomes were recorded with {PACKAGE} {recorded['package']['version']}")
    print("test-real: reports/real.md; each pair's log in .build/real/<name>.log, its decisions in "
          ".build/real/<name>/adopt.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
