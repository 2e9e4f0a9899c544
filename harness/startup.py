"""Why a chain did not come up, in one message: which daemon, the first fatal line it logged
(or what its healthcheck saw), the line of the site's configuration behind it where there is
one, and what to do. Stack.up raises ChainDownError with it; the suite stops on it at once
(tests/conftest.py) instead of erroring every test with the same logs.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from siteconfig.errors import ChainDownError

__all__ = ["ChainDownError", "Diagnosis", "diagnose", "first_fatal", "locate_daemon"]

# What a daemon logs when it cannot run, by daemon, most telling first.
FATAL = [
    re.compile(r"SYSERR.*|.*cannot bind.*|.*problem creating SMTP socket.*|site-milters: .* did not .*", re.IGNORECASE),
    re.compile(r".*(?:Error in config file|TROUBLE in|fatal|FATAL|ERROR:).*"),
    re.compile(r".*(?:must be|cannot resolve|not of the form|is unknown|No such file).*"),
]
# A fatal line's cause -> what to do.
FIXES = [
    (r"Cannot assign requested address",
     "the daemon binds an address the testbed's namespace does not have: it has loopback (127.0.0.1, and ::1 where a "
     "daemon of the site binds IPv6) and the container's own; a site's public address cannot be had here. Listen on "
     "loopback or on every address in a copy made for the testbed, or run the real host's address in your own "
     "network"),
    (r"Address already in use",
     "two daemons bind the same port: MTA-RX, amavisd-new and MTA-TX share one network namespace (the document's "
     "loopback), so each needs a port of its own"),
    (r"Permission denied",
     "a file or directory the daemon needs is not readable or writable by the user it runs as (RunAsUser, "
     "TrustedUser): see the line above"),
    (r"site-milters: .* did not",
     "a milter of the site's .mc that the testbed runs from its Debian package (images/common/site-milters) did not "
     "start on the socket the .cf names: its own log lines are above this one in the container's log"),
    (r"no connection|no banner",
     "the daemon did not answer on the address and port its .cf names (the healthcheck reads them from it): it "
     "did not start, or listens elsewhere"),
]


@dataclass(frozen=True)
class Diagnosis:
    service: str
    state: str
    fatal: str  # the first fatal line it logged, else its healthcheck's last words
    where: str | None  # "file:line" of the configuration behind it
    fix: str | None

    def __str__(self) -> str:
        text = f"{self.service} ({self.state}): {self.fatal}"
        if self.where:
            text += f"\n  configured at {self.where}"
        if self.fix:
            text += f"\n  what to do: {self.fix}"
        return text


def first_fatal(log: str) -> str | None:
    """The first line of the log that says why the daemon cannot run."""
    lines = log.splitlines()
    for pattern in FATAL:
        found = next((line.strip() for line in lines if pattern.fullmatch(line.strip())), None)
        if found:
            return found
    return None


def locate_daemon(line: str, sources: list[tuple[str, str]]) -> str | None:
    """The file:line of the daemon a sendmail line names ("daemon MTA6: cannot bind"), in the
    site's .mc or .cf texts (shown name, text)."""
    named = re.search(r"daemon ([\w.-]+)", line)
    if not named:
        return None
    pattern = re.compile(rf"(?i)\bN\w*=\s*{re.escape(named.group(1))}\b")
    for shown, text in sources:
        for number, source_line in enumerate(text.splitlines(), start=1):
            if ("DaemonPortOptions" in source_line or "DAEMON_OPTIONS" in source_line) and pattern.search(source_line):
                return f"{shown}:{number}"
    return None


def diagnose(services: list[str], state: Callable[[str], str], logs: Callable[[str], str],
             health: Callable[[str], str], sources: Callable[[str], list[tuple[str, str]]]) -> list[Diagnosis]:
    """A diagnosis for each service that is not running healthy, in start order: its state,
    its first fatal log line (else its healthcheck's last output), the configuration line
    behind it (`sources(service)`: the site's files that configure it), and the fix."""
    found = []
    for service in services:
        current = state(service)
        if current in ("healthy", "running"):
            continue
        fatal = first_fatal(logs(service)) or health(service).strip().splitlines()[-1:] or ["(nothing logged)"]
        line = fatal if isinstance(fatal, str) else fatal[0]
        fix = next((text for pattern, text in FIXES if re.search(pattern, line)), None)
        found.append(Diagnosis(service, current, line, locate_daemon(line, sources(service)), fix))
    return found


def site_sources(source: Path, assembled: Path) -> dict[str, list[tuple[str, str]]]:
    """The files that configure each sendmail, the site's own first (an .mc, else a .cf)."""
    def read(rels: list[str]) -> list[tuple[str, str]]:
        out = []
        for rel in rels:
            for folder in (source, assembled):
                path = folder / rel
                if path.is_file():
                    out.append((str(path), path.read_text(errors="replace")))
                    break
        return out

    return {"rx": read(["rx/thishost-rx.mc", "rx/sendmail-rx.cf"]), "tx": read(["tx/thishost-tx.mc", "tx/sendmail.cf"]),
            "mta": read(["milter/thishost-milter.mc", "milter/sendmail.cf"])}
