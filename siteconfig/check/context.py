"""What every check reads: the assembled folder (siteconfig/configfiles.py, each file shown
by where it came from), the policy with its text (for line numbers), and the .cf files
compiled into the images (siteconfig/compiled.py); and what a check finds."""

from collections.abc import Mapping
from dataclasses import dataclass

from siteconfig.compiled import CompiledCf
from siteconfig.configfiles import ConfigFiles
from siteconfig.layout import MC
from siteconfig.policy import Policy, line_of

__all__ = ["Context", "Finding"]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


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
