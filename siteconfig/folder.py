"""Assembling a configuration folder: the sample first, then the folder's files over it,
saying which file came from where (the files a folder may hold: siteconfig/layout.py). A
folder with .mc files of its own and no policy.toml gets a policy derived from them
(siteconfig/derive.py), not the sample's.

python -m siteconfig.folder FOLDER INTO   assembles FOLDER over the sample into INTO.
"""

import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path

from siteconfig.derive import Derived, derive_policy, write_policy
from siteconfig.dkimkeys import DkimKeyError, install_keys
from siteconfig.dnsworld import write_world
from siteconfig.layout import ALTERNATIVES, IGNORED, KNOWN, REPO, SAMPLE
from siteconfig.policy import PolicyError, load_policy

__all__ = ["assemble", "derive_unstated_policy"]


def _files(folder: Path) -> dict[str, Path]:
    return {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*")) if path.is_file()}


def assemble(folder: Path, into: Path) -> tuple[dict[str, Path], list[str]]:
    """Copy the sample, then the folder's files over it, into `into` (emptied first).
    Returns each file's origin and the folder's files the chain does not use."""
    if not folder.is_dir():
        raise FileNotFoundError(f"config folder {folder} does not exist (CONFIG= names a directory)")
    own = {rel: path for rel, path in _files(folder).items() if not any(fnmatch(rel, p) for p in IGNORED)}
    unused = sorted(rel for rel in own if not any(fnmatch(rel, pattern) for pattern in KNOWN))
    origins = {rel: path for rel, path in _files(SAMPLE).items()}
    for prebuilt, source in ALTERNATIVES.items():
        if prebuilt in own and source not in own:
            origins.pop(source, None)
    origins.update({rel: path for rel, path in own.items() if rel not in unused})
    if into.exists():
        shutil.rmtree(into)
    for rel, path in origins.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, into / rel)
    return origins, unused


def derive_unstated_policy(folder: Path, into: Path, origins: dict[str, Path]) -> Derived | None:
    """A folder with sendmail files of its own and no policy.toml promises what its files say,
    not what the sample's policy does: its policy is derived (into/policy.toml, and origins
    updated). None where the folder states its policy or has no sendmail of its own."""
    mine = {rel for rel, path in origins.items() if not path.resolve().is_relative_to(SAMPLE.resolve())}
    if "policy.toml" in mine or not mine & {*ALTERNATIVES, *ALTERNATIVES.values()}:
        return None
    derived = derive_policy(into)
    write_policy(derived, folder, into / "policy.toml")
    origins["policy.toml"] = into / "policy.toml"
    return derived


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m siteconfig.folder FOLDER INTO", file=sys.stderr)
        return 2
    folder, into = Path(argv[0]), Path(argv[1])
    try:
        origins, unused = assemble(folder, into)
    except FileNotFoundError as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    derived = derive_unstated_policy(folder, into, origins)
    if derived:
        print(f"policy: {folder} has no policy.toml; the testbed derived one from its configuration: "
              f"{into / 'policy.toml'} (where each value came from is at its top)")
        for unstated in derived.unstated:
            print(f"  not stated, so its tests are not applicable: {unstated}")
    try:  # read where it came from, so an error names the user's file
        policy = load_policy(origins["policy.toml"])
    except PolicyError as invalid:
        print(f"error: the policy does not load, so the DNS world cannot be made:\n{invalid}", file=sys.stderr)
        return 2
    try:
        records = install_keys(into)
    except DkimKeyError as failed:
        print(f"error: the DKIM keys cannot be made: {failed}", file=sys.stderr)
        return 2
    write_world(policy, into, records)
    if folder.resolve() != SAMPLE.resolve():
        print(f"configuration {folder} (missing files from {SAMPLE.relative_to(REPO)}):")
        for rel, path in origins.items():
            source = "sample" if path.is_relative_to(SAMPLE) else "derived" if path.is_relative_to(into) else "yours"
            print(f"  {source:7} {rel}")
        for rel in unused:
            print(f"  unused  {rel}  (not a file the chain reads; see siteconfig/layout.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
