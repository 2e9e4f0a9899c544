"""Reading an assembled configuration folder's files: each shown by where it came from (the
user's folder or the sample), the .mc lines and amavisd-new assignments a value is set on,
the access map's RELAY grants.

Below everything that reads a folder: the assembly's derived policy (siteconfig/derive.py),
the site's shape (siteconfig/shape.py), the image build and every check (siteconfig/check/)
import it, and it imports only the layout, so none of them reaches back up through another.
"""

import re
from pathlib import Path

from siteconfig.layout import MC, PREBUILT, REPO, SAMPLE

__all__ = ["LOOPBACK", "ConfigFiles", "mc_define", "mc_line", "perl_assignment", "relay_grants"]

# Relaying for the host itself (the sendmail command, local programs) is no open door.
LOOPBACK = {"127.0.0.1", "localhost", "localhost.localdomain", "ipv6:::1", "::1", "127"}


class ConfigFiles:
    """The assembled folder, showing each file by where it came from (the user's folder
    or the sample)."""

    def __init__(self, assembled: Path, source: Path, topology: str = "dual") -> None:
        self.assembled, self.source = assembled, source
        # In the milter topology one sendmail ("mta") plays the roles rx and tx.
        self.roles = {"rx": "mta", "tx": "mta"} if topology == "milter" else {}

    def shown(self, rel: str) -> str:
        own, made = self.source / rel, self.assembled / rel
        path = own if own.is_file() else SAMPLE / rel
        if not own.is_file() and made.is_file() and (not path.is_file() or made.read_bytes() != path.read_bytes()):
            path = made  # made by the testbed (a derived policy.toml), not the sample's
        try:
            return str(path.relative_to(REPO))
        except ValueError:
            return str(path)

    def text(self, rel: str) -> str | None:
        path = self.assembled / rel
        return path.read_text(errors="replace") if path.is_file() else None

    def entries(self, rel: str) -> list[tuple[int, str]]:
        """Non-comment lines of a list or map file, with their line numbers."""
        return [(n, line.strip()) for n, line in enumerate((self.text(rel) or "").splitlines(), start=1)
                if line.strip() and not line.lstrip().startswith("#")]

    def cf_source(self, service: str) -> str:
        """The file a service's .cf comes from: a prebuilt .cf (used as it is, the image
        build prefers it), else the .mc."""
        service = self.roles.get(service, service)
        return PREBUILT[service] if (self.assembled / PREBUILT[service]).is_file() else MC[service]

    def mc(self, service: str) -> str | None:
        """The .mc text the service's .cf is compiled from; None when a prebuilt .cf is used."""
        rel = self.cf_source(service)
        return self.text(rel) if rel == MC[self.roles.get(service, service)] else None


def mc_line(text: str | None, pattern: str) -> int | None:
    """The last line of an .mc matching `pattern`, not counting dnl comment lines."""
    found = None
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.lstrip().startswith("dnl") and re.search(pattern, line):
            found = number
    return found


def mc_define(text: str | None, name: str) -> int | None:
    """The line of define(`name', ...) in an .mc (the last one counts)."""
    return mc_line(text, rf"define\(\s*`{name}'\s*,")


def perl_assignment(files: ConfigFiles, variable: str) -> tuple[str, str, int] | None:
    """The last `variable = value;` across amavisd-new's snippets (they load in name
    order, the last assignment wins; in the milter topology milter/amavis/'s among them):
    (value, file, line)."""
    found = None
    folders = ["amavis", "milter/amavis"] if files.roles else ["amavis"]
    snippets = sorted((path for folder in folders for path in (files.assembled / folder).glob("*")),
                      key=lambda path: path.name)
    for path in snippets:
        rel = path.relative_to(files.assembled).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if match := re.search(rf"{re.escape(variable)}\s*=\s*([^;]+);", code):
                found = (match.group(1).strip(), rel, number)
    return found


def relay_grants(entries: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """The access map's RELAY grants: (line, kind, key); kind is "To", "From" or "Connect"
    (a bare key is a client, as "Connect:" is)."""
    grants = []
    for number, entry in entries:
        words = entry.split()
        if len(words) < 2 or words[-1].upper() != "RELAY":
            continue
        kind, _, key = words[0].rpartition(":") if re.match(r"(?i)(to|from|connect):", words[0]) else ("", "", words[0])
        grants.append((number, kind.capitalize() or "Connect", key.lower()))
    return grants
