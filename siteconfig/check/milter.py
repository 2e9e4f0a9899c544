"""The milter topology's own invariants (TOPOLOGY=milter; compose.milter.yaml), in place of the
dual chain's (invariants.py):

- the MTA calls amavisd-milter, where its container listens (127.0.0.1:9999): without it
  mail is delivered unchecked;
- while amavisd-milter is down the MTA tempfails (F=T), as the policy's
  content.scanner_failure = "tempfail" promises, or rejects (F=R); with F= it would take
  mail unchecked;
- amavisd-new's notifications ($notify_method) go to a port the MTA listens on, and that
  daemon calls no milter (a notice about a virus would be checked, and refused, again).

The policy's [milter] destinies (check_milter_section): the final destinies amavisd-new has
once milter/amavis/'s snippets are applied.
"""

import re

from siteconfig.check.content import AMAVIS_DEFAULT_DESTINIES
from siteconfig.check.context import Context, Finding
from siteconfig.configfiles import mc_line, perl_assignment
from siteconfig.policy import Milter

__all__ = ["MILTER_SOCKET", "check_milter_section", "check_milter_topology"]

MILTER_SOCKET = 9999  # images/amavis/amavisd-milter listens on inet:9999@127.0.0.1
_LOOPBACK = r"(?:127\.0\.0\.1|\[127\.0\.0\.1\]|localhost)"


def check_milter_topology(ctx: Context) -> list[Finding]:
    cf = ctx.compiled.get("rx")
    if cf is None:
        return []  # unreadable: a finding says so
    mc = ctx.files.mc("rx")
    made_from = ctx.files.shown(ctx.files.cf_source("rx"))
    findings = []
    amavis = [m for m in cf.input_filters if re.fullmatch(rf"inet:{MILTER_SOCKET}@{_LOOPBACK}", m.fields.get("S", ""))]
    if not amavis:
        findings.append(Finding(made_from, mc_line(mc, r"INPUT_MAIL_FILTER"), (
            f"the milter topology's MTA calls no milter at inet:{MILTER_SOCKET}@127.0.0.1 (amavisd-milter): mail "
            "would be delivered unchecked; add INPUT_MAIL_FILTER(`amavisd-milter', "
            f"`S=inet:{MILTER_SOCKET}@127.0.0.1, F=T, T=S:10m;R:10m;E:10m')")))
    elif ctx.policy.content.scanner_failure == "tempfail" and amavis[0].fields.get("F", "") not in ("T", "R"):
        findings.append(Finding(made_from, mc_line(mc, r"INPUT_MAIL_FILTER\(\s*`" + re.escape(amavis[0].name)), (
            f"the milter {amavis[0].name} has F={amavis[0].fields.get('F', '')}: with amavisd-milter down mail is "
            f"taken unchecked, but {ctx.says('content', 'scanner_failure', 'tempfail')}; use F=T")))
    findings += _notifications(ctx, made_from, mc)
    return findings


def _notifications(ctx: Context, made_from: str, mc: str | None) -> list[Finding]:
    cf = ctx.compiled["rx"]
    found = perl_assignment(ctx.files, "$notify_method")
    value, where = (found[0], f"{ctx.files.shown(found[1])}:{found[2]}") if found else (
        "'smtp:[127.0.0.1]:10025'", "amavisd-new's default")
    port = re.search(r":(\d+)\W*$", value)
    if not port:
        return []  # not SMTP (e.g. a pipe): nothing to match
    number = int(port.group(1))
    daemons = [daemon for listened, daemon in cf.daemon_ports if listened == number]
    if not daemons:
        return [Finding(made_from, None, f"amavisd-new sends its notifications to port {number} ($notify_method "
                        f"{value}, {where}), on which the milter topology's MTA does not listen; add "
                        f"DAEMON_OPTIONS(`Addr=127.0.0.1, Port={number}, Name=MTA-NOTIFY, InputMailFilters=')")]
    filters = re.search(r"(?:^|,)\s*InputMailFilters=([^,]*)", daemons[0].value)
    if cf.input_filters and (filters is None or filters.group(1).strip()):
        return [Finding(made_from, mc_line(mc, rf"Port={number}\b"), (
            f"the daemon on port {number}, where amavisd-new sends its notifications, calls the milters too: a "
            "virus alert would be checked again; give it an empty list (InputMailFilters=)"))]
    return []


def check_milter_section(ctx: Context) -> list[Finding]:
    """[milter] against the destinies amavisd-new has in the milter topology; checked when
    that topology runs (a site that never runs it is not held to its snippets)."""
    if not ctx.files.roles:
        return []
    files = ctx.files
    findings = []
    for kind in Milter.model_fields:
        assigned = perl_assignment(files, f"$final_{kind}_destiny")
        configured = assigned[0].removeprefix("D_").lower() if assigned else AMAVIS_DEFAULT_DESTINIES[kind]
        expected = getattr(ctx.policy.milter, kind)
        if configured != expected:
            where = (files.shown(assigned[1]), assigned[2]) if assigned else (ctx.policy_file, None)
            findings.append(Finding(*where, f"in the milter topology $final_{kind}_destiny is {configured.upper()}, "
                                    f"but {ctx.says('milter', kind, repr(expected))}"))
    return findings
