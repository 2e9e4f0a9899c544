"""The document's invariants, whatever the policy says (README.sendmail-dual):

- MTA-RX hands everything (SMART_HOST, MAIL_HUB) to amavisd-new: its mailer's port is the
  port amavisd-new listens on ($inet_socket_port);
- amavisd-new hands checked mail and its notifications to MTA-TX: the port of
  $forward_method and $notify_method is one MTA-TX listens on;
- MTA-RX's queue runners (R=) match amavisd-new's children ($max_servers), unless the policy
  says they may differ (limits.runners_may_differ, for experiments);
- MTA-RX stops taking mail before MTA-TX does: RX's MinFreeBlocks above TX's;
- MTA-RX drops root (RunAsUser);
- MTA-RX's access map grants RELAY to nothing the policy does not name.

A bypass (RX sending straight to MTA-TX's port) passes every policy check, so these are
checked on their own. amavisd-new's values are read from the configuration's snippets, with
amavisd-new's built-in defaults where no snippet sets them.
"""

import re

from siteconfig.check.compiled import CompiledCf
from siteconfig.check.context import Context, Finding, mc_define, mc_line, perl_assignment

__all__ = ["check_invariants", "relay_grants"]

# amavisd-new's own defaults (amavisd.conf-default), used when no snippet assigns them.
AMAVIS_DEFAULTS = {"$inet_socket_port": "10024", "$forward_method": "'smtp:[127.0.0.1]:10025'",
                   "$notify_method": "'smtp:[127.0.0.1]:10025'", "$max_servers": "2"}
# Relaying for the host itself (the sendmail command, local programs) is no open door.
LOOPBACK = {"127.0.0.1", "localhost", "localhost.localdomain", "ipv6:::1", "::1", "127"}
# sendmail's defaults (sendmail/conf.c) for the options compared here.
MIN_FREE_BLOCKS_DEFAULT = 100


def _amavis(ctx: Context, variable: str) -> tuple[str, str, int | None]:
    """(value, file shown, line) of an amavisd-new setting; the default when unassigned."""
    found = perl_assignment(ctx.files, variable)
    if found is None:
        return AMAVIS_DEFAULTS[variable], "amavisd-new's default", None
    value, rel, line = found
    return value, ctx.files.shown(rel), line


def _ports(value: str) -> list[int]:
    """Ports of `10024`, `[10024, 10026]`, `'smtp:[127.0.0.1]:10025'` (the last number)."""
    if re.fullmatch(r"\[?[\s\d,]+\]?", value):
        return [int(port) for port in re.findall(r"\d+", value)]
    method = re.search(r":(\d+)['\"]?\s*$", value)
    return [int(method.group(1))] if method else []


def _hand_off(ctx: Context, rx: CompiledCf) -> list[Finding]:
    value, shown, line = _amavis(ctx, "$inet_socket_port")
    listening = _ports(value)
    findings, mc = [], ctx.files.mc("rx")
    for macro, name in (("S", "SMART_HOST"), ("H", "MAIL_HUB")):
        target = rx.macros.get(macro)
        if target is None or not target.value:
            if macro == "S":
                findings.append(Finding(*ctx.in_cf("rx", None, None), f"MTA-RX has no {name}: mail for remote "
                                        "domains would leave without passing amavisd-new"))
            continue
        mailer = target.value.split(":", 1)[0] if ":" in target.value else "relay"
        port = rx.mailer_port(mailer)
        if port is not None and listening and port not in listening:
            where = ctx.in_cf("rx", mc_define(mc, name), target.line)
            findings.append(Finding(*where, f"MTA-RX's {name} {target.value} sends by mailer {mailer} to port "
                                    f"{port}, but amavisd-new listens on {value} ({shown}"
                                    f"{f':{line}' if line else ''}): mail would not pass the content filter"
                                    + (" (10025 is MTA-TX's port: this bypasses amavisd-new)" if port == 10025
                                       else "")))
    return findings


def _onward(ctx: Context, tx: CompiledCf) -> list[Finding]:
    ports = {port for port, _ in tx.daemon_ports}
    findings = []
    for variable in ("$forward_method", "$notify_method"):
        value, shown, line = _amavis(ctx, variable)
        for port in _ports(value):
            if port not in ports:
                findings.append(Finding(shown, line, f"{variable} is {value}, but MTA-TX listens on "
                                        f"{', '.join(map(str, sorted(ports)))}: checked mail would not reach it"))
    return findings


