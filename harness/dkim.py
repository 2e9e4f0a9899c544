"""DKIM as the tests see it: the OpenDKIM milters inside the MTAs' containers, the keys
the testbed's DNS publishes, and signing and verifying with dkimpy against that DNS.

Verification asks the chain's own DNS (dig in its container): the record a real verifier
outside would fetch, not a copy of the key.
"""

import os
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import compat32

import dkim

from harness.containers import Containers
from siteconfig.dkimkeys import OUTSIDE_KEY
from siteconfig.layout import REPO

__all__ = ["MILTER", "Signature", "authentication_results", "outside_key", "published_record", "sign",
           "signatures", "start_milter", "stop_milter", "verify"]

MILTER = "/usr/local/lib/testbed/dkim-milter"  # images/common/dkim-milter
_TAG = re.compile(r"\s*([a-z]+)\s*=\s*([^;]*)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Signature:
    """The tags of one DKIM-Signature header that the tests look at."""

    domain: str  # d=
    selector: str  # s=
    headers: list[str]  # h=, lower case
    body_length: int | None  # l=: None when the whole body is covered

    @classmethod
    def parse(cls, value: str) -> "Signature":
        tags = {key: re.sub(r"\s+", "", text) for key, text in _TAG.findall(value)}
        length = tags.get("l")
        return cls(tags.get("d", ""), tags.get("s", ""), [h.lower() for h in tags.get("h", "").split(":") if h],
                   int(length) if length else None)


def _header_values(raw: bytes, name: str) -> list[str]:
    """Every value of a header, unfolded."""
    parsed = message_from_bytes(raw, policy=compat32)
    return [re.sub(r"\s*\r?\n\s*", " ", str(value)).strip() for value in parsed.get_all(name) or []]


def signatures(raw: bytes) -> list[Signature]:
    """The message's DKIM-Signature headers, parsed."""
    return [Signature.parse(value) for value in _header_values(raw, "DKIM-Signature")]


def authentication_results(raw: bytes, authserv_id: str) -> list[str]:
    """The Authentication-Results headers that `authserv_id` (the verifying host) added."""
    return [value for value in _header_values(raw, "Authentication-Results")
            if value.split(";", 1)[0].strip().lower() == authserv_id.lower()]


def published_record(containers: Containers, name: str) -> bytes | None:
    """The TXT record the testbed's DNS serves for `name`, its strings joined (None: no record)."""
    out = containers.exec("dns", ["dig", "+short", "+time=2", "+tries=2", "TXT", name, "@127.0.0.53"])
    strings = _QUOTED.findall(out)
    return "".join(strings).encode() if strings else None


def verify(containers: Containers, raw: bytes) -> bool:
    """Whether the message's first DKIM-Signature verifies against the key the testbed's DNS
    publishes (dkimpy)."""
    return bool(dkim.verify(raw, dnsfunc=lambda name, timeout=5: published_record(
        containers, name.decode() if isinstance(name, bytes) else name)))


def sign(raw: bytes, *, domain: str, selector: str, key: bytes) -> bytes:
    """The message with a DKIM-Signature of `domain` prepended (relaxed/relaxed; From,
    Subject, To, Date, Message-ID and the whole body covered)."""
    header = dkim.sign(raw, selector.encode(), domain.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                       include_headers=[b"from", b"subject", b"to", b"date", b"message-id"])
    return header.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + raw


def outside_key() -> bytes | None:
    """The outside world's private key (siteconfig/dkimkeys.py), from the assembled
    configuration folder make gave ($TESTBED_CONFIG); None when there is none."""
    folder = os.environ.get("TESTBED_CONFIG")
    path = REPO / folder / OUTSIDE_KEY if folder else None
    return path.read_bytes() if path and path.is_file() else None


def stop_milter(containers: Containers, service: str) -> None:
    """Stop the OpenDKIM milter inside the service's container; its MTA keeps running."""
    containers.exec(service, [MILTER, "stop"])


def start_milter(containers: Containers, service: str) -> None:
    """Start it again (it listens when this returns)."""
    containers.exec(service, [MILTER, "start"])
