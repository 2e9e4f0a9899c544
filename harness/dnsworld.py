"""The DNS world a policy implies, for the testbed's DNS server (images/dns).

The server adds what only a run knows (the networks' addresses); this module gives what the
configuration states: which domains are local (MX -> the chain) and which are remote
(MX -> the sink), and the testbed's DNSBL and URIBL zones with their fixed entries. Written
as dns/world.json into the assembled configuration folder by `make config`.
"""

import json
from pathlib import Path

from harness.policy import REMOTE_DOMAIN, Policy

__all__ = ["DNSBL_ZONE", "LISTED_ADDRESS", "LISTED_URI_DOMAIN", "URIBL_ZONE", "world", "write_world"]

DNSBL_ZONE = "dnsbl.testbed.test"
URIBL_ZONE = "uribl.testbed.test"
# Listed from the start, beside RFC 5782's test entries (127.0.0.2 and TEST): an outside
# relay (TEST-NET-1, which SpamAssassin does not treat as private) and a URI's domain, for
# the content tests of SpamAssassin's network rules.
LISTED_ADDRESS = "192.0.2.99"
LISTED_URI_DOMAIN = "listed-uri.example"
MAIL_HOST = "mail"  # the chain's host name (compose.yaml: hostname of "mx")


def world(policy: Policy) -> dict[str, object]:
    local = list(dict.fromkeys([*policy.domains.local, *filter(None, [policy.domains.rewritten_to]),
                                *policy.content.unchecked_domains]))
    remote = [d for d in dict.fromkeys([REMOTE_DOMAIN, *policy.relay.domains, *policy.dns.remote_domains])
              if d not in local]
    return {
        "mail_host": MAIL_HOST,
        "local_domains": local,
        "remote_domains": remote,
        "dnsbl_zone": DNSBL_ZONE,
        "uribl_zone": URIBL_ZONE,
        "dnsbl_listed": [LISTED_ADDRESS],
        "uribl_listed": [LISTED_URI_DOMAIN],
    }


def write_world(policy: Policy, folder: Path) -> Path:
    path = folder / "dns" / "world.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(world(policy), indent=2) + "\n")
    return path
