"""The document's invariants, whatever the policy says (README.sendmail-dual):

- MTA-RX hands everything (SMART_HOST, MAIL_HUB) to amavisd-new: its mailer's port is the
  port amavisd-new listens on ($inet_socket_port);
- amavisd-new hands checked mail and its notifications to MTA-TX: the port of
  $forward_method and $notify_method is one MTA-TX listens on;
- MTA-RX's queue runners (R=) match amavisd-new's children ($max_servers), unless the policy
  says they may differ (limits.runners_may_differ, for experiments);
- MTA-RX only queues (DeliveryMode q: "a must", or its runners no longer bound the filter's
  load) and hands local mail on too (MAIL_HUB: else it delivers it itself, unfiltered);
- MTA-TX listens on loopback only (it takes mail that passed the filter: reachable from
  outside, it is a way around it);
- MTA-RX's access map grants RELAY to nothing the policy does not name.

The document's advice (MinFreeBlocks, RunAsUser) is checked apart (siteconfig/check/advice.py):
a site that does not follow it still gets a chain, and the report names each piece of advice.
amavisd-new's values are the site's shape's (siteconfig/shape.py): its snippets', or, where
the site brings its own .mc files and no snippet, wired to them.

A bypass (RX sending straight to MTA-TX's port) passes every policy check, so these are
checked on their own.
"""

import re

from siteconfig.check.context import Context, Finding
from siteconfig.compiled import CompiledCf
from siteconfig.configfiles import LOOPBACK, mc_define, mc_line, perl_assignment, relay_grants
from siteconfig.shape import SiteShape, shape_of
from siteconfig.shape import daemons_of as shape_daemons_of

__all__ = ["check_invariants"]

# amavisd-new's own defaults (amavisd.conf-default), used when no snippet assigns them.
AMAVIS_DEFAULTS = {"$inet_socket_port": "10024", "$forward_method": "'smtp:[127.0.0.1]:10025'",
                   "$notify_method": "'smtp:[127.0.0.1]:10025'", "$max_servers": "2"}


def _amavis(ctx: Context, variable: str, shape: SiteShape | None = None) -> tuple[str, str, int | None]:
    """(value, file shown, line) of an amavisd-new setting: the shape's where it has it (the
    site's snippet, or the testbed's wiring to the site's MTAs), else the snippets' last
    assignment, else amavisd-new's default."""
    wired = {"$inet_socket_port": shape and str(shape.amavis.port), "$forward_method": shape and shape.amavis.forward,
             "$notify_method": shape and shape.amavis.notify,
             "$max_servers": shape and shape.amavis.max_servers and str(shape.amavis.max_servers)}.get(variable)
    if wired and shape and shape.amavis.origins.get(variable, "").startswith("adapted: "):
        return wired, f"the testbed's wiring ({shape.amavis.origins[variable].removeprefix('adapted: ')})", None
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


def _hand_off(ctx: Context, rx: CompiledCf, shape: SiteShape | None) -> list[Finding]:
    value, shown, line = _amavis(ctx, "$inet_socket_port", shape)
    listening = _ports(value)
    findings, mc = [], ctx.files.mc("rx")
    for macro, name in (("S", "SMART_HOST"), ("H", "MAIL_HUB")):
        target = rx.macros.get(macro)
        if target is None or not target.value:
            findings.append(Finding(*ctx.in_cf("rx", None, None), f"MTA-RX has no {name}: " + (
                "mail for remote domains would leave without passing amavisd-new" if macro == "S" else
                "MTA-RX would deliver local mail itself, unfiltered") + f" (the document's define(`{name}', "
                "`esmtp:[127.0.0.1]') hands it to amavisd-new)"))
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


def _onward(ctx: Context, tx: CompiledCf, shape: SiteShape | None) -> list[Finding]:
    ports = {port for port, _ in tx.daemon_ports}
    findings = []
    for variable in ("$forward_method", "$notify_method"):
        value, shown, line = _amavis(ctx, variable, shape)
        for port in _ports(value):
            if port not in ports:
                findings.append(Finding(shown, line, f"{variable} is {value}, but MTA-TX listens on "
                                        f"{', '.join(map(str, sorted(ports)))}: checked mail would not reach it"))
    return findings


def _runners(ctx: Context, rx: CompiledCf, shape: SiteShape | None) -> list[Finding]:
    group = rx.queue_groups.get("mqueue")
    runners = group.number("R") if group else None
    value, shown, line = _amavis(ctx, "$max_servers", shape)
    if runners is None or not value.isdigit() or runners == int(value) or ctx.policy.limits.runners_may_differ:
        return []
    where = ctx.in_cf("rx", mc_line(ctx.files.mc("rx"), r"QUEUE_GROUP\(.*\bR=\d+"), group.line if group else None)
    return [Finding(*where, f"MTA-RX has R={runners} queue runners, but amavisd-new has $max_servers = {value} "
                            f"({shown}{f':{line}' if line else ''}); the document matches them (set "
                            "limits.runners_may_differ = true in the policy if this is an experiment)")]


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


def _queue_only(ctx: Context, rx: CompiledCf) -> list[Finding]:
    mode = rx.options.get("DeliveryMode")
    if mode is not None and mode.value.lower().startswith("q"):
        return []
    where = ctx.in_cf("rx", mc_define(ctx.files.mc("rx"), "confDELIVERY_MODE"), mode.line if mode else None)
    shown = f"delivery mode {mode.value}" if mode else "no confDELIVERY_MODE (sendmail's default: background)"
    return [Finding(*where, f"MTA-RX has {shown}: the document has it queue-only, \"a must\" "
                            "(define(`confDELIVERY_MODE',`q')), so that its queue runners, not the inflow, set how "
                            "many messages amavisd-new checks at once")]


def _tx_on_loopback(ctx: Context, tx: CompiledCf) -> list[Finding]:
    findings = []
    shape_daemons = [d for d in shape_daemons_of(tx) if d.family in ("inet", "inet6") and not d.loopback]
    for daemon in shape_daemons:
        at = daemon.line or None
        where = ctx.in_cf("tx", mc_line(ctx.files.mc("tx"), rf"DAEMON_OPTIONS\(.*{re.escape(daemon.name)}")
                          if daemon.name else mc_line(ctx.files.mc("tx"), r"DAEMON_OPTIONS\("), at)
        findings.append(Finding(*where, f"MTA-TX's daemon {daemon.name or '(unnamed)'} listens on "
                                f"{daemon.addr or 'every address'} port {daemon.port}: MTA-TX takes mail that has "
                                "passed the filter, so it listens on loopback only (the document's "
                                "DAEMON_OPTIONS(`Addr=127.0.0.1, Port=10025, Name=MTA-TX'))"))
    return findings


def check_invariants(ctx: Context) -> list[Finding]:
    rx, tx = ctx.compiled.get("rx"), ctx.compiled.get("tx")
    shape = shape_of(ctx.files, dict(ctx.compiled)) if rx is not None and tx is not None else None
    findings = _relay(ctx)
    if rx is not None:
        findings += _hand_off(ctx, rx, shape) + _queue_only(ctx, rx) + _runners(ctx, rx, shape)
    if tx is not None:
        findings += _onward(ctx, tx, shape) + _tx_on_loopback(ctx, tx)
    return findings
