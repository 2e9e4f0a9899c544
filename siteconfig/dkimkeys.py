"""The testbed's DKIM keys: MTA-TX's signing key and the outside world's, with the records
the testbed's DNS publishes for them.

Made by `make config` (`make build` runs it first) with openssl, kept in .build/dkim/ (never
committed) and reused, so a rebuild keeps Docker's cache and the key. Both images that need
a key are built from the assembled folder: MTA-TX's gets the private key (tx/dkim/), the
DNS image the record (dns/world.json). They agree by construction, and every chain started
from those images, however many run at once (pytest-xdist runs two), signs and publishes the
same key: nothing has to be handed from one container to another at start. Lint compares
the key in the built MTA-TX image with the record in the built DNS image all the same, to
catch an image left over from an earlier key.

The outside world's key signs mail the tests send from a remote domain into MTA-RX; its
private half stays in the assembled folder (outside/dkim/), which no image copies.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from siteconfig.errors import DkimKeyError
from siteconfig.layout import BUILD
from siteconfig.policy import REMOTE_DOMAIN

__all__ = ["KEY_DIR", "OUTSIDE_KEY", "OUTSIDE_SELECTOR", "DkimKeyError", "Record", "install_keys",
           "opendkim_settings", "public_key_base64", "record_value"]

STORE = BUILD / "dkim"
OUTSIDE_SELECTOR = "outside"
OUTSIDE_KEY = "outside/dkim/outside.private"  # in the assembled folder: the tests sign with it
KEY_DIR = "/etc/opendkim/keys"  # where Dockerfile.tx installs tx/dkim/*.private
KEY_BITS = 2048


@dataclass(frozen=True)
class Record:
    """A TXT record of the DNS world: <selector>._domainkey.<domain> -> v=DKIM1; ... p=..."""

    name: str
    value: str


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as failed:
        raise DkimKeyError(f"openssl {args[0]}: {failed} (install openssl: apt-get install openssl)") from None
    if done.returncode != 0:
        raise DkimKeyError(f"openssl {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _stored_key(store: Path, name: str) -> Path:
    """<store>/<name>.private, made once."""
    path = store / f"{name}.private"
    if not path.is_file():
        store.mkdir(parents=True, exist_ok=True)
        fresh = path.with_suffix(".tmp")
        fresh.write_bytes(_openssl("genrsa", str(KEY_BITS)))
        fresh.chmod(0o600)
        fresh.rename(path)
    return path


def public_key_base64(private_pem: bytes) -> str:
    """The p= of a DKIM record: the public key's SubjectPublicKeyInfo, base64, one line."""
    pem = _openssl("pkey", "-pubout", stdin=private_pem).decode()
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


def record_value(public_key: str) -> str:
    return f"v=DKIM1; k=rsa; p={public_key}"


def _install(store: Path, name: str, into: Path, rel: str) -> str:
    source = _stored_key(store, name)
    target = into / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)
    return public_key_base64(source.read_bytes())


def opendkim_settings(text: str | None) -> dict[str, tuple[str, int]]:
    """opendkim.conf's `Name value` lines: name -> (value, line); later lines win."""
    settings = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        words = line.split("#", 1)[0].split(None, 1)
        if len(words) == 2:
            settings[words[0]] = (words[1].strip(), number)
    return settings


def _signing_key(into: Path, store: Path) -> list[Record]:
    """MTA-TX's key where tx/opendkim.conf's KeyFile will find it, and its record under the
    conf's Selector for each of its Domains. The configuration, not the policy, decides: a
    folder that signs without stating [dkim] still needs a key (lint compares the two)."""
    settings = opendkim_settings((into / "tx" / "opendkim.conf").read_text()
                                 if (into / "tx" / "opendkim.conf").is_file() else None)
    if not {"KeyFile", "Selector", "Domain"} <= settings.keys():
        return []
    keyfile, selector = settings["KeyFile"][0], settings["Selector"][0]
    if Path(keyfile).parent != Path(KEY_DIR):
        raise DkimKeyError(f"tx/opendkim.conf:{settings['KeyFile'][1]}: KeyFile {keyfile} must be in {KEY_DIR}/, "
                           "where the MTA-TX image installs the key made for it")
    public = _install(store, f"site-{selector}", into, f"tx/dkim/{Path(keyfile).name}")
    domains = [d.strip().rstrip(".") for d in settings["Domain"][0].split(",") if d.strip()]
    return [Record(f"{selector}._domainkey.{domain}", record_value(public)) for domain in domains]


def install_keys(into: Path, store: Path = STORE) -> list[Record]:
    """Put the keys into the assembled folder `into` and return the records to publish:
    MTA-TX's signing key (when tx/opendkim.conf signs) and the outside world's for the
    remote domain. Keys are made once in `store` and reused."""
    public = _install(store, "outside", into, OUTSIDE_KEY)
    return [*_signing_key(into, store), Record(f"{OUTSIDE_SELECTOR}._domainkey.{REMOTE_DOMAIN}", record_value(public))]
