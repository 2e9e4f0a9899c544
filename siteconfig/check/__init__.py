"""Check a configuration before anything starts: each finding names the file and line.

Policy checks: policy.toml parses and validates, and agrees with the configuration where
both state a thing, one module per policy section (limits, recipients: domains, users and
relay; content, submission, dns, dkim). Sendmail's values (MaxMessageSize, R=, mailers' M=, relay
domains, DNSBLs) are read from the .cf compiled into the images (compiled), so a prebuilt
.cf is checked like one made from an .mc; a finding still names the .mc line that sets a
value when there is one.
The document's invariants hold whatever the policy says (invariants); in the milter topology
(TOPOLOGY=milter) its own instead (milter), with the policy as that topology keeps it.
Tool checks, in the built images (tools): m4, sendmail -bt, BIND's zone check, amavisd-new;
and the DKIM key in MTA-TX's image against the record in the DNS image (dkim).

python -m siteconfig.check   (make lint-config) checks $TESTBED_CONFIG, assembled from
$TESTBED_SOURCE_CONFIG, against the images tagged $TESTBED_TAG; exit status 1 when anything
is wrong.
"""

from collections.abc import Callable, Mapping
from pathlib import Path

from siteconfig.check.absent import absent_milters
from siteconfig.check.advice import check_advice
from siteconfig.check.content import check_content
from siteconfig.check.context import Context, Finding
from siteconfig.check.dkim import check_dkim, check_published_keys
from siteconfig.check.dns import check_dns
from siteconfig.check.invariants import check_invariants
from siteconfig.check.limits import check_limits
from siteconfig.check.milter import check_milter_section, check_milter_topology
from siteconfig.check.recipients import check_domains, check_relay, check_users
from siteconfig.check.submission import check_submission
from siteconfig.check.tools import check_tools, image_output
from siteconfig.compiled import CompiledCf, CompiledCfError, chain_cfs, read_compiled
from siteconfig.configfiles import ConfigFiles
from siteconfig.policy import PolicyError, load_policy

__all__ = ["SECTION_CHECKS", "Finding", "check_absent_pieces", "check_document_advice", "check_document_invariants",
           "check_keys", "check_policy", "check_tools", "read_chain"]

# Policy section -> its check, in the order findings are reported.
SECTION_CHECKS: dict[str, Callable[[Context], list[Finding]]] = {
    "limits": check_limits,
    "domains": check_domains,
    "users": check_users,
    "content": check_content,
    "relay": check_relay,
    "submission": check_submission,
    "dns": check_dns,
    "dkim": check_dkim,
    "milter": check_milter_section,
}


def read_chain(tag: str, topology: str = "dual") -> tuple[dict[str, CompiledCf], list[Finding]]:
    """Each sendmail's .cf as compiled into its image (one `docker run` each), by role ("rx",
    "tx": in the milter topology both are its one sendmail's), and a finding for each that
    cannot be read (its checks are then left out)."""
    compiled, findings = {}, []
    for service, (image, path) in chain_cfs().items():
        try:
            compiled[service] = read_compiled(f"{image}:{tag}", path)
        except CompiledCfError as unreadable:
            findings.append(Finding(f"{image}:{tag}", None, f"{unreadable}; the checks of its values did not run"))
    if topology == "milter" and "mta" in compiled:
        compiled["rx"] = compiled["tx"] = compiled["mta"]
    return compiled, findings


def _context(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf], topology: str) -> Context:
    """Raises PolicyError when the policy does not load."""
    policy = load_policy(assembled / "policy.toml").for_topology(topology)
    return Context(policy, (assembled / "policy.toml").read_text(), ConfigFiles(assembled, source, topology), compiled)


def check_policy(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf],
                 topology: str = "dual") -> list[Finding]:
    """Policy and policy-vs-config findings of an assembled folder, sendmail's values taken
    from `compiled` (role -> its compiled .cf). The milter topology runs no DKIM milter."""
    try:
        ctx = _context(assembled, source, compiled, topology)
    except PolicyError as bad:
        return [Finding(ConfigFiles(assembled, source).shown("policy.toml"), line, text) for line, text in bad.problems]
    checks = [check for section, check in SECTION_CHECKS.items() if topology == "dual" or section != "dkim"]
    return [finding for check in checks for finding in check(ctx)]


def check_document_invariants(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf],
                              topology: str = "dual") -> list[Finding]:
    """The document's invariants (siteconfig/check/invariants.py), whatever the policy says,
    or the milter topology's (siteconfig/check/milter.py); none when the policy does not load
    (check_policy says why)."""
    try:
        ctx = _context(assembled, source, compiled, topology)
    except PolicyError:
        return []
    return check_milter_topology(ctx) if topology == "milter" else check_invariants(ctx) + absent_milters(ctx)[0]


def check_absent_pieces(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf],
                        topology: str = "dual") -> list[Finding]:
    """What the site's files name that the testbed does not run and sendmail does without
    (siteconfig/check/absent.py): notes, not refusals (those are among the invariants')."""
    try:
        ctx = _context(assembled, source, compiled, topology)
    except PolicyError:
        return []
    return absent_milters(ctx)[1]


def check_document_advice(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf],
                          name: str | None = None) -> list[Finding]:
    """The document's advice the dual chain's configuration does not follow (siteconfig/check/
    advice.py): reported, not refused; none when the policy does not load."""
    try:
        ctx = _context(assembled, source, compiled, "dual")
    except PolicyError:
        return []
    return check_advice(ctx, name)


def check_keys(assembled: Path, source: Path, tag: str, topology: str = "dual") -> list[Finding]:
    """The DKIM signing key in the built MTA-TX image against the record in the built DNS
    image (the dual chain only: the milter topology runs no DKIM milter)."""
    if topology != "dual":
        return []
    try:
        policy = load_policy(assembled / "policy.toml")
    except PolicyError:
        return []  # check_policy reports it
    return check_published_keys(ConfigFiles(assembled, source), policy, tag, image_output)
