"""The two ways the testbed can wire sendmail and amavisd-new (make ... TOPOLOGY=):

- "dual": the document's chain, MTA-RX -> amavisd-new -> MTA-TX (compose.yaml);
- "milter": the setup the document weighs it against, one sendmail ("mta") calling
  amavisd-new through amavisd-milter during the SMTP session (compose.milter.yaml).

Tests and the load generator speak of the roles "rx" (the MTA that receives) and "tx" (the
MTA that delivers); in the milter topology one container plays both, so `services` maps
each role to the container that plays it.
"""

import os
from dataclasses import dataclass, field

__all__ = ["DUAL", "MILTER", "TOPOLOGIES", "Topology", "topology_from_env"]


@dataclass(frozen=True)
class Topology:
    name: str
    compose_files: tuple[str, ...]
    daemons: tuple[str, ...]  # the services of the chain proper, as containers
    rx_cf: str  # the receiving sendmail's .cf, where its image installs it (its queues: the site's shape)
    rx_options: str  # the variable with its start-time -O options (its entrypoint's)
    log_tags: dict[str, str]  # role -> sendmail's syslog tag (-L)
    services: dict[str, str] = field(default_factory=dict)  # role -> service playing it
    chain: str = ""  # the path of a message, as reports name it

    def service(self, name: str) -> str:
        return self.services.get(name, name)


DUAL = Topology(
    name="dual", compose_files=("compose.yaml",), daemons=("rx", "amavis", "clamd", "tx"),
    rx_cf="/etc/mail/sendmail-rx.cf", rx_options="RX_SENDMAIL_OPTIONS",
    log_tags={"rx": "sm-mta-rx", "tx": "sm-mta-tx"},
    chain="sendmail MTA-RX -> amavisd-new -> sendmail MTA-TX")
MILTER = Topology(
    name="milter", compose_files=("compose.yaml", "compose.milter.yaml"),
    daemons=("mta", "milter", "amavis", "clamd"),
    rx_cf="/etc/mail/sendmail.cf", rx_options="MTA_SENDMAIL_OPTIONS",
    log_tags={"rx": "sm-mta", "tx": "sm-mta"}, services={"rx": "mta", "tx": "mta"},
    chain="one sendmail -> amavisd-milter -> amavisd-new, in the SMTP session")
TOPOLOGIES = {t.name: t for t in (DUAL, MILTER)}


def topology_from_env() -> Topology:
    """The topology of this run: $TESTBED_TOPOLOGY (set by make from TOPOLOGY=), else dual."""
    name = os.environ.get("TESTBED_TOPOLOGY") or "dual"
    if name not in TOPOLOGIES:
        raise ValueError(f"TESTBED_TOPOLOGY must be one of {', '.join(TOPOLOGIES)}, got {name!r}")
    return TOPOLOGIES[name]
