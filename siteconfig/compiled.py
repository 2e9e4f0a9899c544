"""The sendmail .cf files as compiled into the images: the values lint compares with the
policy, and the values tests read instead of copying a number out of an .mc by hand.

A small reader of the parts that matter here, not of sendmail's whole language:
  O MaxMessageSize=10485760                     options
  Qmqueue, P=/var/spool/mqueue-rx, R=2, F=f     queue groups
  Mesmtp, P=[IPC], F=mDFMuXa, ..., L=990,       mailers, continued on indented lines
          m=10, M=20000000, T=DNS/RFC822/SMTP,  (m= the messages per connection, M= the size)
  C{R}relayed.example  CRother.example          classes given in the file (not F file classes)
  R$-.$-.$-.$-  $: <?> $(dnsbl $4.$3.$2.$1.bl.example. $: OK $)   DNSBL lookups
  DSesmtp:[127.0.0.1]                           macros (S: SMART_HOST, H: MAIL_HUB)
  O DaemonPortOptions=Port=10025, Name=MTA-TX   one line per daemon, all kept
  Sgreet_pause                                  named rulesets (FEATURE(greet_pause) makes this one)
  Xdkim-sign, S=inet:8891@127.0.0.1, F=T, T=...  milters (INPUT_MAIL_FILTER), used when named
  O InputMailFilters=dkim-sign                   in this option
"""

import os
import re
import subprocess
from dataclasses import dataclass, field

from siteconfig.errors import CompiledCfError

__all__ = [
    "CHAIN_CFS",
    "MILTER_CF",
    "RX_CF",
    "TOPOLOGY_CFS",
    "TX_CF",
    "CompiledCf",
    "CompiledCfError",
    "Definition",
    "Setting",
    "chain_cfs",
    "parse_cf",
    "read_compiled",
]

RX_CF = "/etc/mail/sendmail-rx.cf"  # images/rx/install-config
TX_CF = "/etc/mail/sendmail.cf"  # Dockerfile.tx
# Service -> (image without its tag, path of the compiled .cf in it); compose.yaml's names.
CHAIN_CFS = {"rx": ("testbed-rx", RX_CF), "tx": ("testbed-tx", TX_CF)}
MILTER_CF = "/etc/mail/sendmail.cf"  # Dockerfile.milter: the milter topology's one sendmail
TOPOLOGY_CFS = {"dual": CHAIN_CFS, "milter": {"mta": ("testbed-milter", MILTER_CF)}}


def chain_cfs() -> dict[str, tuple[str, str]]:
    """The sendmails of the run's topology ($TESTBED_TOPOLOGY, set by make from TOPOLOGY=)."""
    name = os.environ.get("TESTBED_TOPOLOGY") or "dual"
    if name not in TOPOLOGY_CFS:
        raise ValueError(f"TESTBED_TOPOLOGY must be one of {', '.join(TOPOLOGY_CFS)}, got {name!r}")
    return TOPOLOGY_CFS[name]
_FIELD_START = re.compile(r",\s*(?=[A-Za-z]=)")
_DNSBL_LOOKUP = re.compile(r"\$\(e?dnsbl \$4\.\$3\.\$2\.\$1\.(\S+?)\.? \$:")


@dataclass(frozen=True)
class Setting:
    value: str
    line: int


@dataclass(frozen=True)
class Definition:
    """A mailer or a queue group: its name, its `X=value` fields (case matters: m= is not
    M=), and the line it starts on."""

    name: str
    fields: dict[str, str]
    line: int

    def number(self, key: str) -> int | None:
        value = self.fields.get(key, "")
        return int(value) if value.isdigit() else None

    @property
    def max_size(self) -> int:
        """M=: the largest message the mailer takes, in bytes (0: no limit)."""
        return self.number("M") or 0

    @property
    def maxmsgs(self) -> int:
        """m=: the most messages it sends over one connection (0: no limit)."""
        return self.number("m") or 0


