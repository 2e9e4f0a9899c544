"""How a sweep point's chain differs from the configuration as shipped (--variants), and
the compose variables that make it so."""

import re
from dataclasses import dataclass, replace

from loadgen.experiments import counts
from loadgen.experiments.counts import CountError, parse_runners

__all__ = ["Variant"]


@dataclass(frozen=True)
class Variant:
    """How the chain differs from the configuration as shipped, for one sweep point.
    Written as options joined by '+': shipped, tmpfs, no-sa, no-clamav, memory=1g,
    runners=2x (R twice $max_servers) or runners=N (a fixed R), sa-network (SpamAssassin's
    network tests on), dns=200ms (every DNS answer that much later), no-dkim (MTA-TX signs
    nothing: its DKIM milter is left out of the run)."""

    spamassassin: bool = True
    clamav: bool = True
    tmpfs: bool = False  # amavisd-new's work directory on tmpfs
    amavis_memory: str = "0"  # a container memory limit such as "1g"; 0: none
    runners: str = ""  # R's rule (counts.parse_runners); "": R = $max_servers, as the document advises
    sa_network: bool = False  # SpamAssassin's network tests on; False: as the configuration has them
    dns_latency: str = ""  # e.g. "200ms": the testbed's DNS answers that much later; "": at once
    dkim_signing: bool = True  # False: MTA-TX calls no DKIM milter (TX_DKIM_SIGNING=0); True: as configured

    @classmethod
    def parse(cls, text: str) -> "Variant":
        variant = cls()
        for option in filter(None, (part.strip() for part in text.split("+"))):
            name, _, value = option.partition("=")
            if option == "shipped":
                continue
            if option in ("tmpfs", "no-sa", "no-clamav", "sa-network", "no-dkim"):
                variant = replace(variant, **{"tmpfs": {"tmpfs": True}, "no-sa": {"spamassassin": False},
                                              "no-clamav": {"clamav": False},
                                              "sa-network": {"sa_network": True},
                                              "no-dkim": {"dkim_signing": False}}[option])
            elif name == "dns" and re.fullmatch(r"\d+(ms|s)?", value):
                variant = replace(variant, dns_latency="" if re.fullmatch(r"0+(ms|s)?", value) else value)
            elif name == "memory" and re.fullmatch(r"\d+[kmg]?", value):
                variant = replace(variant, amavis_memory=value)
            elif name == "runners":
                try:
                    variant = replace(variant, runners=parse_runners(value))
                except CountError as bad:
                    raise CountError(f"variant option {option!r}: {bad}") from None
            else:
                raise ValueError(f"unknown variant option {option!r} in {text!r}: use shipped, tmpfs, no-sa, "
                                 "no-clamav, memory=<size> (e.g. 700m), runners=<N> or runners=<N>x, sa-network, "
                                 "dns=<latency> (e.g. 200ms), no-dkim")
        return variant

    @property
    def label(self) -> str:
        parts = [name for name, on in (("no-sa", not self.spamassassin), ("no-clamav", not self.clamav),
                                       ("tmpfs", self.tmpfs), ("sa-network", self.sa_network),
                                       ("no-dkim", not self.dkim_signing)) if on]
        if self.dns_latency:
            parts.append(f"dns={self.dns_latency}")
        if self.amavis_memory != "0":
            parts.append(f"memory={self.amavis_memory}")
        if self.runners:
            parts.append(f"runners={self.runners}")
        return "+".join(parts) or "shipped"

    def check(self, topology: str) -> None:
        """Refuse options that have no meaning in `topology` ("dual" or "milter"), before any
        chain starts: the milter topology has one MTA (no queue runners) and no DKIM milter."""
        if topology != "milter":
            return
        if self.runners:
            raise ValueError(f"runners={self.runners} has no meaning in the milter topology: one MTA, no queue "
                             "runners (--workers sets $max_servers, and amavisd-milter's -m follows it)")
        if not self.dkim_signing:
            raise ValueError("no-dkim has no meaning in the milter topology: its MTA calls no DKIM milter")

    def queue_runners(self, workers: int) -> int:
        """R= of MTA-RX at `workers` amavisd-new workers."""
        return counts.queue_runners(self.runners, workers)

    def env(self, workers: int) -> dict[str, str]:
        """The compose variables of a chain with `workers` amavisd-new workers: the one
        place the Python names meet those of compose.yaml and the images."""
        return {"RX_QUEUE_RUNNERS": str(self.queue_runners(workers)), "AMAVIS_MAX_SERVERS": str(workers),
                "AMAVIS_SPAM_CHECKS": "1" if self.spamassassin else "0",
                "AMAVIS_VIRUS_CHECKS": "1" if self.clamav else "0", "AMAVIS_MEM_LIMIT": self.amavis_memory,
                "AMAVIS_SA_NETWORK": "1" if self.sa_network else "", "DNS_LATENCY": self.dns_latency or "0",
                "TX_DKIM_SIGNING": "1" if self.dkim_signing else "0"}
