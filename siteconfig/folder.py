"""A configuration folder: the chain's config files and the policy the suite expects.

Every file is optional; what a folder lacks comes from config/sample, and assembling
says which file came from where:

  rx/thishost-rx.mc  or rx/sendmail-rx.cf (prebuilt, used as it is)
  rx/access  rx/virtusertable  rx/mailertable   (sendmail maps; makemap'd at build; also
                    genericstable, domaintable, authinfo, and the same under tx/: each map
                    the .cf names is made from the file of its name, empty if there is none)
  rx/sasl-users  rx/Sendmail.conf  rx/tls/rx.crt  rx/tls/rx.key   (submission)
  tx/thishost-tx.mc  or tx/sendmail.cf
  tx/opendkim.conf  rx/opendkim.conf   DKIM signing at MTA-TX, verifying at MTA-RX (OpenDKIM
                    milters); tx/opendkim/* its data sets (in /etc/opendkim/); the keys are
                    made here (siteconfig/dkimkeys.py), never committed
  milter/thishost-milter.mc  or milter/sendmail.cf   the milter topology's one sendmail
                    (TOPOLOGY=milter; it receives with rx/'s maps, SASL and TLS files)
  milter/amavis/*   amavisd-new conf.d snippets applied in the milter topology only
  aliases  users  local-host-names
  amavis/*          amavisd-new conf.d snippets
  spamassassin/*    clamav/*  (extra rules and signatures)
  dns/*.zone        records of your own for the testbed's DNS (e.g. DKIM keys), zone-file
                    lines with absolute names; dns/world.json is made from the policy
  policy.toml       what the suite expects (siteconfig/policy.py); a folder with .mc
                    files of its own and no policy.toml gets one derived from them
                    (siteconfig/derive.py), not the sample's

python -m siteconfig.folder FOLDER INTO   assembles FOLDER over the sample into INTO.
"""

import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path

from siteconfig.dkimkeys import DkimKeyError, install_keys
from siteconfig.dnsworld import write_world
from siteconfig.policy import PolicyError, load_policy

__all__ = ["KNOWN", "SAMPLE", "assemble"]

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "config" / "sample"
# Maps a .cf may name (K lines): the images make each from the folder's file of that name.
MAPS = ["access", "virtusertable", "mailertable", "genericstable", "domaintable", "authinfo"]
KNOWN = ["rx/thishost-rx.mc", "rx/sendmail-rx.cf", *(f"{side}/{name}" for side in ("rx", "tx") for name in MAPS),
         "rx/sasl-users", "rx/Sendmail.conf", "rx/tls/rx.crt", "rx/tls/rx.key", "rx/opendkim.conf",
         "tx/thishost-tx.mc", "tx/sendmail.cf", "tx/opendkim.conf", "tx/opendkim/*",
         "milter/thishost-milter.mc", "milter/sendmail.cf", "milter/amavis/*", "aliases", "users",
         "local-host-names", "amavis/*", "spamassassin/*", "clamav/*", "dns/*.zone", "policy.toml"]
IGNORED = ["README*", "*.md", ".*", "*/.*", "ci/*", ".github/*"]  # documentation and CI files of a config repo
# A prebuilt .cf replaces the .mc it would be made from.
ALTERNATIVES = {"rx/sendmail-rx.cf": "rx/thishost-rx.mc", "tx/sendmail.cf": "tx/thishost-tx.mc",
                "milter/sendmail.cf": "milter/thishost-milter.mc"}


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
    # Imported here: derive reads files through siteconfig.check, which imports this module.
    from siteconfig.derive import derive_policy, write_policy

    mine = {rel for rel, path in origins.items() if not path.resolve().is_relative_to(SAMPLE.resolve())}
    if "policy.toml" not in mine and mine & {*ALTERNATIVES, *ALTERNATIVES.values()}:
        derived = derive_policy(into)  # the folder's own sendmail, not the sample's promises
        write_policy(derived, folder, into / "policy.toml")
        origins["policy.toml"] = into / "policy.toml"
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
            print(f"  unused  {rel}  (not a file the chain reads; see siteconfig/folder.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
