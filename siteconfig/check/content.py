"""[content] against the configuration: amavisd-new's final destinies, what it does with
every virus scanner down, the spam lovers, and the domains MTA-RX's mailertable sends
past amavisd-new."""

from siteconfig.check.context import Context, Finding
from siteconfig.configfiles import perl_assignment
from siteconfig.policy import Milter

__all__ = ["AMAVIS_DEFAULT_DESTINIES", "check_content"]

# amavisd-new's final destinies when no snippet sets them (Debian's conf.d/20-debian_defaults).
AMAVIS_DEFAULT_DESTINIES = {"virus": "discard", "banned": "bounce", "spam": "bounce", "bad_header": "pass"}


def _destinies(ctx: Context) -> list[Finding]:
    findings = []
    # In the milter topology [milter] states these (siteconfig/check/milter.py checks them).
    milter_states = set(Milter.model_fields) if ctx.files.roles else set()
    for kind, configured_default in AMAVIS_DEFAULT_DESTINIES.items():
        if kind in milter_states:
            continue
        assigned = perl_assignment(ctx.files, f"$final_{kind}_destiny")
        configured = assigned[0].removeprefix("D_").lower() if assigned else configured_default
        expected = getattr(ctx.policy.content, kind)
        if configured != expected:
            where = (ctx.files.shown(assigned[1]), assigned[2]) if assigned else (ctx.policy_file, None)
            findings.append(Finding(*where, f"$final_{kind}_destiny is {configured.upper()}, but "
                                    f"{ctx.says('content', kind, repr(expected))}"))
    return findings


def _scanner_failure(ctx: Context) -> list[Finding]:
    fatal = perl_assignment(ctx.files, "$virus_scanners_failure_is_fatal")
    tempfails = bool(fatal and fatal[0] not in ("0", "undef", "''", '""'))
    expected = ctx.policy.content.scanner_failure
    if tempfails == (expected == "tempfail"):
        return []
    where = (ctx.files.shown(fatal[1]), fatal[2]) if fatal else (ctx.policy_file, ctx.at("content", "scanner_failure"))
    return [Finding(*where, f"with every virus scanner down amavisd-new would "
                            f"{'tempfail' if tempfails else 'pass mail unscanned'} "
                            f"($virus_scanners_failure_is_fatal), but "
                            f"{ctx.says('content', 'scanner_failure', repr(expected))}")]


def _spam_lovers(ctx: Context) -> list[Finding]:
    snippets = " ".join(path.read_text(errors="replace") for path in (ctx.files.assembled / "amavis").glob("*"))
    return [Finding(ctx.policy_file, ctx.at("content", "spam_lovers"),
                    f"spam lover {ctx.policy.address(lover)} is not named in any amavis/ snippet "
                    "(@spam_lovers_maps)")
            for lover in ctx.policy.content.spam_lovers if ctx.policy.address(lover) not in snippets]


def _unchecked_domains(ctx: Context) -> list[Finding]:
    files, findings = ctx.files, []
    routes = {entry.split()[0].lower(): (number, entry) for number, entry in files.entries("rx/mailertable")}
    for domain in ctx.policy.content.unchecked_domains:
        if domain.lower() not in routes:
            findings.append(Finding(ctx.policy_file, ctx.at("content", "unchecked_domains"),
                                    f"unchecked domain {domain} has no route in {files.shown('rx/mailertable')}"))
        elif "10024" in routes[domain.lower()][1]:
            findings.append(Finding(files.shown("rx/mailertable"), routes[domain.lower()][0],
                                    f"{domain} is routed to amavisd-new, but the policy says it is not checked"))
    return findings


def check_content(ctx: Context) -> list[Finding]:
    return _destinies(ctx) + _scanner_failure(ctx) + _spam_lovers(ctx) + _unchecked_domains(ctx)
