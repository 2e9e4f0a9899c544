"""Check a configuration before anything starts: each finding names the file and line.

Policy checks: policy.toml parses and validates, and agrees with the configuration where
both state a thing, one module per policy section (limits, recipients: domains, users and
relay; content, submission, dns, dkim). Sendmail's values (MaxMessageSize, R=, mailers' M=, relay
domains, DNSBLs) are read from the .cf compiled into the images (compiled), so a prebuilt
.cf is checked like one made from an .mc; a finding still names the .mc line that sets a
value when there is one.
The document's invariants hold whatever the policy says (invariants).
Tool checks, in the built images (tools): m4, sendmail -bt, BIND's zone check, amavisd-new;
and the DKIM key in MTA-TX's image against the record in the DNS image (dkim).

python -m siteconfig.check   (make lint-config) checks $TESTBED_CONFIG, assembled from
$TESTBED_SOURCE_CONFIG, against the images tagged $TESTBED_TAG; exit status 1 when anything
is wrong.
"""

from collections.abc import Callable, Mapping
from pathlib import Path

from siteconfig.check.compiled import CHAIN_CFS, CompiledCf, CompiledCfError, read_compiled
from siteconfig.check.content import check_content
from siteconfig.check.context import ConfigFiles, Context, Finding
from siteconfig.check.dkim import check_dkim, check_published_keys
from siteconfig.check.dns import check_dns
from siteconfig.check.invariants import check_invariants
from siteconfig.check.limits import check_limits
from siteconfig.check.recipients import check_domains, check_relay, check_users
from siteconfig.check.submission import check_submission
from siteconfig.check.tools import check_tools, image_output
from siteconfig.policy import PolicyError, load_policy

__all__ = ["SECTION_CHECKS", "Finding", "check_document_invariants", "check_keys", "check_policy", "check_tools",
           "read_chain"]

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
}


def read_chain(tag: str) -> tuple[dict[str, CompiledCf], list[Finding]]:
    """Each sendmail's .cf as compiled into its image (one `docker run` each), and a
    finding for each that cannot be read (its checks are then left out)."""
    compiled, findings = {}, []
    for service, (image, path) in CHAIN_CFS.items():
        try:
            compiled[service] = read_compiled(f"{image}:{tag}", path)
        except CompiledCfError as unreadable:
            findings.append(Finding(f"{image}:{tag}", None, f"{unreadable}; the checks of its values did not run"))
    return compiled, findings


def check_policy(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf]) -> list[Finding]:
    """Policy and policy-vs-config findings of an assembled folder, sendmail's values taken
    from `compiled` (service -> its compiled .cf)."""
    files = ConfigFiles(assembled, source)
    try:
        policy = load_policy(assembled / "policy.toml")
    except PolicyError as bad:
        return [Finding(files.shown("policy.toml"), line, text) for line, text in bad.problems]
    ctx = Context(policy, (assembled / "policy.toml").read_text(), files, compiled)
    return [finding for check in SECTION_CHECKS.values() for finding in check(ctx)]


def check_document_invariants(assembled: Path, source: Path, compiled: Mapping[str, CompiledCf]) -> list[Finding]:
    """The document's invariants (siteconfig/check/invariants.py), whatever the policy says;
    none when the policy does not load (check_policy says why)."""
    files = ConfigFiles(assembled, source)
    try:
        policy = load_policy(assembled / "policy.toml")
    except PolicyError:
        return []
    return check_invariants(Context(policy, (assembled / "policy.toml").read_text(), files, compiled))


def check_keys(assembled: Path, source: Path, tag: str) -> list[Finding]:
    """The DKIM signing key in the built MTA-TX image against the record in the built DNS image."""
    try:
        policy = load_policy(assembled / "policy.toml")
    except PolicyError:
        return []  # check_policy reports it
    return check_published_keys(ConfigFiles(assembled, source), policy, tag, image_output)
