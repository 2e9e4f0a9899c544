"""[domains], [users] and [relay] against the configuration: local-host-names, the users
and aliases files, and what MTA-RX relays to (its access map's "To:" entries and the relay
domains compiled into its .cf, RELAY_DOMAIN's class R)."""

from siteconfig.check.context import Context, Finding

__all__ = ["check_domains", "check_relay", "check_users"]


def check_domains(ctx: Context) -> list[Finding]:
    local = {entry.lower() for _, entry in ctx.files.entries("local-host-names")}
    return [Finding(ctx.policy_file, ctx.at("domains", "local"),
                    f"local domain {domain} is not in {ctx.files.shown('local-host-names')}")
            for domain in ctx.policy.domains.local if domain.lower() not in local]


def _refuses_unknown_users(ctx: Context) -> list[Finding]:
    """A policy that expects unknown local users refused at RCPT needs a way for MTA-RX, which
    delivers nothing itself, to know them: the document's Local_check_rcpt rules, or a
    virtusertable listing them (the document's NOTES)."""
    rx = ctx.compiled.get("rx")
    if rx is None or not ctx.policy.users.nonexistent:
        return []
    if rx.rulesets.get("Local_check_rcpt", 0) or "virtuser" in rx.maps:
        return []
    return [Finding(ctx.policy_file, ctx.at("users", "nonexistent"),
                    f"the policy expects MTA-RX to refuse unknown users ({', '.join(ctx.policy.users.nonexistent)}), "
                    f"but {ctx.files.shown(ctx.files.cf_source('rx'))} has neither Local_check_rcpt rules (the "
                    "document's) nor a virtusertable: MTA-RX takes any local recipient and MTA-TX bounces it later")]


def check_users(ctx: Context) -> list[Finding]:
    files, findings = ctx.files, []
    known = {entry for _, entry in files.entries("users")}
    known |= {entry.split(":", 1)[0].strip() for _, entry in files.entries("aliases")}
    for user in ctx.policy.users.existing:
        if user not in known:
            findings.append(Finding(ctx.policy_file, ctx.at("users", "existing"),
                                    f"user {user} is neither in {files.shown('users')} nor in "
                                    f"{files.shown('aliases')}"))
    for user in ctx.policy.users.nonexistent:
        if user.split("+", 1)[0] in known:
            findings.append(Finding(ctx.policy_file, ctx.at("users", "nonexistent"),
                                    f"user {user} is listed as nonexistent but exists in the config"))
    return findings + _refuses_unknown_users(ctx)


def check_relay(ctx: Context) -> list[Finding]:
    files = ctx.files
    relayed = {entry.split()[0].lower().removeprefix("to:") for _, entry in files.entries("rx/access")
               if entry.lower().startswith("to:") and entry.split()[-1].upper() == "RELAY"}
    rx = ctx.compiled.get("rx")
    relayed |= {domain.value.lower() for domain in (rx.classes.get("R", []) if rx else [])}
    source = files.cf_source("rx")
    compiled_in = "RELAY_DOMAIN in" if source.endswith(".mc") else "class R (relay domains) in"
    return [Finding(ctx.policy_file, ctx.at("relay", "domains"),
                    f"relay domain {domain} has no \"To:{domain} RELAY\" in {files.shown('rx/access')} nor "
                    f"{compiled_in} {files.shown(source)}")
            for domain in ctx.policy.relay.domains if domain.lower() not in relayed]
