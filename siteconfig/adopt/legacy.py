"""What today's sendmail or this machine cannot serve as an old site wrote it, and what an
adopted pair does instead: another system's OSTYPE (the pair runs on Debian), Berkeley's
domain files (their settings inlined, their refusal left out), UUCP host tables that
sendmail-cf no longer ships, relays of networks long gone. Each is kept as a dnl note and
named in the report."""

import re
from dataclasses import replace
from pathlib import Path

from siteconfig.adopt.mc import Statement, read_mc
from siteconfig.adopt.rules import OBSOLETE_RELAYS, Placement

__all__ = ["as_note", "inline_berkeley", "legacy_rule"]

# Debian's own OSTYPE and Linux's (whose procmail is installed); any other names a system this
# machine is not (its local mailer's flags and paths), and the pair runs on Debian.
SERVED_OSTYPES = {"debian", "linux"}
# sendmail-cf's Berkeley domain files end in berkeley-only.m4, which refuses any use outside
# the Computer Science Division (cf.m4's "*** ERROR"); they relay to Berkeley hosts long gone.
BERKELEY_DOMAIN = re.compile(r"Berkeley\.EDU$", re.IGNORECASE)


def as_note(text: str) -> str:
    """A statement written as dnl lines: kept for the reader, not run by m4."""
    return "".join(f"dnl {line}\n" for line in text.rstrip("\n").split("\n"))


def legacy_rule(statement: Statement) -> tuple[Placement | None, str]:
    """The rules that need more than the statement's name: (placement, what instead)."""
    first = statement.args[0].strip("`'") if statement.args else ""
    if statement.name == "OSTYPE" and first not in SERVED_OSTYPES:
        return (Placement(True, True, "general", f"OSTYPE({first}) names another system's paths; the pair runs on "
                          "Debian"), "OSTYPE(`debian') in both")
    if statement.name == "define" and first in OBSOLETE_RELAYS:
        return (Placement(False, True, "delivering", f"the {OBSOLETE_RELAYS[first]} relay: a network long gone"),
                f"no {OBSOLETE_RELAYS[first]} relay (MTA-RX undefines it, as the document has it)")
    if statement.name == "DOMAIN" and BERKELEY_DOMAIN.search(first):
        why = (f"DOMAIN({first}) ends in sendmail-cf's berkeley-only.m4, which refuses use outside Berkeley's CS "
               "Division")
        if statement.origin == "inlined":
            return Placement(True, True, "general", why), "its files' settings inlined, each placed by the rules"
        return (Placement(True, True, "general", why + ", and relays to hosts long gone"),
                "no domain file (sendmail-cf's tree was not at hand): the pair goes on without its settings")
    if statement.name == "SITECONFIG":
        return (Placement(False, True, "delivering", "a UUCP host table of cf/siteconfig, which today's "
                          "sendmail-cf no longer ships"), "no UUCP host table: UUCP hosts are unknown")
    return None, ""


def inline_berkeley(statements: list[Statement], cf_tree: Path | None) -> list[Statement]:
    """A Berkeley DOMAIN() replaced by the statements of its domain files (cf/domain/*.m4 of the
    package's tree), berkeley-only.m4's refusal left out: the site keeps its domain's own
    settings (use_cw_file, redirect, stickyhost, ...), each then placed by the rules."""
    if cf_tree is None:
        return statements
    expanded: list[Statement] = []
    for statement in statements:
        first = statement.args[0].strip("`'") if statement.args else ""
        path = cf_tree / "domain" / f"{first}.m4"
        if statement.name != "DOMAIN" or not BERKELEY_DOMAIN.search(first) or not path.is_file():
            expanded.append(statement)
            continue
        inner = [s for s in read_mc(path.read_text(encoding="latin-1"))
                 if s.kind == "call" and s.name != "VERSIONID"
                 and not (s.name == "DOMAIN" and s.args and s.args[0].strip("`'") == "berkeley-only")]
        expanded.append(replace(statement, origin="inlined"))
        for found in inline_berkeley(inner, cf_tree):
            expanded.append(replace(found, line=statement.line, origin=f"DOMAIN({first})"))
    return expanded