def _runners(ctx: Context, rx: CompiledCf) -> list[Finding]:
    group = rx.queue_groups.get("mqueue")
    runners = group.number("R") if group else None
    value, shown, line = _amavis(ctx, "$max_servers")
    if runners is None or not value.isdigit() or runners == int(value) or ctx.policy.limits.runners_may_differ:
        return []
    where = ctx.in_cf("rx", mc_line(ctx.files.mc("rx"), r"QUEUE_GROUP\(.*\bR=\d+"), group.line if group else None)
    return [Finding(*where, f"MTA-RX has R={runners} queue runners, but amavisd-new has $max_servers = {value} "
                            f"({shown}{f':{line}' if line else ''}); the document matches them (set "
                            "limits.runners_may_differ = true in the policy if this is an experiment)")]


def _disk(ctx: Context, rx: CompiledCf, tx: CompiledCf) -> list[Finding]:
    rx_blocks = rx.number("MinFreeBlocks", MIN_FREE_BLOCKS_DEFAULT)
    tx_blocks = tx.number("MinFreeBlocks", MIN_FREE_BLOCKS_DEFAULT)
    if rx_blocks > tx_blocks:
        return []
    option = rx.options.get("MinFreeBlocks")
    where = ctx.in_cf("rx", mc_define(ctx.files.mc("rx"), "confMIN_FREE_BLOCKS"), option.line if option else None)
    return [Finding(*where, f"MTA-RX's MinFreeBlocks ({rx_blocks}) is not above MTA-TX's ({tx_blocks}): on a "
                            "full disk MTA-RX must refuse new mail while MTA-TX can still take what is in flight")]


def _privileges(ctx: Context, rx: CompiledCf) -> list[Finding]:
    user = (rx.option("RunAsUser") or "").split(":", 1)[0]
    if user and user not in ("root", "0"):
        return []
    option = rx.options.get("RunAsUser")
    where = ctx.in_cf("rx", mc_define(ctx.files.mc("rx"), "confRUN_AS_USER"), option.line if option else None)
    return [Finding(*where, f"MTA-RX runs as {user or 'root (no RunAsUser)'}: the document has it drop "
                            "privileges (define(`confRUN_AS_USER', `smmsp:smmsp'))")]


def relay_grants(entries: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """The access map's RELAY grants: (line, kind, key); kind is "To", "From" or "Connect"
    (a bare key is a client, as "Connect:" is)."""
    grants = []
    for number, entry in entries:
        words = entry.split()
        if len(words) < 2 or words[-1].upper() != "RELAY":
            continue
        kind, _, key = words[0].rpartition(":") if re.match(r"(?i)(to|from|connect):", words[0]) else ("", "", words[0])
        grants.append((number, kind.capitalize() or "Connect", key.lower()))
    return grants


def _relay(ctx: Context) -> list[Finding]:
    named_domains = {domain.lower() for domain in ctx.policy.relay.domains}
    named_clients = {client.lower() for client in ctx.policy.relay.clients} | LOOPBACK
    findings = []
    for line, kind, key in relay_grants(ctx.files.entries("rx/access")):
        if kind == "To" and key not in named_domains:
            why = f"relay.domains does not name {key}"
        elif kind == "Connect" and key not in named_clients:
            why = f"relay.clients does not name {key}"
        elif kind == "From":
            why = "relaying by sender address lets anyone who forges it relay"
        else:
            continue
        findings.append(Finding(ctx.files.shown("rx/access"), line, f"grants RELAY to {kind}:{key}, but the policy "
                                f"({ctx.policy_file}) does not: {why} (name it there if it is meant)"))
    return findings


def check_invariants(ctx: Context) -> list[Finding]:
    rx, tx = ctx.compiled.get("rx"), ctx.compiled.get("tx")
    findings = _relay(ctx)
    if rx is not None:
        findings += _hand_off(ctx, rx) + _runners(ctx, rx) + _privileges(ctx, rx)
    if tx is not None:
        findings += _onward(ctx, tx)
    if rx is not None and tx is not None:
        findings += _disk(ctx, rx, tx)
    return findings
