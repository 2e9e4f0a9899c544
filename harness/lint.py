"""Check a configuration before anything starts: each finding names the file and line.

Static checks (no Docker): policy.toml parses and validates, and agrees with the
configuration where both state a thing (size limit, R= and $max_servers, local domains,
users, spam lovers, content destinies, unchecked domains, the submission account).
Tool checks, in the built images: the .mc files expand with m4 without errors, sendmail
accepts the generated .cf files (-bt), amavisd-new loads its configuration.

python -m harness.lint   (make lint-config) checks $TESTBED_CONFIG, assembled from
$TESTBED_SOURCE_CONFIG; exit status 1 when anything is wrong.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.configfolder import SAMPLE
from harness.dnsworld import sample_zone
from harness.policy import Policy, PolicyError, line_of, load_policy

__all__ = ["Finding", "lint_static", "lint_tools"]

REPO = Path(__file__).resolve().parents[1]
# amavisd-new's final destinies when no snippet sets them (Debian's conf.d/20-debian_defaults).
AMAVIS_DEFAULT_DESTINIES = {"virus": "discard", "banned": "bounce", "spam": "bounce", "bad_header": "pass"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class _Folder:
    """The assembled folder, showing each file by where it came from (the user's folder
    or the sample)."""

    def __init__(self, assembled: Path, source: Path) -> None:
        self.assembled, self.source = assembled, source

    def shown(self, rel: str) -> str:
        own = self.source / rel
        path = own if own.is_file() else SAMPLE / rel
        try:
            return str(path.relative_to(REPO))
        except ValueError:
            return str(path)

    def text(self, rel: str) -> str | None:
        path = self.assembled / rel
        return path.read_text(errors="replace") if path.is_file() else None

    def entries(self, rel: str) -> list[tuple[int, str]]:
        """Non-comment lines of a list or map file, with their line numbers."""
        return [(n, line.strip()) for n, line in enumerate((self.text(rel) or "").splitlines(), start=1)
                if line.strip() and not line.lstrip().startswith("#")]


def _mc_define(text: str, name: str) -> tuple[str, int] | None:
    """The value and line of define(`name', `value') in an .mc (the last one counts)."""
    found = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("dnl"):
            continue
        if match := re.search(rf"define\(\s*`{name}'\s*,\s*`?([^')]*)'?\s*\)", line):
            found = (match.group(1).strip(), number)
    return found


def _perl_assignment(folder: _Folder, variable: str) -> tuple[str, str, int] | None:
    """The last `variable = value;` across amavisd-new's snippets (they load in name
    order, the last assignment wins): (value, file, line)."""
    found = None
    for path in sorted((folder.assembled / "amavis").glob("*")):
        rel = f"amavis/{path.name}"
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if match := re.search(rf"{re.escape(variable)}\s*=\s*([^;]+);", code):
                found = (match.group(1).strip(), rel, number)
    return found


def _check_policy_against_config(policy: Policy, folder: _Folder, policy_text: str) -> list[Finding]:
    findings = []
    policy_file = folder.shown("policy.toml")

    def at(section: str, key: str) -> int | None:
        return line_of(policy_text, section, key)

    mc = folder.text("rx/thishost-rx.mc")
    if mc is not None:
        size = _mc_define(mc, "confMAX_MESSAGE_SIZE")
        configured = int(size[0]) if size and size[0].isdigit() else 0
        if configured != policy.limits.max_message_size:
            findings.append(Finding(folder.shown("rx/thishost-rx.mc"), size[1] if size else None,
                                    f"confMAX_MESSAGE_SIZE is {configured or 'not set (no limit)'}, but "
                                    f"{policy_file}:{at('limits', 'max_message_size')} says limits.max_message_size"
                                    f" = {policy.limits.max_message_size}"))
        runners = None
        for number, line in enumerate(mc.splitlines(), start=1):
            if (match := re.search(r"QUEUE_GROUP\(`mqueue'.*\bR=(\d+)", line)) and not line.startswith("dnl"):
                runners = (int(match.group(1)), number)
        if runners and runners[0] != policy.limits.queue_runners:
            findings.append(Finding(folder.shown("rx/thishost-rx.mc"), runners[1],
                                    f"queue group mqueue has R={runners[0]}, but {policy_file}:"
                                    f"{at('limits', 'queue_runners')} says limits.queue_runners = "
                                    f"{policy.limits.queue_runners}"))
    servers = _perl_assignment(folder, "$max_servers")
    if servers and servers[0].isdigit() and int(servers[0]) != policy.limits.max_servers:
        findings.append(Finding(folder.shown(servers[1]), servers[2],
                                f"$max_servers is {servers[0]}, but {policy_file}:{at('limits', 'max_servers')} "
                                f"says limits.max_servers = {policy.limits.max_servers}"))
    if policy.limits.queue_runners != policy.limits.max_servers and not policy.limits.runners_may_differ:
        findings.append(Finding(policy_file, at("limits", "queue_runners"),
                                f"queue_runners ({policy.limits.queue_runners}) differs from max_servers "
                                f"({policy.limits.max_servers}); the document advises equal counts - set "
                                "limits.runners_may_differ = true if that is intended"))

    local = {entry.lower() for _, entry in folder.entries("local-host-names")}
    for domain in policy.domains.local:
        if domain.lower() not in local:
            findings.append(Finding(policy_file, at("domains", "local"),
                                    f"local domain {domain} is not in {folder.shown('local-host-names')}"))
    known = {entry for _, entry in folder.entries("users")}
    known |= {entry.split(":", 1)[0].strip() for _, entry in folder.entries("aliases")}
    for user in policy.users.existing:
        if user not in known:
            findings.append(Finding(policy_file, at("users", "existing"),
                                    f"user {user} is neither in {folder.shown('users')} nor in "
                                    f"{folder.shown('aliases')}"))
    for user in policy.users.nonexistent:
        if user.split("+", 1)[0] in known:
            findings.append(Finding(policy_file, at("users", "nonexistent"),
                                    f"user {user} is listed as nonexistent but exists in the config"))

    for kind, configured_default in AMAVIS_DEFAULT_DESTINIES.items():
        assigned = _perl_assignment(folder, f"$final_{kind}_destiny")
        configured = assigned[0].removeprefix("D_").lower() if assigned else configured_default
        expected = getattr(policy.content, kind)
        if configured != expected:
            where = (folder.shown(assigned[1]), assigned[2]) if assigned else (policy_file, None)
            findings.append(Finding(*where, f"$final_{kind}_destiny is {configured.upper()}, but {policy_file}:"
                                    f"{at('content', kind)} says content.{kind} = {expected!r}"))
    fatal = _perl_assignment(folder, "$virus_scanners_failure_is_fatal")
    tempfails = bool(fatal and fatal[0] not in ("0", "undef", "''", '""'))
    if tempfails != (policy.content.scanner_failure == "tempfail"):
        where = (folder.shown(fatal[1]), fatal[2]) if fatal else (policy_file, at("content", "scanner_failure"))
        findings.append(Finding(*where, f"with every virus scanner down amavisd-new would "
                                f"{'tempfail' if tempfails else 'pass mail unscanned'} "
                                f"($virus_scanners_failure_is_fatal), but {policy_file}:"
                                f"{at('content', 'scanner_failure')} says content.scanner_failure = "
                                f"{policy.content.scanner_failure!r}"))
    snippets = " ".join((path.read_text(errors="replace")) for path in (folder.assembled / "amavis").glob("*"))
    for lover in policy.content.spam_lovers:
        if policy.address(lover) not in snippets:
            findings.append(Finding(policy_file, at("content", "spam_lovers"),
                                    f"spam lover {policy.address(lover)} is not named in any amavis/ snippet "
                                    "(@spam_lovers_maps)"))
    relayed = {entry.split()[0].lower().removeprefix("to:") for _, entry in folder.entries("rx/access")
               if entry.lower().startswith("to:") and entry.split()[-1].upper() == "RELAY"}
    relayed |= {d.lower() for d in re.findall(r"^RELAY_DOMAIN\(`([^']+)'", mc or "", re.MULTILINE)}
    for domain in policy.relay.domains:
        if domain.lower() not in relayed:
            findings.append(Finding(policy_file, at("relay", "domains"),
                                    f"relay domain {domain} has no \"To:{domain} RELAY\" in "
                                    f"{folder.shown('rx/access')} nor RELAY_DOMAIN in "
                                    f"{folder.shown('rx/thishost-rx.mc')}"))
    routes = {entry.split()[0].lower(): (number, entry) for number, entry in folder.entries("rx/mailertable")}
    for domain in policy.content.unchecked_domains:
        if domain.lower() not in routes:
            findings.append(Finding(policy_file, at("content", "unchecked_domains"),
                                    f"unchecked domain {domain} has no route in {folder.shown('rx/mailertable')}"))
        elif "10024" in routes[domain.lower()][1]:
            findings.append(Finding(folder.shown("rx/mailertable"), routes[domain.lower()][0],
                                    f"{domain} is routed to amavisd-new, but the policy says it is not checked"))
    if policy.submission.enabled:
        accounts = {entry.split()[0]: entry.split()[1:] for _, entry in folder.entries("rx/sasl-users")}
        login = policy.submission.login.split("@", 1)[0]
        if accounts.get(login) != [policy.submission.password]:
            findings.append(Finding(policy_file, at("submission", "login"),
                                    f"no account {login} with that password in {folder.shown('rx/sasl-users')}"))
    return findings


def _check_dns(policy: Policy, folder: _Folder, policy_text: str) -> list[Finding]:
    """The policy's [dns] against MTA-RX's dnsbl feature and amavisd-new's SpamAssassin setting."""
    findings = []
    policy_file = folder.shown("policy.toml")
    local_only = _perl_assignment(folder, "$sa_local_tests_only")
    # Unset: Debian's 20-debian_defaults, 0 (network tests on).
    network = local_only is None or local_only[0] in ("0", "undef", "''", '""', "'0'", '"0"', "0.0")
    if network != policy.dns.sa_network_tests:
        where = (folder.shown(local_only[1]), local_only[2]) if local_only else (policy_file, None)
        findings.append(Finding(*where, f"$sa_local_tests_only is "
                                f"{local_only[0] if local_only else 'not set (Debian: 0, network tests on)'}"
                                f", but {policy_file}:{line_of(policy_text, 'dns', 'sa_network_tests')} says "
                                f"dns.sa_network_tests = {str(policy.dns.sa_network_tests).lower()}"))
    mc = folder.text("rx/thishost-rx.mc")
    if mc is not None:
        zones = [(n, m.group(1)) for n, line in enumerate(mc.splitlines(), start=1)
                 if not line.lstrip().startswith("dnl")
                 and (m := re.search(r"FEATURE\(\s*`?(?:enh)?dnsbl'?\s*,\s*`([^']+)'", line))]
        named = {zone.rstrip(".").lower() for _, zone in zones}
        if policy.dns.rx_dnsbl and policy.dns.rx_dnsbl.rstrip(".").lower() not in named:
            findings.append(Finding(policy_file, line_of(policy_text, "dns", "rx_dnsbl"),
                                    f"dns.rx_dnsbl = {policy.dns.rx_dnsbl!r}, but "
                                    f"{folder.shown('rx/thishost-rx.mc')} has no FEATURE(`dnsbl', "
                                    f"`{policy.dns.rx_dnsbl}')"))
        if zones and not policy.dns.rx_dnsbl:
            findings.append(Finding(folder.shown("rx/thishost-rx.mc"), zones[0][0],
                                    f"MTA-RX refuses clients listed in {zones[0][1]}, but {policy_file} does "
                                    "not say so: set dns.rx_dnsbl"))
    return findings


def lint_static(assembled: Path, source: Path) -> list[Finding]:
    """Policy and policy-vs-config findings of an assembled folder."""
    folder = _Folder(assembled, source)
    try:
        policy = load_policy(assembled / "policy.toml")
    except PolicyError as bad:
        return [Finding(folder.shown("policy.toml"), line, text) for line, text in bad.problems]
    text = (assembled / "policy.toml").read_text()
    return _check_policy_against_config(policy, folder, text) + _check_dns(policy, folder, text)


def _in_image(image: str, script: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a fresh container of the image, `stdin` on its standard input."""
    attach = ["-i"] if stdin is not None else []
    return subprocess.run(["docker", "run", "--rm", *attach, "--network", "none", "--entrypoint", "sh", image, "-c",
                           script], input=stdin or "", capture_output=True, text=True, timeout=300)


def _lint_zones(folder: _Folder, tag: str) -> list[Finding]:
    """The zone the dns container will load: what the policy implies (stand-in addresses) and
    the configuration's own dns/*.zone records, through BIND's zone checker."""
    own = [f"dns/{path.name}" for path in sorted((folder.assembled / "dns").glob("*.zone"))]
    made = json.loads((folder.assembled / "dns" / "world.json").read_text())
    zone = sample_zone(made, [f"/etc/testbed/{rel}" for rel in own])
    out = _in_image(f"testbed-dns:{tag}", "cat >/tmp/world.zone; named-checkzone -k fail . /tmp/world.zone 2>&1;"
                    " echo exit=$?", stdin=zone)
    if "exit=0" in out.stdout:
        return []
    findings = []
    for rel in own:
        for line, text in re.findall(rf"/etc/testbed/{re.escape(rel)}:(\d+): (.*)", out.stdout):
            findings.append(Finding(folder.shown(rel), int(line), f"BIND's zone check: {text}"))
    zone_lines = zone.splitlines()
    for line, text in re.findall(r"/tmp/world\.zone:(\d+): (.*)", out.stdout):
        findings.append(Finding(folder.shown("policy.toml"), None, f"the DNS zone made from it does not load: "
                                f"{text} (record: {zone_lines[int(line) - 1]!r})"))
    return findings or [Finding("dns/", None, f"BIND's zone check failed:\n{out.stdout[-1500:]}")]


def lint_tools(assembled: Path, source: Path, tag: str) -> list[Finding]:
    """m4, sendmail -bt, BIND's zone check and amavisd-new's own config loading, in the built images."""
    folder, findings = _Folder(assembled, source), []
    for service, mc, cf in (("rx", "rx/thishost-rx.mc", "/etc/mail/sendmail-rx.cf"),
                            ("tx", "tx/thishost-tx.mc", "/etc/mail/sendmail.cf")):
        image = f"testbed-{service}:{tag}"
        if (assembled / mc).is_file():
            out = _in_image(image, f"m4 /usr/share/sendmail/cf/m4/cf.m4 /etc/mail/{Path(mc).name} 2>&1 >/dev/null")
            for line in out.stdout.splitlines():
                match = re.search(rf"{re.escape(Path(mc).name)}:(\d+):\s*(.*)", line)
                findings.append(Finding(folder.shown(mc), int(match.group(1)) if match else None,
                                        f"m4: {match.group(2) if match else line.strip()}"))
        out = _in_image(image, f"sendmail -C{cf} -bt -d0.1 </dev/null 2>&1; echo exit=$?")
        for line in out.stdout.splitlines():
            if match := re.match(rf"{re.escape(cf)}: line (\d+): (.*)", line):
                findings.append(Finding(f"{cf} (in {image}, made from {folder.shown(mc)})", int(match.group(1)),
                                        f"sendmail: {match.group(2)}"))
        if "exit=0" not in out.stdout:
            findings.append(Finding(folder.shown(mc), None, f"sendmail's config test failed:\n{out.stdout[-1500:]}"))
    findings += _lint_zones(folder, tag)
    # showkeys loads the whole configuration (conf.d in order) and exits.
    out = _in_image(f"testbed-amavis:{tag}", "amavisd showkeys >/tmp/out 2>&1; rc=$?; cat /tmp/out; echo exit=$rc")
    if "exit=0" not in out.stdout:
        match = re.search(r"/etc/amavis/conf\.d/(\S+?)\"?:? .*? line (\d+)", out.stdout)
        where = (folder.shown(f"amavis/{match.group(1)}"), int(match.group(2))) if match else ("amavis/", None)
        findings.append(Finding(*where, f"amavisd-new does not load its configuration:\n{out.stdout[-1500:]}"))
    return findings


def main() -> int:
    assembled = REPO / os.environ.get("TESTBED_CONFIG", "config/sample")
    source = Path(os.environ.get("TESTBED_SOURCE_CONFIG", SAMPLE))
    tag = os.environ.get("TESTBED_TAG", "latest")
    findings = lint_static(assembled, source)
    findings += lint_tools(assembled, source, tag)
    for finding in findings:
        print(f"lint: {finding}", file=sys.stderr)
    if findings:
        print(f"lint: {len(findings)} problem(s) in the configuration {source}; fix them, or the policy, "
              "and run again", file=sys.stderr)
        return 1
    print(f"lint: configuration {source} is consistent with its policy; m4, sendmail, BIND and amavisd-new accept it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