@dataclass(frozen=True)
class CompiledCf:
    options: dict[str, Setting] = field(default_factory=dict)
    queue_groups: dict[str, Definition] = field(default_factory=dict)
    mailers: dict[str, Definition] = field(default_factory=dict)
    classes: dict[str, list[Setting]] = field(default_factory=dict)
    dnsbl_zones: list[Setting] = field(default_factory=list)
    milters: dict[str, Definition] = field(default_factory=dict)
    macros: dict[str, Setting] = field(default_factory=dict)
    daemons: list[Setting] = field(default_factory=list)  # each O DaemonPortOptions= value
    # Named rulesets (S<name>) and how many rules each has: Local_check_rcpt is always there,
    # empty unless a .mc fills it (the document's rules); greet_pause comes with its feature.
    rulesets: dict[str, int] = field(default_factory=dict)
    maps: dict[str, Setting] = field(default_factory=dict)  # K<name> <class> ...: the map's definition
    # The m4 files the .cf was made from, as its "#####  $Id: delay_checks.m4,v ..." lines name
    # them (features, mailers, the OS type): what changes sendmail's behaviour by design.
    made_from: set[str] = field(default_factory=set)
    # FEATURE(greet_pause)'s pauses in milliseconds, as its ruleset returns them ($# 5000): the
    # default and any the .mc spells out; the access map may set others per client.
    greet_pauses: list[int] = field(default_factory=list)

    @property
    def greet_pause(self) -> float:
        """The longest greeting pause of the .cf, in seconds (0 without greet_pause)."""
        return max(self.greet_pauses, default=0) / 1000

    def option(self, name: str) -> str | None:
        setting = self.options.get(name)
        return setting.value if setting else None

    @property
    def max_message_size(self) -> int:
        """O MaxMessageSize (0 when absent: no limit)."""
        value = self.option("MaxMessageSize") or ""
        return int(value) if value.isdigit() else 0

    @property
    def input_filters(self) -> list[Definition]:
        """The milters sendmail calls (O InputMailFilters), in its order; an X line that
        option does not name is defined but unused."""
        names = [name.strip() for name in (self.option("InputMailFilters") or "").split(",") if name.strip()]
        return [self.milters[name] for name in names if name in self.milters]

    def number(self, name: str, default: int) -> int:
        """A numeric option, or sendmail's default when it is absent."""
        value = self.option(name) or ""
        return int(value) if value.lstrip("-").isdigit() else default

    @property
    def daemon_ports(self) -> list[tuple[int, Setting]]:
        """The TCP ports its daemons listen on (Port=, else smtp's 25), with their lines."""
        ports = []
        for daemon in self.daemons:
            port = re.search(r"(?:^|,)\s*Port=(\w+)", daemon.value)
            value = port.group(1) if port else "25"
            ports.append((int(value) if value.isdigit() else {"smtp": 25, "submission": 587}.get(value, 0), daemon))
        return ports or [(25, Setting("", 0))]

    def daemon_modifiers(self, port: int) -> str:
        """M= (Modifiers=) of the daemon on `port`: e.g. "Ea" for Debian's MSP, where `a`
        requires AUTH before MAIL."""
        for number, daemon in self.daemon_ports:
            if number == port:
                found = re.search(r"(?:^|,)\s*(?:M|Modifiers)=(\w*)", daemon.value)
                return found.group(1) if found else ""
        return ""

    def mailer_port(self, name: str) -> int | None:
        """The TCP port a mailer connects to (A=TCP $h PORT; 25 without one), None when it
        does not speak over TCP or there is no such mailer."""
        mailer = self.mailers.get(name)
        args = mailer.fields.get("A", "").split() if mailer else []
        if args[:2] != ["TCP", "$h"]:
            return None
        return int(args[2]) if len(args) > 2 and args[2].isdigit() else 25

    def maxmsgs(self, mailer: str) -> int:
        """m= of a mailer (e.g. SMTP_MAILER_MAXMSGS of an .mc); KeyError if there is no such mailer."""
        return self.mailers[mailer].maxmsgs


def _definition(text: str, line: int) -> Definition:
    name, _, rest = text[1:].partition(",")
    pairs = (part.partition("=") for part in _FIELD_START.split(rest.strip().rstrip(",")) if "=" in part)
    return Definition(name.strip(), {key.strip(): value.strip() for key, _, value in pairs}, line)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with their number, a mailer's or queue group's indented continuations joined on."""
    joined: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and joined and joined[-1][1][:1] in ("M", "Q"):
            joined[-1] = (joined[-1][0], f"{joined[-1][1]} {line.strip()}")
        else:
            joined.append((number, line))
    return joined


def parse_cf(text: str) -> CompiledCf:
    """Read the options, queue groups, mailers, classes, DNSBL zones and milters of a .cf (the last
    definition of a name counts, as in sendmail)."""
    cf, ruleset = CompiledCf(), None
    for number, line in _logical_lines(text):
        if made := re.match(r"#####\s+\$Id: ([\w.-]+)\.m4,", line):
            cf.made_from.add(made.group(1))
        elif line.startswith("O "):
            name, _, value = line[2:].partition("=")
            cf.options[name.strip()] = Setting(value.strip(), number)
            if name.strip() == "DaemonPortOptions":
                cf.daemons.append(Setting(value.strip(), number))
        elif match := re.match(r"D(\{\w+\}|\w)(.*)", line):
            cf.macros[match.group(1).strip("{}")] = Setting(match.group(2).strip(), number)
        elif line.startswith("Q") and "," in line:
            group = _definition(line, number)
            cf.queue_groups[group.name] = group
        elif line.startswith("M") and "," in line:
            mailer = _definition(line, number)
            cf.mailers[mailer.name] = mailer
        elif match := re.match(r"C(\{\w+\}|\w)(.*)", line):
            name = match.group(1).strip("{}")
            cf.classes.setdefault(name, []).extend(Setting(word, number) for word in match.group(2).split())
        elif match := re.match(r"S([A-Za-z_]\w*)", line):
            ruleset = match.group(1)
            cf.rulesets[ruleset] = 0
        elif match := re.match(r"K(\S+)\s+(.*)", line):
            cf.maps[match.group(1)] = Setting(match.group(2), number)
        elif line.startswith("X") and "," in line:
            milter = _definition(line, number)
            cf.milters[milter.name] = milter
        elif line.startswith("R"):
            if ruleset is not None:
                cf.rulesets[ruleset] += 1
                if ruleset == "greet_pause" and (pause := re.search(r"\$#\s*(\d+)\s*$", line)):
                    cf.greet_pauses.append(int(pause.group(1)))
            if lookup := _DNSBL_LOOKUP.search(line):
                cf.dnsbl_zones.append(Setting(lookup.group(1), number))
    return cf


def read_compiled(image: str, path: str) -> CompiledCf:
    """The .cf at `path` in `image`, read from a fresh container (no network) and parsed."""
    try:
        out = subprocess.run(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "cat",
                              image, path], capture_output=True, text=True, encoding="latin-1", timeout=300)
    except (OSError, subprocess.TimeoutExpired) as failed:
        raise CompiledCfError(f"cannot read {path} from {image}: {failed}") from None
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[0]
        raise CompiledCfError(f"cannot read {path} from {image}: {reason}")
    return parse_cf(out.stdout)
