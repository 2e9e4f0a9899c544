"""The settings of one chain run, typed: how many amavisd-new workers, how many MTA-RX queue
runners, which switches of compose.yaml are set, and for which run. `ChainSettings.env()` is
the one writer of compose.yaml's per-run variables: the harness's Stack, the sweep's variants,
the burst and the tests take theirs from it, and no other module spells their names.

The bounds of the counts are stated here once, and read from here: by ChainSettings, by the
load generator's options (loadgen/experiments/counts.py) and by the policy model
(siteconfig/policy.py). This module lives in siteconfig, the lowest wing, because the policy
needs the bounds and siteconfig imports nothing of the harness (the harness imports
siteconfig); it imports nothing itself, so either may import it.

Three kinds of compose variables, three writers: this run's (here), the site's shape
(SiteShape.compose_env, from the compiled .cf files: ports, queues, amavisd-new's wiring) and
the build's (TESTBED_TAG, TESTBED_CONFIG, TESTBED_BASE_IMAGE: make's environment).
"""

from dataclasses import dataclass, field

from siteconfig.errors import ChainSettingsError

__all__ = ["HOST_PORT_VARIABLES", "QUEUE_RUNNERS", "WORKERS", "Bound", "ChainSettings", "ChainSettingsError"]


@dataclass(frozen=True)
class Bound:
    """The range a count may take."""

    fewest: int
    most: int
    what: str  # what it counts, for the message

    def check(self, value: int, shown: str) -> int:
        """`value`, if it is an integer within the range; `shown` names it in the message."""
        if isinstance(value, bool) or not isinstance(value, int) or not self.fewest <= value <= self.most:
            raise ChainSettingsError(f"{shown}: expected {self.fewest} to {self.most} {self.what}, what the "
                                     "images accept")
        return value


# What the images' entrypoints accept (images/common/require-count's callers in
# images/amavis/entrypoint, images/amavis/amavisd-milter and images/rx/entrypoint). Shell
# cannot import this, so tests/unit/test_run_settings.py holds their numbers equal to these.
WORKERS = Bound(1, 100, "amavisd-new workers ($max_servers)")
QUEUE_RUNNERS = Bound(1, 100, "MTA-RX queue runners (R=)")

# compose.yaml's published host ports. Empty lets Docker pick free ones, which the harness
# reads back from the containers: chains side by side never collide.
HOST_PORT_VARIABLES = ("RX_SMTP_PORT", "RX_SUBMISSION_PORT", "OFFICE_SMTP_PORT", "SINK_API_PORT")


@dataclass(frozen=True)
class ChainSettings:
    """One chain run. A field left None is not this run's to set: compose.yaml then takes the
    variable from the caller's environment (`make test AMAVIS_MAX_SERVERS=4`), else its own
    default, which is the configuration's."""

    # amavisd-new
    workers: int | None = None  # $max_servers (AMAVIS_MAX_SERVERS)
    spam_checks: bool | None = None  # False: SpamAssassin left out (AMAVIS_SPAM_CHECKS=0)
    virus_checks: bool | None = None  # False: ClamAV left out (AMAVIS_VIRUS_CHECKS=0)
    # True: SpamAssassin's network tests on (AMAVIS_SA_NETWORK=1); False: as the configuration
    # has them (empty), the only other value a run has needed.
    sa_network: bool | None = None
    amavis_memory: str | None = None  # its container's memory limit, e.g. "1g"; "0": none (AMAVIS_MEM_LIMIT)
    amavis_child_timeout: int | None = None  # seconds, $child_timeout (AMAVIS_CHILD_TIMEOUT)
    tmpfs: bool = False  # its work directory on tmpfs (compose.tmpfs.yaml)
    # MTA-RX: R is `fixed_queue_runners` if given, else `runners_per_worker` (1 if not given)
    # times the workers, the document's R = $max_servers; None without either: the .mc's R=.
    fixed_queue_runners: int | None = None
    runners_per_worker: int | None = None
    rx_sendmail_options: str | None = None  # extra -OName=value options at start (RX_SENDMAIL_OPTIONS)
    rx_docker_dns: bool = False  # MTA-RX resolves through Docker's embedded DNS (compose.docker-dns.yaml)
    # MTA-TX
    dkim_signing: bool | None = None  # False: no DKIM milter (TX_DKIM_SIGNING=0); True: as configured
    tx_queue_interval: str | None = None  # its -q interval, e.g. "10s" (TX_QUEUE_INTERVAL)
    # The testbed's DNS: every answer that much later, +- the jitter, e.g. "200ms" (DNS_LATENCY, DNS_JITTER)
    dns_latency: str | None = None
    dns_jitter: str | None = None
    free_host_ports: bool = False  # True: Docker picks the host ports (every Stack); False: the caller's
    # R, derived once here from the fields above; every caller reads it instead of deriving it.
    # Not an argument, so replace() derives it again for the copy's workers, never copies it stale.
    queue_runners: int | None = field(init=False)

    def __post_init__(self) -> None:
        if self.workers is not None:
            WORKERS.check(self.workers, f"workers={self.workers}")
        object.__setattr__(self, "queue_runners", self._derive_queue_runners())  # frozen: set once, here

    def _derive_queue_runners(self) -> int | None:
        if self.fixed_queue_runners is not None:
            if self.runners_per_worker is not None:
                raise ChainSettingsError(f"R={self.fixed_queue_runners} and {self.runners_per_worker} queue runners "
                                         "per worker: give one of them")
            return QUEUE_RUNNERS.check(self.fixed_queue_runners, f"R={self.fixed_queue_runners}")
        if self.runners_per_worker is not None and self.runners_per_worker < 1:
            raise ChainSettingsError(f"{self.runners_per_worker} queue runners per worker: expected at least 1")
        if self.workers is None:
            return None
        per_worker = self.runners_per_worker or 1
        count = per_worker * self.workers
        return QUEUE_RUNNERS.check(count, f"R={count} ({per_worker} x {self.workers} workers)")

    def env(self) -> dict[str, str]:
        """compose.yaml's variables of this run, only those it sets (see the class)."""
        values = {
            "AMAVIS_MAX_SERVERS": _text(self.workers),
            "RX_QUEUE_RUNNERS": _text(self.queue_runners),
            "AMAVIS_SPAM_CHECKS": _flag(self.spam_checks),
            "AMAVIS_VIRUS_CHECKS": _flag(self.virus_checks),
            "AMAVIS_SA_NETWORK": None if self.sa_network is None else "1" if self.sa_network else "",
            "AMAVIS_MEM_LIMIT": self.amavis_memory,
            "AMAVIS_CHILD_TIMEOUT": _text(self.amavis_child_timeout),
            "RX_SENDMAIL_OPTIONS": self.rx_sendmail_options,
            "TX_DKIM_SIGNING": _flag(self.dkim_signing),
            "TX_QUEUE_INTERVAL": self.tx_queue_interval,
            "DNS_LATENCY": self.dns_latency,
            "DNS_JITTER": self.dns_jitter,
            **dict.fromkeys(HOST_PORT_VARIABLES, "" if self.free_host_ports else None),
        }
        return {name: value for name, value in values.items() if value is not None}

    def compose_files(self) -> tuple[str, ...]:
        """The compose files this run layers over its topology's: the switches that are files."""
        return tuple(name for on, name in ((self.tmpfs, "compose.tmpfs.yaml"),
                                           (self.rx_docker_dns, "compose.docker-dns.yaml")) if on)


def _text(count: int | None) -> str | None:
    return None if count is None else str(count)


def _flag(on: bool | None) -> str | None:
    return None if on is None else "1" if on else "0"
