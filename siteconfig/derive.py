"""A policy for a configuration that brings none: what the suite may expect, derived from
the configuration itself, each value with the file and line it came from.

A folder with its own .mc files but no policy.toml would otherwise be tested against the
sample's promises. Derived instead: local domains (local-host-names), users (users file),
relay domains (access map "To:" RELAY grants, RELAY_DOMAIN; never the clients it relays
for), the size limit, R= and $max_servers, submission (MSA on, SASL accounts,
TRUST_AUTH_MECH), content destinies and DNSBL (amavisd-new snippets, the .mc).
Expectations the configuration does not state stay unstated, and the tests that need them
report themselves not applicable, saying so: e.g. how MTA-RX treats an unknown local user (it
refuses at RCPT only with the document's Local_check_rcpt rules; else MTA-TX bounces later).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from siteconfig.configfiles import LOOPBACK, ConfigFiles, perl_assignment, relay_grants
from siteconfig.layout import SAMPLE

__all__ = ["Derived", "derive_policy", "write_policy"]

_DESTINY = {"D_PASS": "pass", "D_DISCARD": "discard", "D_BOUNCE": "bounce", "D_REJECT": "reject"}


@dataclass
class Derived:
    """Policy values (TOML-ready) by section and key, and where each came from."""

    values: dict[str, dict[str, object]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # "section.key" -> "file:line" or why
    unstated: list[str] = field(default_factory=list)  # "section.key: why"

    def set(self, section: str, key: str, value: object, source: str) -> None:
        self.values.setdefault(section, {})[key] = value
        self.sources[f"{section}.{key}"] = source


def _lines(path: Path) -> list[tuple[int, str]]:
    if not path.is_file():
        return []
    return [(n, line.strip()) for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith(("#", "dnl"))]


def _last(lines: list[tuple[int, str]], pattern: str) -> tuple[int, re.Match[str]] | None:
    """The last line matching `pattern` (the last definition counts, as in m4), and the match."""
    found = None
    for number, line in lines:
        if match := re.search(pattern, line):
            found = (number, match)  # the last one counts, as in m4 and Perl
    return found


def _amavis(folder: Path, variable: str) -> tuple[str, str] | None:
    """(value, "file:line") of the last assignment across the amavisd-new snippets."""
    found = perl_assignment(ConfigFiles(folder, folder), variable)
    return (found[0], f"{found[1]}:{found[2]}") if found else None


def _own_snippet(folder: Path, shown: str) -> bool:
    """Whether the snippet at "file:line" is the site's, not the sample's copied in (same bytes)."""
    rel = shown.rsplit(":", 1)[0]
    sample = SAMPLE / rel
    return not (sample.is_file() and sample.read_bytes() == (folder / rel).read_bytes())


def _limits(d: Derived, folder: Path, rx: list[tuple[int, str]]) -> None:
    size = _last(rx, r"define\(\s*`?confMAX_MESSAGE_SIZE'?\s*,\s*`?(\d+)")
    d.set("limits", "max_message_size", int(size[1].group(1)) if size else 0,
          f"rx/thishost-rx.mc:{size[0]}" if size else "no confMAX_MESSAGE_SIZE in rx/thishost-rx.mc: no limit")
    servers = _amavis(folder, "$max_servers")
    count = int(servers[0]) if servers and servers[0].isdigit() else 2
    runners = _last(rx, r"QUEUE_GROUP\(.*\bR=(\d+)")
    if runners and not (servers and _own_snippet(folder, servers[1])):
        # The sample's count is not the site's: the testbed's amavisd-new runs one child per
        # runner (siteconfig/shape.py), as the document has it.
        count, servers = int(runners[1].group(1)), (runners[1].group(1), f"rx/thishost-rx.mc:{runners[0]}'s R= "
                                                    "(the folder sets no $max_servers: the testbed matches it)")
    d.set("limits", "max_servers", count, servers[1] if servers else "amavisd-new's default")
    d.set("limits", "queue_runners", int(runners[1].group(1)) if runners else count,
          f"rx/thishost-rx.mc:{runners[0]}" if runners else "no queue group with R=: taken as $max_servers")
    d.set("limits", "runners_may_differ", False, "the document's rule (R = $max_servers) holds for every config")


def _relay(d: Derived, folder: Path, rx: list[tuple[int, str]]) -> None:
    files = ConfigFiles(folder, folder)
    grants = relay_grants(files.entries("rx/access"))
    domains = [key for _, kind, key in grants if kind == "To"]
    for _number, line in rx:
        for match in re.finditer(r"RELAY_DOMAIN\(\s*`?([^')]+)", line):
            domains.extend(word.lower() for word in match.group(1).split())
    access = any(re.search(r"FEATURE\(\s*`?access_db", line) for _, line in rx)
    d.set("relay", "lan", access, "the testbed's LAN client (the entrypoint grants it RELAY in the access map)"
          if access else "MTA-RX reads no access map (no FEATURE(access_db)): no client is granted RELAY, the "
          "testbed's LAN client neither")
    d.set("relay", "domains", sorted(set(domains)), "rx/access To: RELAY entries and RELAY_DOMAIN")
    # Relaying for a client or a network is what an open relay is made of: not derived, so lint
    # (the document's invariants) names each grant until a policy.toml states it.
    clients = sorted({key for _, kind, key in grants if kind == "Connect" and key not in LOOPBACK})
    d.set("relay", "clients", [], "not derived: a policy.toml must name the clients MTA-RX relays for")
    if clients:
        d.unstated.append(f"relay.clients: rx/access grants RELAY to {', '.join(clients)}; lint refuses that until "
                          "a policy.toml names them")


def _users(d: Derived, folder: Path, rx: list[tuple[int, str]]) -> None:
    domains = [entry.lower() for _, entry in _lines(folder / "local-host-names")
               if entry.lower() not in ("localhost", "localhost.localdomain")]
    d.set("domains", "local", domains, "local-host-names")
    users = [entry.split()[0] for _, entry in _lines(folder / "users")]
    d.set("users", "existing", users, "users")
    if _last(rx, r"Local_check_rcpt"):
        d.set("users", "nonexistent", ["nosuchuser", "nosuchuser+tag"],
              "rx/thishost-rx.mc has Local_check_rcpt rules (the document's: unknown users refused at RCPT)")
        d.set("users", "unknown_reply", "550 5.1.1", "the document's Local_check_rcpt rules")
    else:
        d.set("users", "nonexistent", [], "rx/thishost-rx.mc has no Local_check_rcpt rules")
        d.set("users", "unknown_reply", "550 5.1.1", "unused: no nonexistent users are stated")
        d.unstated.append("users.nonexistent: the configuration does not say how MTA-RX treats an unknown local "
                          "user (without the document's Local_check_rcpt rules it accepts and MTA-TX bounces)")


def _submission(d: Derived, folder: Path, rx: list[tuple[int, str]]) -> None:
    msa = (not _last(rx, r"FEATURE\(\s*`?no_default_msa")
           or bool(_last(rx, r"DAEMON_OPTIONS\(.*Port=(587|submission)")))
    accounts = [entry.split() for _, entry in _lines(folder / "rx" / "sasl-users")]
    domain = (d.values["domains"]["local"] or ["localhost"])[0]
    # An authenticated client may relay only by a mechanism TRUST_AUTH_MECH names.
    trusted = _last(rx, r"TRUST_AUTH_MECH\(")
    d.set("submission", "enabled", msa and bool(accounts) and bool(trusted),
          "rx/thishost-rx.mc's MSA, TRUST_AUTH_MECH and rx/sasl-users")
    if msa and accounts and not trusted:
        d.unstated.append("submission: MTA-RX offers AUTH but no TRUST_AUTH_MECH, so an authenticated client may "
                          "not relay; whether submission is meant to work is not stated")
    if msa and trusted and accounts and len(accounts[0]) >= 2:
        d.set("submission", "login", f"{accounts[0][0]}@{domain}", "rx/sasl-users:1 (first account)")
        d.set("submission", "password", accounts[0][1], "rx/sasl-users:1")


def _content(d: Derived, folder: Path, rx: list[tuple[int, str]]) -> None:
    for kind in ("virus", "banned", "spam", "bad_header"):
        found = _amavis(folder, f"$final_{kind}_destiny")
        if found and found[0] in _DESTINY:
            d.set("content", kind, _DESTINY[found[0]], found[1])
    fatal = _amavis(folder, "$virus_scanners_failure_is_fatal")
    if fatal:
        d.set("content", "scanner_failure", "tempfail" if fatal[0] == "1" else "pass", fatal[1])
    users = d.values["users"]["existing"]
    d.set("content", "admin", "admin" if "admin" in users else (users or ["postmaster"])[0],
          "the users file (who gets virus alerts is the amavisd-new snippets' $virus_admin, through aliases)")
    dnsbl = _last(rx, r"FEATURE\(\s*`?(?:enh)?dnsbl'?\s*,\s*`?([A-Za-z0-9.-]+)")
    d.set("dns", "rx_dnsbl", dnsbl[1].group(1) if dnsbl else "",
          f"rx/thishost-rx.mc:{dnsbl[0]}" if dnsbl else "no FEATURE(dnsbl) in rx/thishost-rx.mc")
    local_only = _amavis(folder, "$sa_local_tests_only")
    d.set("dns", "sa_network_tests", bool(local_only) and local_only[0] == "0",
          local_only[1] if local_only else "amavisd-new's default (local tests only here)")


def derive_policy(folder: Path) -> Derived:
    """The policy the assembled `folder` implies (its .mc text, maps, users, snippets)."""
    rx = _lines(folder / "rx" / "thishost-rx.mc")
    derived = Derived()
    _users(derived, folder, rx)
    _relay(derived, folder, rx)
    _limits(derived, folder, rx)
    _submission(derived, folder, rx)
    _content(derived, folder, rx)
    return derived


def write_policy(derived: Derived, source: Path, into: Path) -> None:
    """policy.toml of the derived values, with where each came from as comments."""
    values = {"derived": {"source": str(source), "unstated": derived.unstated}, **derived.values}
    head = [f"# Derived by the testbed from {source}, which has no policy.toml (siteconfig/derive.py).",
            "# Where each value came from:"]
    head += [f"#   {key} = {_shown(derived.values, key)}   <- {origin}" for key, origin in derived.sources.items()]
    into.write_text("\n".join(head) + "\n\n" + tomli_w.dumps(values))


def _shown(values: dict[str, dict[str, object]], key: str) -> str:
    section, name = key.split(".", 1)
    return repr(values[section][name])
