"""The two sides compared: the policy values that changed, the rows whose outcome changed, what
each class of recipient gets on each side, and the verdict: a change is declared when its
policy keys are in EXPECT; a row that fails on NEW and did not on OLD is never declared (the
new configuration breaks a promise of its own), and rows that changed with no policy value
changing are not declared either (the configuration does something its policy does not say)."""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from siteconfig.diff.promises import Promises
from siteconfig.suite import Outcome

__all__ = ["Comparison", "RowChange", "ValueChange", "compare", "recipient_classes", "text_only_files"]


@dataclass(frozen=True)
class ValueChange:
    key: str
    old: object
    new: object
    old_source: str
    new_source: str


@dataclass(frozen=True)
class RowChange:
    test: str
    old: str  # passed, failed, n/a, or "absent" (the row exists on one side only)
    new: str
    old_why: str
    new_why: str

    @property
    def breaks(self) -> bool:
        return self.new == "failed" and self.old != "failed"


@dataclass
class Comparison:
    values: list[ValueChange] = field(default_factory=list)
    rows: list[RowChange] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # side -> the message that refused it
    undeclared: list[str] = field(default_factory=list)  # why the change needs review, one line each

    @property
    def changed(self) -> bool:
        return bool(self.values or self.rows or self.refused)


def _why(outcome: Outcome, test: str) -> str:
    return outcome.why_failed.get(test) or outcome.why_not.get(test) or ""


def compare(old: Promises, new: Promises, old_run: Outcome, new_run: Outcome, expect: set[str]) -> Comparison:
    got = Comparison()
    for key in sorted(set(old.values) | set(new.values)):
        if old.values.get(key) != new.values.get(key):
            got.values.append(ValueChange(key, old.values.get(key), new.values.get(key),
                                          old.sources.get(key, ""), new.sources.get(key, "")))
    for side, run in (("OLD", old_run), ("NEW", new_run)):
        if run.refused:
            got.refused[side] = run.refused
    if "OLD" in got.refused and "NEW" not in got.refused:  # no rows to compare: the verdict cannot pass
        got.undeclared.append(f"OLD is refused, so no row could be compared: {got.refused['OLD']}")
    for test in sorted(set(old_run.rows) | set(new_run.rows)) if not got.refused else []:
        before, after = old_run.rows.get(test, "absent"), new_run.rows.get(test, "absent")
        if before != after:
            got.rows.append(RowChange(test, before, after, _why(old_run, test), _why(new_run, test)))
    if "NEW" in got.refused:
        got.undeclared.append(f"NEW is refused{' as OLD is' if 'OLD' in got.refused else ' where OLD ran'}: "
                              f"{got.refused['NEW']}")
    got.undeclared += [f"{row.test} fails on NEW ({row.new_why}); on OLD it was {row.old}"
                       for row in got.rows if row.breaks]
    keys = {change.key for change in got.values}
    got.undeclared += [f"{key} changed ({_shown(c.old)} -> {_shown(c.new)}) and EXPECT does not name it"
                       for key, c in ((c.key, c) for c in got.values) if key not in expect]
    if got.rows and not keys:
        got.undeclared.append(f"{len(got.rows)} row(s) changed outcome while no policy value changed")
    got.undeclared += [f"EXPECT names {key}, which did not change" for key in sorted(expect - keys)]
    return got


def _shown(value: object) -> str:
    return "(none)" if value is None else repr(value)


def _size(value: object) -> str:
    return "no limit" if not value else f"{value} bytes ({int(value) / 1048576:.1f} MiB)"  # type: ignore[call-overload]


# What each class of recipient gets, read from the policy: (class, the policy keys, what it says).
def recipient_classes(p: Promises) -> list[tuple[str, str]]:
    v = p.values.get
    unknown = (f"refused at RCPT with {v('users.unknown_reply')}" if v("users.nonexistent")
               else "accepted by MTA-RX, bounced by MTA-TX later")
    checked = bool(v("content.checked", True))
    content = (f"virus {v('content.virus')}, spam {v('content.spam')}, banned {v('content.banned')}, "
               f"bad header {v('content.bad_header')}" if checked else "not checked")
    return [
        ("local users", f"delivered to mailboxes: {', '.join(map(str, v('users.existing') or []))}"),
        ("unknown local users", unknown),
        ("remote, from outside", "refused: relaying denied"),
        ("relay domains, from outside", ", ".join(map(str, v("relay.domains") or [])) or "none"),
        ("remote, from the LAN", "relayed" if v("relay.lan") else "refused"),
        ("remote, submission (587, AUTH)", "relayed after AUTH" if v("submission.enabled") else "off"),
        ("content", content),
        ("spam lovers", ", ".join(map(str, v("content.spam_lovers") or [])) or "none"),
        ("scanner down", str(v("content.scanner_failure"))),
        ("size limit", _size(v("limits.max_message_size"))),
        ("DNSBL at MTA-RX", str(v("dns.rx_dnsbl") or "none")),
        ("DKIM signing", ", ".join(map(str, v("dkim.signing_domains") or [])) or "none"),
    ]


def _meaning(path: Path) -> object:
    """What the file's reader takes of it: a TOML file's values; of an .mc file, what m4 reads
    (cf.m4 turns m4's comments off: only dnl and what follows it is a comment there, a # line
    is not); of the others (maps, aliases, snippets), the lines that are not # comments. Blank
    lines and trailing blanks do not count."""
    if path.suffix == ".toml":
        try:
            return tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return path.read_bytes()
    raw = path.read_bytes().splitlines()
    if path.suffix == ".mc":
        lines = [re.sub(rb"\bdnl\b.*$", b"", line).rstrip() for line in raw]
    else:
        lines = [line.rstrip() for line in raw if not re.match(rb"\s*#", line)]
    return [line for line in lines if line]


def text_only_files(old: Promises, new: Promises) -> tuple[list[str], list[str]]:
    """The folder files that differ: those whose meaning differs, and those that differ only in
    comments and blank lines."""
    meant, comments = [], []
    derived = {"policy.toml"} if old.derived or new.derived else set()  # its values are compared above
    for name in sorted((set(old.files) | set(new.files)) - derived):
        a, b = old.files.get(name), new.files.get(name)
        if a is None or b is None:
            meant.append(name)
        elif a.read_bytes() != b.read_bytes():
            (comments if _meaning(a) == _meaning(b) else meant).append(name)
    return meant, comments
