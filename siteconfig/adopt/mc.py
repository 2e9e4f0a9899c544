"""A site's one sendmail .mc file, read as the statements m4 will see: macro calls (each as
written, over as many lines as its quotes and parentheses take), the raw .cf sections that
follow LOCAL_CONFIG, LOCAL_RULE_n, LOCAL_RULESETS and LOCAL_NET_CONFIG, comments, and lines
of any other kind, which are kept as they are. Nothing of the file is lost: joining the
statements' texts gives the file back."""

import re
from dataclasses import dataclass

from siteconfig.errors import McError

__all__ = ["SECTIONS", "McError", "Statement", "read_mc"]

# The cf.m4 keywords that start a section of raw .cf text, which runs to the next keyword.
SECTIONS = ("LOCAL_CONFIG", "LOCAL_RULE_0", "LOCAL_RULE_1", "LOCAL_RULE_2", "LOCAL_RULE_3", "LOCAL_RULESETS",
            "LOCAL_NET_CONFIG", "LOCAL_SRV_FEATURES", "LOCAL_TRY_TLS", "LOCAL_TLS_CLIENT", "LOCAL_TLS_RCPT",
            "LOCAL_TLS_SRV", "LOCAL_STARTTLS")
_KEYWORD = re.compile(r"^\s*(" + "|".join(SECTIONS) + r"|MAILER_DEFINITIONS)\b")
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\(")
_COMMENT = re.compile(r"^\s*(dnl\b|#|$)")


@dataclass(frozen=True)
class Statement:
    """One statement of the .mc: kind is call, section (its keyword line and raw body),
    comment, divert or raw (a line of .cf text outside any section)."""

    kind: str
    name: str  # the macro's name (call), the keyword (section), "" otherwise
    text: str  # as written, with its newlines
    line: int  # 1-based, where it starts
    origin: str = ""  # where an inlined statement came from (e.g. "DOMAIN(CS.Berkeley.EDU)")

    @property
    def args(self) -> list[str]:
        """A call's arguments, unquoted one level, spaces kept inside quotes."""
        return _arguments(self.text) if self.kind == "call" and self.text.lstrip()[len(self.name):][:1] == "(" else []


def _call_end(text: str, start: int) -> int:
    """The index just past the parenthesis that closes the call opened at text[start] == "(",
    by m4's rules: `...' quotes nest and hide parentheses; # starts no comment inside a call."""
    depth, quote, i = 0, 0, start
    while i < len(text):
        char = text[i]
        if char == "`":
            quote += 1
        elif char == "'" and quote:
            quote -= 1
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise McError("a call whose parentheses never close")


def _arguments(call: str) -> list[str]:
    """The top-level, comma-separated arguments of NAME(...), one level of quotes removed."""
    start = call.index("(")
    end = _call_end(call, start)
    args, current, depth, quote = [], "", 0, 0
    for char in call[start + 1:end - 1]:
        if char == "`":
            quote += 1
            if quote == 1:
                continue
        elif char == "'" and quote:
            quote -= 1
            if quote == 0:
                continue
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
        elif not quote and depth == 0 and char == ",":
            args.append(current.strip())
            current = ""
            continue
        current += char
    args.append(current.strip())
    return args


def read_mc(text: str) -> list[Statement]:
    """The statements of a .mc, in order."""
    lines = text.splitlines(keepends=True)
    statements: list[Statement] = []
    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        if keyword := _KEYWORD.match(line):
            name = keyword.group(1)
            body = [line]
            i += 1
            if name != "MAILER_DEFINITIONS":
                while i < len(lines) and not _KEYWORD.match(lines[i]):
                    body.append(lines[i])
                    i += 1
            statements.append(Statement("section" if name != "MAILER_DEFINITIONS" else "call", name,
                                        "".join(body), number))
            continue
        if line.lstrip().startswith("divert("):
            statements.append(Statement("divert", "divert", line, number))
            i += 1
            continue
        if _COMMENT.match(line):
            statements.append(Statement("comment", "", line, number))
            i += 1
            continue
        if call := _CALL.match(line):
            rest = "".join(lines[i:])
            try:
                end = _call_end(rest, call.end() - 1)
            except McError:
                raise McError(f"line {number}: {call.group(1)}( is never closed") from None
            taken = rest[:end].count("\n")
            j = i + taken + 1  # the call's last line, with what follows it there (dnl ...)
            statements.append(Statement("call", call.group(1), "".join(lines[i:j]), number))
            i = j
            continue
        statements.append(Statement("raw", "", line, number))
        i += 1
    return statements
