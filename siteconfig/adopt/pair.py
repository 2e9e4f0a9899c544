"""A site's one .mc split into the document's pair: each statement placed by the document's
rules (rules.py) with a dnl note saying which, the document's own lines added before the
mailers (document.py), and every decision kept for the report. A statement the rules do not
understand stays where it was, in both files, and is named; none is dropped."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from siteconfig.adopt.document import rx_check_rcpt, rx_lines, tx_lines
from siteconfig.adopt.legacy import as_note, inline_berkeley, legacy_rule
from siteconfig.adopt.mc import read_mc
from siteconfig.adopt.rules import Placement, place

__all__ = ["Adopted", "Decision", "adopt_mc"]

ROLES = ("rx", "tx")
_RUNNERS = re.compile(r"\bR=(\d+)")


@dataclass
class Decision:
    """What adopt did with one statement of the site's .mc."""

    line: int
    text: str
    placement: Placement
    kept_as_note: tuple[str, ...] = ()  # roles where it is written as a dnl note, not live
    instead: str = ""  # what the pair does instead, where it is not adopted as written
    origin: str = ""  # the DOMAIN() whose file it was inlined from

    @property
    def where(self) -> str:
        live = [role.upper() for role in ROLES if getattr(self.placement, role) and role not in self.kept_as_note]
        return " + ".join(live) or "neither (kept as a note)"


@dataclass
class Adopted:
    rx: str
    tx: str
    decisions: list[Decision] = field(default_factory=list)
    runners: int = 2
    document: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def adopt_mc(text: str, cf_tree: Path | None = None) -> Adopted:
    """The pair made from the site's .mc text (cf_tree: sendmail-cf's tree, where Berkeley's
    domain files are read to inline them)."""
    statements = inline_berkeley(read_mc(text), cf_tree)
    runners = next((int(m.group(1)) for s in statements if s.name == "QUEUE_GROUP" and s.args
                    and s.args[0].strip("`'") == "mqueue" and (m := _RUNNERS.search(s.text))), 2)
    document = {"rx": rx_lines(runners), "tx": tx_lines()}
    out: dict[str, list[str]] = {role: [] for role in ROLES}
    decisions: list[Decision] = []
    placed_calls: dict[str, set[tuple[str, str]]] = {role: set() for role in ROLES}
    in_header = False
    first_mailer: dict[str, int | None] = {role: None for role in ROLES}
    first_section: dict[str, int | None] = {role: None for role in ROLES}
    has_check_rcpt = any(s.kind == "section" and re.search(r"^SLocal_check_rcpt\b", s.text, re.M) for s in statements)
    for statement in statements:
        if statement.kind == "divert":
            in_header = "(-1)" in statement.text.replace(" ", "")
            for role in ROLES:
                out[role].append(statement.text)
            continue
        if in_header or statement.kind == "comment":
            for role in ROLES:
                out[role].append(statement.text)
            continue
        special, instead = legacy_rule(statement)
        placement = special or place(statement)
        decision = Decision(statement.line, statement.text, placement, instead=instead,
                            origin="" if statement.origin == "inlined" else statement.origin)
        for role in ROLES:
            if not getattr(placement, role):
                if role in placement.replaced:
                    out[role].append(f"dnl [the document] the site's line {statement.line} is replaced here by the "
                                     "document's own (below):\n" + as_note(statement.text))
                continue
            if special:
                decision.kept_as_note += (role,)
                out[role].append(f"dnl [{placement.rule}, not adopted] {placement.why}: {instead}\n"
                                 + as_note(statement.text))
                if statement.name == "OSTYPE":
                    out[role].append("OSTYPE(`debian')dnl\n")
                continue
            note = placement.why if placement.understood else f"NOT UNDERSTOOD: {placement.why}"
            origin = f", from {decision.origin}'s file, inlined" if decision.origin else ""
            out[role].append(f"dnl [{placement.rule}] {note} (site's line {statement.line}{origin})\n")
            if statement.name == "MAILER" and first_mailer[role] is None:
                first_mailer[role] = len(out[role]) - 1
            if statement.kind == "section" and first_section[role] is None:
                first_section[role] = len(out[role]) - 1
            out[role].append(statement.text if statement.text.endswith("\n") else statement.text + "\n")
            if statement.kind == "call" and statement.args:
                placed_calls[role].add((statement.name, statement.args[0].strip("`'")))
        decisions.append(decision)
    texts = {}
    for role in ROLES:
        block = [f"dnl --- the document's own lines for MTA-{role.upper()} (README.sendmail-dual) ---\n"]
        for line, why in document[role]:
            call = re.match(r"(\w+)\(`?([^',)]*)", line)
            if call and (call.group(1), call.group(2)) in placed_calls[role]:
                continue  # the site's own line of the same says it already
            block.append(f"{line}dnl  [the document] {why}\n")
        if first_mailer[role] is None:  # the site's .mc names no mailer for this instance
            block += ["MAILER(`local')dnl  [the document] the local mailer\n"] if role == "tx" else []
            block += ["MAILER(`smtp')dnl  [the document] the SMTP mailers\n"]
            at = first_section[role] if first_section[role] is not None else len(out[role])
            out[role][at:at] = block
        else:
            out[role][first_mailer[role]:first_mailer[role]] = block
        # dnl, not #: cf.m4 turns m4's comments off, so a quote in a # line would open a string
        head = (f"divert(-1)dnl\ndnl MTA-{role.upper()} adopted by `make adopt` (siteconfig/adopt) from the site's "
                "one .mc: each of its lines\ndnl placed by the document's rules, with a dnl note saying which; "
                "adopt.md has every decision.\ndivert(0)dnl\n")
        body = "".join(out[role])
        if role == "rx" and not has_check_rcpt:
            body += ("dnl [the document] Matej Vela's rules: unknown local recipients refused at RCPT\n"
                     + rx_check_rcpt())
        texts[role] = head + body
    return Adopted(texts["rx"], texts["tx"], decisions, runners, document)
