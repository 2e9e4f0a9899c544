"""A folder's policy as the suite will read it (assembled over the sample, derived where the
folder states none), flat: "section.key" -> value, each with where it came from: the line of
the folder's own policy.toml, the line of the file a derived value was read from, or the
sample's policy.toml."""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from siteconfig.folder import assemble, derive_unstated_policy
from siteconfig.layout import SAMPLE
from siteconfig.policy import load_policy

__all__ = ["Promises", "promises_of"]


@dataclass
class Promises:
    values: dict[str, object] = field(default_factory=dict)  # "section.key" -> value
    sources: dict[str, str] = field(default_factory=dict)  # "section.key" -> file:line, or why
    derived: bool = False
    files: dict[str, Path] = field(default_factory=dict)  # the assembled folder's files, by name


def _stated_lines(policy: Path, shown: str) -> dict[str, str]:
    """Where each key of a policy.toml is written: "section.key" -> shown:line."""
    where, section = {}, ""
    for number, line in enumerate(policy.read_text().splitlines(), 1):
        if header := re.match(r"\s*\[([\w.]+)\]", line):
            section = header.group(1)
        elif key := re.match(r"\s*([\w-]+)\s*=", line):
            where[f"{section}.{key.group(1)}"] = f"{shown}:{number}"
    return where


def promises_of(folder: Path, into: Path) -> Promises:
    """Assemble `folder` into `into` (as make config does) and read the policy it gives, as
    the suite reads it: the values a file leaves out are the policy's defaults. A policy that
    does not load raises PolicyError, naming its file and line."""
    origins, _unused = assemble(folder, into)
    derived = derive_unstated_policy(folder, into, origins)
    policy = load_policy(into / "policy.toml").model_dump(exclude={"derived"})
    written = tomllib.loads((into / "policy.toml").read_text())
    got = Promises(derived=derived is not None, files=origins)
    for section, keys in policy.items():
        if not isinstance(keys, dict):
            continue
        for key, value in keys.items():
            got.values[f"{section}.{key}"] = value
            if key not in written.get(section, {}):
                got.sources[f"{section}.{key}"] = "(the policy's default)"
    if derived is not None:
        got.sources.update({key: f"derived: {origin}" for key, origin in derived.sources.items()})
    else:
        source = origins["policy.toml"]
        shown = "the sample's policy.toml" if source.resolve().is_relative_to(SAMPLE.resolve()) else "policy.toml"
        got.sources.update(_stated_lines(source, shown))
    return got
