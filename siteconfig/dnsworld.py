"""The DNS world a policy implies, for the testbed's DNS server (images/dns).

The server adds what only a run knows (the networks' addresses); this module gives what the
configuration states: which domains are local (MX -> the chain) and which are remote
(MX -> the sink), and the testbed's DNSBL and URIBL zones with their fixed entries. Written
as dns/world.json into the assembled configuration folder by `make config`.
"""

import importlib.util
import ipaddress
import json
import re
from pathlib import Path
from types import ModuleType

from siteconfig.dkimkeys import Record
from siteconfig.layout import REPO
from siteconfig.policy import REMOTE_DOMAIN, Policy

__all__ = ["CHAIN_HOST", "DNSBL_ZONE", "LISTED_ADDRESS", "LISTED_URI_DOMAIN", "URIBL_ZONE", "sample_zone", "world",
           "write_world"]

DNSBL_ZONE = "dnsbl.testbed.test"
URIBL_ZONE = "uribl.testbed.test"
# Listed from the start, beside RFC 5782's test entries (127.0.0.2 and TEST): an outside
# relay (TEST-NET-1, which SpamAssassin does not treat as private) and a URI's domain, for
# the content tests of SpamAssassin's network rules.
LISTED_ADDRESS = "192.0.2.99"
LISTED_URI_DOMAIN = "listed-uri.example"
# The chain's own name, as sendmail knows it ($j): compose.yaml's hostname and domainname of
# "mx". Local domains have their MX here, and the chain's addresses their PTR.
CHAIN_HOST = "mail.testbed.example"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$", re.IGNORECASE)


def _domains(names: list[str]) -> list[str]:
    """Domain names only, once each: a policy may name an address literal such as
    [127.0.0.1] (a virtusertable's target), which has no place in DNS."""
    return [name for name in dict.fromkeys(names) if _HOSTNAME.match(name)]


def world(policy: Policy, dkim: list[Record] | None = None) -> dict[str, object]:
    """The world of `policy`, with the DKIM key records `dkim` (siteconfig.dkimkeys)."""
    local = _domains([*policy.domains.local, policy.domains.rewritten_to])
    # Unchecked domains skip amavisd-new, not MTA-TX's routing: unless local, they are remote.
    remote = [d for d in _domains([REMOTE_DOMAIN, *policy.relay.domains, *policy.content.unchecked_domains,
                                   *policy.dns.remote_domains]) if d not in local]
    return {
        "chain_host": CHAIN_HOST,
        "local_domains": local,
        "remote_domains": remote,
        "dnsbl_zone": DNSBL_ZONE,
        "uribl_zone": URIBL_ZONE,
        "dnsbl_listed": [LISTED_ADDRESS],
        "uribl_listed": [LISTED_URI_DOMAIN],
        "dkim_records": [{"name": record.name, "value": record.value} for record in dkim or []],
    }


def write_world(policy: Policy, folder: Path, dkim: list[Record] | None = None) -> Path:
    path = folder / "dns" / "world.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(world(policy, dkim), indent=2) + "\n")
    return path


def _zone_writer() -> ModuleType:
    """images/dns/world_zone.py, the script the DNS image runs at start (one source of truth)."""
    path = REPO / "images" / "dns" / "world_zone.py"
    spec = importlib.util.spec_from_file_location("world_zone", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_zone(made: dict[str, object], includes: list[str]) -> str:
    """The zone the DNS image would write from `made`, with stand-in addresses for what only
    a run knows (two small networks): what lint loads into BIND's zone checker."""
    own = [ipaddress.IPv4Interface("172.30.0.2/28"), ipaddress.IPv4Interface("172.31.0.3/28")]
    sink, office = ipaddress.IPv4Address("172.30.0.3"), ipaddress.IPv4Address("172.31.0.2")
    return str(_zone_writer().zone(made, own, sink, office, [Path(i) for i in includes]))
