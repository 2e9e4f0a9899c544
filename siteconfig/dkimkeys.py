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

from siteconfig.policy import REMOTE_DOMAIN, Policy

__all__ = ["OUTSIDE_KEY", "OUTSIDE_SELECTOR", "DkimKeyError", "Record", "install_keys", "public_key_base64",
           "record_value"]

REPO = Path(__file__).resolve().parents[1]
STORE = REPO / ".build" / "dkim"
OUTSIDE_SELECTOR = "outside"
OUTSIDE_KEY = "outside/dkim/outside.private"  # in the assembled folder: the tests sign with it
KEY_BITS = 2048


class DkimKeyError(RuntimeError):
    """A key could not be made or read (openssl missing or failing)."""


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


def _stored_key(name: str) -> Path:
    """.build/dkim/<name>.private, made once."""
    path = STORE / f"{name}.private"
    if not path.is_file():
        STORE.mkdir(parents=True, exist_ok=True)
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


def _install(name: str, into: Path, rel: str) -> str:
    source = _stored_key(name)
    target = into / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)
    return public_key_base64(source.read_bytes())


def install_keys(policy: Policy, into: Path) -> list[Record]:
    """Put the keys into the assembled folder `into` and return the records to publish:
    MTA-TX's key under the policy's selector for each signing domain (when there is one),
    and the outside world's key for the remote domain."""
    records = []
    dkim = policy.dkim
    if dkim.signing_domains:
        public = _install(f"site-{dkim.selector}", into, f"tx/dkim/{dkim.selector}.private")
        records += [Record(f"{dkim.selector}._domainkey.{domain.rstrip('.')}", record_value(public))
                    for domain in dkim.signing_domains]
    public = _install("outside", into, OUTSIDE_KEY)
    records.append(Record(f"{OUTSIDE_SELECTOR}._domainkey.{REMOTE_DOMAIN}", record_value(public)))
    return records
