"""[limits] against the configuration: the size limit (MTA-RX's MaxMessageSize, and no
mailer or MTA-TX below it), MTA-RX's queue runners (R=) and amavisd-new's $max_servers.
The sendmail values come from the .cf compiled into the images."""

from siteconfig.check.context import Context, Finding
from siteconfig.compiled import CompiledCf
from siteconfig.configfiles import mc_define, mc_line, perl_assignment
from siteconfig.shape import shape_of

__all__ = ["check_limits"]

# The m4 macro that sets a mailer's M= in an .mc, to point at its line.
_MAILER_MAX = {"smtp": "SMTP", "esmtp": "SMTP", "smtp8": "SMTP", "dsmtp": "SMTP", "relay": "RELAY",
               "local": "LOCAL"}


def _size(ctx: Context, rx: CompiledCf) -> list[Finding]:
    configured, expected = rx.max_message_size, ctx.policy.limits.max_message_size
    if configured == expected:
        return []
    mc = ctx.files.mc("rx")
    option = rx.options.get("MaxMessageSize")
    where = ctx.in_cf("rx", mc_define(mc, "confMAX_MESSAGE_SIZE"), option.line if option else None)
    name = "confMAX_MESSAGE_SIZE" if mc is not None else "MaxMessageSize"
    return [Finding(*where, f"{name} is {configured or 'not set (no limit)'}, but "
                            f"{ctx.says('limits', 'max_message_size', expected)}")]


def _runners(ctx: Context, rx: CompiledCf) -> list[Finding]:
    group = rx.queue_groups.get("mqueue")
    runners = group.number("R") if group else None
    if group is None or runners is None or runners == ctx.policy.limits.queue_runners:
        return []
    where = ctx.in_cf("rx", mc_line(ctx.files.mc("rx"), r"QUEUE_GROUP\(`mqueue'.*\bR=\d+"), group.line)
    return [Finding(*where, f"queue group mqueue has R={runners}, but "
                            f"{ctx.says('limits', 'queue_runners', ctx.policy.limits.queue_runners)}")]


def _matched_by_testbed(ctx: Context) -> bool:
    if "rx" not in ctx.compiled or "tx" not in ctx.compiled:
        return False
    return shape_of(ctx.files, dict(ctx.compiled)).amavis.max_servers is not None


def _servers(ctx: Context) -> list[Finding]:
    limits, findings = ctx.policy.limits, []
    servers = perl_assignment(ctx.files, "$max_servers")
    if _matched_by_testbed(ctx):
        servers = None  # the sample's snippet, overridden at run time by the site's R= (siteconfig/shape.py)
    if servers and servers[0].isdigit() and int(servers[0]) != limits.max_servers:
        findings.append(Finding(ctx.files.shown(servers[1]), servers[2], f"$max_servers is {servers[0]}, but "
                                f"{ctx.says('limits', 'max_servers', limits.max_servers)}"))
    if limits.queue_runners != limits.max_servers and not limits.runners_may_differ:
        findings.append(Finding(ctx.policy_file, ctx.at("limits", "queue_runners"),
                                f"queue_runners ({limits.queue_runners}) differs from max_servers "
                                f"({limits.max_servers}); the document advises equal counts - set "
                                "limits.runners_may_differ = true if that is intended"))
    return findings


def _below(limit: int, expected: int) -> bool:
    """A limit (0: none) that refuses some message the policy's size (0: none) allows."""
    return bool(limit) and (expected == 0 or limit < expected)


def _downstream(ctx: Context) -> list[Finding]:
    """Mail MTA-RX accepted must fit through every mailer it may leave by: MTA-RX's SMTP
    mailers (it hands everything on by SMTP), MTA-TX's size limit and all its mailers."""
    expected, findings = ctx.policy.limits.max_message_size, []
    says = ctx.says("limits", "max_message_size", expected)
    for service, label in (("rx", "MTA-RX"), ("tx", "MTA-TX")):
        cf = ctx.compiled.get(service)
        if cf is None:
            continue
        mc = ctx.files.mc(service)
        option = cf.options.get("MaxMessageSize")
        if service == "tx" and option and _below(cf.max_message_size, expected):
            findings.append(Finding(*ctx.in_cf("tx", mc_define(mc, "confMAX_MESSAGE_SIZE"), option.line),
                                    f"MTA-TX's MaxMessageSize is {cf.max_message_size}, but {says}: MTA-TX "
                                    "would refuse mail MTA-RX accepted"))
        # One finding per setting: SMTP_MAILER_MAX sets M= of smtp, esmtp, smtp8 and dsmtp alike. The
        # mailers the policy's mail leaves by: SMTP's, and MTA-TX's local one (a UUCP or fax mailer
        # carries only what the site routes to it, under limits of its own).
        small: dict[tuple[str, int | None, int], list[str]] = {}
        for mailer in cf.mailers.values():
            carries = mailer.fields.get("P") == "[IPC]" or (service == "tx" and mailer.name == "local")
            if carries and _below(mailer.max_size, expected):
                macro = f"{_MAILER_MAX.get(mailer.name, mailer.name.upper())}_MAILER_MAX"
                small.setdefault((*ctx.in_cf(service, mc_define(mc, macro), mailer.line), mailer.max_size),
                                 []).append(mailer.name)
        for (file, line, size), names in small.items():
            mailers = f"mailer {names[0]} has" if len(names) == 1 else f"mailers {', '.join(names)} have"
            findings.append(Finding(file, line, f"{label}'s {mailers} M={size}, but {says}: mail MTA-RX "
                                                "accepted could not leave through it"))
    return findings


def check_limits(ctx: Context) -> list[Finding]:
    rx = ctx.compiled.get("rx")
    checked = [*_size(ctx, rx), *_runners(ctx, rx)] if rx is not None else []
    return checked + _servers(ctx) + _downstream(ctx)
