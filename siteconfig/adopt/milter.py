"""The same site as the milter topology the document weighs the chain against: its one .mc
kept as one sendmail that delivers itself, calling amavisd-new through amavisd-milter during
the SMTP session (the testbed's milter topology: TOPOLOGY=milter), with a second daemon on
127.0.0.1:10025 without milters for amavisd-new's notifications. The statements the dual
split cannot adopt as written (another system's OSTYPE, Berkeley's domain files, UUCP host
tables, relays of networks long gone) are treated the same way here."""

import re
from pathlib import Path

from siteconfig.adopt.document import rx_check_rcpt
from siteconfig.adopt.legacy import as_note, inline_berkeley, legacy_rule
from siteconfig.adopt.mc import read_mc

__all__ = ["milter_mc"]

# The testbed's wiring of amavisd-milter (config/sample/milter/thishost-milter.mc has the why).
MILTER_LINES = [
    ("INPUT_MAIL_FILTER(`amavisd-milter', `S=inet:9999@127.0.0.1, F=T, T=S:10m;R:10m;E:10m')",
     "amavisd-new checks each message during the session"),
    ("DAEMON_OPTIONS(`Addr=127.0.0.1, Port=10025, Name=MTA-NOTIFY, InputMailFilters=')",
     "amavisd-new's notifications, not checked again"),
    ("define(`confTO_DATAFINAL', `20m')", "longer than amavisd-milter's own timeout"),
    ("define(`confMILTER_MACROS_CONNECT', `j, _, {daemon_name}, {if_name}, {if_addr}, {client_resolve}')",
     "what amavisd-milter reads of the connection"),
    ("define(`confMILTER_MACROS_ENVFROM', `i, {auth_type}, {auth_authen}, {auth_ssf}, {auth_author}, {mail_mailer}, "
     "{mail_host}, {mail_addr}, r, b')", "and of the sender"),
]


def milter_mc(text: str, cf_tree: Path | None = None) -> str:
    """The site's .mc as the milter topology's one sendmail."""
    statements = inline_berkeley(read_mc(text), cf_tree)
    names = {(s.name, s.args[0].strip("`'") if s.args else "") for s in statements if s.kind == "call"}
    has_daemon = any(name == "DAEMON_OPTIONS" for name, _ in names)
    block = ["dnl --- the milter topology's own lines (the testbed's amavisd-milter wiring) ---\n"]
    if not has_daemon:  # a DAEMON_OPTIONS replaces sendmail's default daemon on 25: name it again
        block.append("DAEMON_OPTIONS(`Name=MTA')dnl  [the milter topology] sendmail's default daemon, kept\n")
    for line, why in MILTER_LINES:
        defined = line.split("`")[1].split("'")[0] if line.startswith("define") else ""
        if defined and ("define", defined) in names:
            continue  # the site's own value stands
        block.append(f"{line}dnl  [the milter topology] {why}\n")
    out: list[str] = []
    placed = False
    for statement in statements:
        if statement.kind == "call" and statement.name == "MAILER" and not placed:
            out += block
            placed = True
        special, instead = legacy_rule(statement)
        if special and statement.kind == "call":
            out.append(f"dnl [not adopted] {special.why}: {instead}\n" + as_note(statement.text))
            if statement.name == "OSTYPE":
                out.append("OSTYPE(`debian')dnl\n")
            continue
        out.append(statement.text if statement.text.endswith("\n") else statement.text + "\n")
    if not placed:
        out += [*block, "MAILER(`local')dnl\n", "MAILER(`smtp')dnl\n"]
    if not any(s.kind == "section" and re.search(r"^SLocal_check_rcpt\b", s.text, re.M) for s in statements):
        # as on the pair's MTA-RX: the one sendmail receives, so it refuses unknown users at RCPT
        out.append("dnl [the document] Matej Vela's rules: unknown local recipients refused at RCPT\n"
                   + rx_check_rcpt())
    # dnl, not #: cf.m4 turns m4's comments off, so a quote in a # line would open a string
    head = ("divert(-1)dnl\ndnl The milter topology's one sendmail, adopted by `make adopt` "
            "(siteconfig/adopt/milter.py) from the site's .mc:\n"
            "dnl its lines as written, with amavisd-milter called during the session.\n"
            "divert(0)dnl\n")
    return head + "".join(out)
