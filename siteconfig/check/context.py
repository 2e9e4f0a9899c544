"""What every check reads: the assembled folder (each file shown by where it came from),
the policy with its text (for line numbers), and the .cf files compiled into the images."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from siteconfig.check.compiled import CompiledCf
from siteconfig.folder import REPO, SAMPLE
from siteconfig.policy import Policy, line_of

__all__ = ["ConfigFiles", "Context", "Finding", "mc_define", "mc_line", "perl_assignment"]

# The .mc each service's .cf is compiled from, and the prebuilt .cf that replaces it.
MC = {"rx": "rx/thishost-rx.mc", "tx": "tx/thishost-tx.mc", "mta": "milter/thishost-milter.mc"}
PREBUILT = {"rx": "rx/sendmail-rx.cf", "tx": "tx/sendmail.cf", "mta": "milter/sendmail.cf"}  # folder.ALTERNATIVES


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


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


@dataclass(frozen=True)
class Context:
    policy: Policy
    policy_text: str
    files: ConfigFiles
    # Service ("rx", "tx") -> its .cf as compiled into the image; absent when unreadable
    # (a finding says so) and its checks are left out.
    compiled: Mapping[str, CompiledCf]

    @property
    def policy_file(self) -> str:
        return self.files.shown("policy.toml")

    def at(self, section: str, key: str) -> int | None:
        return line_of(self.policy_text, section, key)

    def says(self, section: str, key: str, value: object) -> str:
        """"policy.toml:18 says limits.max_message_size = 10485760", for a message."""
        return f"{self.policy_file}:{self.at(section, key)} says {section}.{key} = {value}"

    def in_cf(self, service: str, mc_at: int | None, cf_at: int | None) -> tuple[str, int | None]:
        """Where a value read from the compiled .cf is set: the .mc's line when the .cf is
        made from an .mc, else the prebuilt .cf's own line (it is copied as it is)."""
        rel = self.files.cf_source(service)
        return self.files.shown(rel), (cf_at if rel != MC[service] else mc_at)
