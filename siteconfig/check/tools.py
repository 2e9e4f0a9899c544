"""The tools' own verdicts, in the built images: sendmail accepts the .cf files (-bt; m4
already expanded the .mc files in the build, siteconfig/build.py), BIND loads the zone the
DNS container will serve, amavisd-new loads its configuration."""

import json
import os
import re
import subprocess
from pathlib import Path

from siteconfig.check.context import Finding
from siteconfig.compiled import chain_cfs
from siteconfig.configfiles import ConfigFiles
from siteconfig.dnsworld import sample_zone

__all__ = ["check_tools", "image_output"]


def _in_image(image: str, script: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a fresh container of the image, `stdin` on its standard input."""
    attach = ["-i"] if stdin is not None else []
    return subprocess.run(["docker", "run", "--rm", *attach, "--network", "none", "--entrypoint", "sh", image, "-c",
                           script], input=stdin or "", capture_output=True, text=True, timeout=300)


def image_output(image: str, script: str) -> str:
    """What a shell script prints in a fresh container of the image (no network)."""
    return _in_image(image, script).stdout


def _sendmail(files: ConfigFiles, tag: str) -> list[Finding]:
    findings = []
    for service, (name, cf) in chain_cfs().items():
        image, made_from = f"{name}:{tag}", files.shown(files.cf_source(service))
        out = _in_image(image, f"sendmail -C{cf} -bt -d0.1 </dev/null 2>&1; echo exit=$?")
        for line in out.stdout.splitlines():
            if match := re.match(rf"{re.escape(cf)}: line (\d+): (.*)", line):
                findings.append(_cf_line(files, service, image, int(match.group(1)), match.group(2)))
        if "exit=0" not in out.stdout and not findings:
            findings.append(Finding(made_from, None, f"sendmail's config test failed:\n{out.stdout[-1500:]}"))
    return findings


def _cf_line(files: ConfigFiles, service: str, image: str, line: int, message: str) -> Finding:
    """A line of the compiled .cf sendmail refused, shown at the .mc line it came from when
    the text it quotes is there (a misspelled macro passes through m4 as it is)."""
    made_from = files.shown(files.cf_source(service))
    quoted = re.search(r'"([^"]{4,})"', message)
    mc = files.mc(service)
    if quoted and mc is not None:
        needle = quoted.group(1).strip()
        for number, text in enumerate(mc.splitlines(), start=1):
            if needle in text.replace("`", "").replace("'", ""):
                return Finding(made_from, number, f"sendmail: {message} (line {line} of the .cf made from it)")
    return Finding(f"{chain_cfs()[service][1]} (in {image}, made from {made_from})", line, f"sendmail: {message}")


def _zones(files: ConfigFiles, tag: str) -> list[Finding]:
    """The zone the dns container will load: what the policy implies (stand-in addresses) and
    the configuration's own dns/*.zone records, through BIND's zone checker."""
    own = [f"dns/{path.name}" for path in sorted((files.assembled / "dns").glob("*.zone"))]
    made = json.loads((files.assembled / "dns" / "world.json").read_text())
    zone = sample_zone(made, [f"/etc/testbed/{rel}" for rel in own])
    out = _in_image(f"testbed-dns:{tag}", "cat >/tmp/world.zone; named-checkzone -k fail . /tmp/world.zone 2>&1;"
                    " echo exit=$?", stdin=zone)
    if "exit=0" in out.stdout:
        return []
    findings = []
    for rel in own:
        for line, text in re.findall(rf"/etc/testbed/{re.escape(rel)}:(\d+): (.*)", out.stdout):
            findings.append(Finding(files.shown(rel), int(line), f"BIND's zone check: {text}"))
    zone_lines = zone.splitlines()
    for line, text in re.findall(r"/tmp/world\.zone:(\d+): (.*)", out.stdout):
        findings.append(Finding(files.shown("policy.toml"), None, f"the DNS zone made from it does not load: "
                                f"{text} (record: {zone_lines[int(line) - 1]!r})"))
    return findings or [Finding("dns/", None, f"BIND's zone check failed:\n{out.stdout[-1500:]}")]


def _amavis(files: ConfigFiles, tag: str) -> list[Finding]:
    # showkeys loads the whole configuration (conf.d in order) and exits.
    out = _in_image(f"testbed-amavis:{tag}", "amavisd showkeys >/tmp/out 2>&1; rc=$?; cat /tmp/out; echo exit=$rc")
    if "exit=0" in out.stdout:
        return []
    match = re.search(r"/etc/amavis/conf\.d/(\S+?)\"?:? .*? line (\d+)", out.stdout)
    where = (files.shown(f"amavis/{match.group(1)}"), int(match.group(2))) if match else ("amavis/", None)
    # Perl's own words about the file; the rest (a host name lookup, the exit) is noise.
    said = [line for line in out.stdout.splitlines() if "/etc/amavis/conf.d/" in line] or [out.stdout[-1500:]]
    return [Finding(*where, "amavisd-new (Perl) does not load it:\n" + "\n".join(f"    {line}" for line in said))]


def check_tools(assembled: Path, source: Path, tag: str) -> list[Finding]:
    """m4, sendmail -bt, BIND's zone check and amavisd-new's own config loading, in the built images."""
    files = ConfigFiles(assembled, source, os.environ.get("TESTBED_TOPOLOGY") or "dual")
    return _sendmail(files, tag) + _zones(files, tag) + _amavis(files, tag)
