"""[dns] against the configuration: amavisd-new's $sa_local_tests_only (SpamAssassin's
network tests), and the DNSBL MTA-RX refuses clients by, as compiled into its .cf
(FEATURE(`dnsbl') or FEATURE(`enhdnsbl'))."""

import re

from siteconfig.check.context import Context, Finding
from siteconfig.configfiles import mc_line, perl_assignment

__all__ = ["check_dns"]


def _network_tests(ctx: Context) -> list[Finding]:
    local_only = perl_assignment(ctx.files, "$sa_local_tests_only")
    # Unset: Debian's 20-debian_defaults, 0 (network tests on).
    network = local_only is None or local_only[0] in ("0", "undef", "''", '""', "'0'", '"0"', "0.0")
    expected = ctx.policy.dns.sa_network_tests
    if network == expected:
        return []
    where = (ctx.files.shown(local_only[1]), local_only[2]) if local_only else (ctx.policy_file, None)
    return [Finding(*where, f"$sa_local_tests_only is "
                            f"{local_only[0] if local_only else 'not set (Debian: 0, network tests on)'}"
                            f", but {ctx.says('dns', 'sa_network_tests', str(expected).lower())}")]


def _dnsbl(ctx: Context) -> list[Finding]:
    rx = ctx.compiled.get("rx")
    if rx is None:
        return []
    wanted, findings = ctx.policy.dns.rx_dnsbl, []
    named = {zone.value.rstrip(".").lower() for zone in rx.dnsbl_zones}
    if wanted and wanted.rstrip(".").lower() not in named:
        source = ctx.files.shown(ctx.files.cf_source("rx"))
        findings.append(Finding(ctx.policy_file, ctx.at("dns", "rx_dnsbl"),
                                f"dns.rx_dnsbl = {wanted!r}, but {source} has no FEATURE(`dnsbl', `{wanted}')"))
    if rx.dnsbl_zones and not wanted:
        first = rx.dnsbl_zones[0]
        feature = rf"FEATURE\(\s*`?(?:enh)?dnsbl'?\s*,\s*`{re.escape(first.value)}\.?'"
        where = ctx.in_cf("rx", mc_line(ctx.files.mc("rx"), feature), first.line)
        findings.append(Finding(*where, f"MTA-RX refuses clients listed in {first.value}, but {ctx.policy_file} "
                                "does not say so: set dns.rx_dnsbl"))
    return findings


def check_dns(ctx: Context) -> list[Finding]:
    return _network_tests(ctx) + _dnsbl(ctx)
