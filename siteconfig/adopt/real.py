"""make test-real: real hosts' .mc files, as Debian's sendmail-cf package ships them, adopted
(make adopt) and run (make test with REAL_TESTS), each against the outcome recorded for it in
tests/real/outcomes.toml: the counts, the rows that fail or are not applicable and why, or the
message that refuses it. The files come from the package installed in the MTA-RX image, the
one whose sendmail runs them (its version is printed, and checked against the recorded one);
the repository holds none of them.

python -m siteconfig.adopt.real [NAME ...]   (RECORD=1: print the outcomes seen, as TOML;
REAL_TOPOLOGIES="dual milter": the topologies each file runs in, both unless told; REAL_JOBS:
how many files run at once, 2 unless told: each has its own images, chain and reports)
"""

import json
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from siteconfig.layout import REPO
from siteconfig.suite import Outcome, run_suite

__all__ = ["Outcome", "main"]

OUTCOMES = REPO / "tests" / "real" / "outcomes.toml"
WORK = REPO / ".build" / "real"
PACKAGE = "sendmail-cf"
TOPOLOGIES = ("dual", "milter")  # the document's chain, and the one sendmail with amavisd-milter it weighs it against


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


def _adopt(name: str, mc: Path) -> Path:
    """make adopt on the file: the pair and the milter topology's one sendmail, in WORK/name."""
    out = WORK / name
    env = {**os.environ, "ADOPT_SOURCE": f"{PACKAGE}:{mc.relative_to(WORK / 'pkg')}",
           "ADOPT_CF_TREE": str(WORK / "pkg" / "usr/share/sendmail/cf")}
    subprocess.run([sys.executable, "-m", "siteconfig.adopt", str(mc), str(out)], check=True, env=env, cwd=REPO)
    return out


def _run(name: str, out: Path, topology: str, tests: str) -> Outcome:
    """make test on the adopted folder in one topology: the rows, or the refusal's first line."""
    return run_suite(out, f"real-{name}", f"-m 'not slow' {tests}", WORK / f"{name}-{topology}.log", topology)


def _site(name: str, file: str, topologies: list[str], tests: str) -> list[tuple[str, Outcome]]:
    """One file adopted, then run in each topology in turn (they share its assembled folder)."""
    try:
        out = _adopt(name, WORK / "pkg" / file.lstrip("/"))
    except subprocess.CalledProcessError as failed:  # recorded as this file's outcome; the others still run
        return [(topology, Outcome(refused=f"make adopt failed (exit {failed.returncode})")) for topology in topologies]
    return [(topology, _run(name, out, topology, tests)) for topology in topologies]


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
    if "not_applicable_rows" in want:
        skipped, recorded = set(got.why_not), set(want["not_applicable_rows"])
        problems += [f"{name}: {test} not applicable now: {got.why_not[test]}" for test in sorted(skipped - recorded)]
        problems += [f"{name}: {test} recorded as not applicable, now {got.rows.get(test, 'not run')}"
                     for test in sorted(recorded - skipped)]
    return problems


def _as_toml(table: str, got: Outcome, file: str = "") -> str:
    """The outcome as outcomes.toml records it: [site.NAME] (dual, with its file) or [site.NAME.milter]."""
    head = f"[{table}]\n" + (f'file = "{file}"\n' if file else "")
    if got.refused:
        return head + f"refused = {json.dumps(re.escape(got.refused[:120]))}\n"
    failing = "".join(f'"{test}" = "why?"\n' for test, seen in sorted(got.rows.items()) if seen == "failed")
    why_not = "".join(f"{json.dumps(test)} = {json.dumps(why)}\n" for test, why in sorted(got.why_not.items()))
    return (head + f'passed = {got.count("passed")}\nfailed = {got.count("failed")}\n'
            f'not_applicable = {got.count("n/a")}\n' + (f"[{table}.failing]\n{failing}" if failing else "")
            + (f"[{table}.not_applicable_rows]\n{why_not}" if why_not else ""))


def main(names: list[str]) -> int:
    recorded = tomllib.loads(OUTCOMES.read_text())
    sites = {name: site for name, site in recorded["site"].items() if not names or name in names}
    unknown = sorted(set(names) - set(recorded["site"]))
    if unknown:
        raise SystemExit(f"test-real: no recorded site {', '.join(unknown)}: SITES= takes names from {OUTCOMES} "
                         f"({', '.join(recorded['site'])})")
    topologies = (os.environ.get("REAL_TOPOLOGIES") or " ".join(TOPOLOGIES)).split()
    if set(topologies) - set(TOPOLOGIES):
        raise SystemExit(f"test-real: TOPOLOGIES= takes {' and '.join(TOPOLOGIES)}, got {' '.join(topologies)}")
    version = _extract(f"testbed-rx:{os.environ.get('TESTBED_TAG', 'latest')}")
    print(f"test-real: {PACKAGE} {version} (recorded {recorded['package']['version']}), {len(sites)} files, "
          f"{' and '.join(topologies)} topology")
    lines = ["# Real sites' files, adopted and run", "", f"{PACKAGE} {version}; tests: `{recorded['tests']}`", "",
             "| file | topology | outcome | passed | failed | n/a | as recorded |", "|---|---|---|---:|---:|---:|---|"]
    problems, toml = [], []
    jobs = int(os.environ.get("REAL_JOBS") or 2)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # two sites at a time: a run mostly waits on mail
        runs = {name: pool.submit(_site, name, site["file"], topologies, recorded["tests"])
                for name, site in sites.items()}
        for name, site in sites.items():
            for topology, got in runs[name].result():
                want = site if topology == "dual" else site.get(topology, {})
                differs = _compare(f"{name} ({topology})", want, got)
                problems += differs
                toml.append(_as_toml(f"site.{name}", got, site["file"]) if topology == "dual"
                            else _as_toml(f"site.{name}.{topology}", got))
                shown = f"refused: {got.refused}" if got.refused else "ran"
                lines.append(f"| {site['file']} | {topology} | {shown} | {got.count('passed')} | "
                             f"{got.count('failed')} | {got.count('n/a')} | "
                             f"{'yes' if not differs else 'NO: ' + '; '.join(differs)} |")
                print(f"test-real: {name} ({topology}): {shown}, {got.count('passed')} passed, "
                      f"{got.count('failed')} failed, {got.count('n/a')} not applicable: "
                      f"{'as recorded' if not differs else 'CHANGED'}", flush=True)
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports" / "real.md").write_text("\n".join(lines) + "\n")
    if os.environ.get("RECORD"):
        print("\n".join(toml))
    for problem in problems:
        print(f"test-real: {problem}", file=sys.stderr)
    if version != recorded["package"]["version"]:
        print(f"test-real: note: the outcomes were recorded with {PACKAGE} {recorded['package']['version']}")
    print("test-real: reports/real.md; each run's log in .build/real/<name>-<topology>.log, the pair's decisions in "
          ".build/real/<name>/adopt.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
