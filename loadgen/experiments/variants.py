"""How a sweep point's chain differs from the configuration as shipped (--variants): the
sweep's words for the switches of a chain run (siteconfig.run_settings.ChainSettings)."""

import re
from dataclasses import dataclass, replace

from loadgen.experiments.counts import CountError, parse_runners
from siteconfig.run_settings import ChainSettings

__all__ = ["SHIPPED", "Variant", "runner_fields"]

# The chain as shipped, every switch a variant may turn written out: a sweep point takes none
# of them from the environment the sweep runs in, so each point is the variant it is labelled.
SHIPPED = ChainSettings(spam_checks=True, virus_checks=True, amavis_memory="0", sa_network=False, dns_latency="0",
                        dkim_signing=True)
# Options without a value: the switch each sets.
FLAGS = {"tmpfs": {"tmpfs": True}, "no-sa": {"spam_checks": False}, "no-clamav": {"virus_checks": False},
         "sa-network": {"sa_network": True}, "no-dkim": {"dkim_signing": False}}


def runner_fields(rule: str) -> dict[str, int | None]:
    """ChainSettings' fields for a rule of parse_runners(): 'Nx' N queue runners per worker,
    'N' a fixed R, '' neither (R equals the workers). Both are named, so a later rule
    replaces an earlier one."""
    per_worker = int(rule[:-1]) if rule.endswith("x") else None
    return {"runners_per_worker": per_worker, "fixed_queue_runners": int(rule) if rule and per_worker is None else None}


@dataclass(frozen=True)
class Variant:
    """How the chain differs from the configuration as shipped, for one sweep point.
    Written as options joined by '+': shipped, tmpfs, no-sa, no-clamav, memory=1g,
    runners=2x (R twice $max_servers) or runners=N (a fixed R), sa-network (SpamAssassin's
    network tests on), dns=200ms (every DNS answer that much later), no-dkim (MTA-TX signs
    nothing: its DKIM milter is left out of the run)."""

    chain: ChainSettings = SHIPPED  # the switches and R's rule; each point adds its workers (settings())

    @classmethod
    def parse(cls, text: str) -> "Variant":
        chain = SHIPPED
        for option in filter(None, (part.strip() for part in text.split("+"))):
            name, _, value = option.partition("=")
            if option == "shipped":
                continue
            if option in FLAGS:
                chain = replace(chain, **FLAGS[option])  # type: ignore[arg-type]
            elif name == "dns" and re.fullmatch(r"\d+(ms|s)?", value):
                chain = replace(chain, dns_latency=SHIPPED.dns_latency if re.fullmatch(r"0+(ms|s)?", value) else value)
            elif name == "memory" and re.fullmatch(r"\d+[kmg]?", value):
                chain = replace(chain, amavis_memory=value)
            elif name == "runners":
                try:
                    chain = replace(chain, **runner_fields(parse_runners(value)))
                except CountError as bad:
                    raise CountError(f"variant option {option!r}: {bad}") from None
            else:
                raise ValueError(f"unknown variant option {option!r} in {text!r}: use shipped, tmpfs, no-sa, "
                                 "no-clamav, memory=<size> (e.g. 700m), runners=<N> or runners=<N>x, sa-network, "
                                 "dns=<latency> (e.g. 200ms), no-dkim")
        return cls(chain)

    @property
    def runners(self) -> str:
        """R's rule as written: 'N', 'Nx' or '' (R equals the workers)."""
        if self.chain.fixed_queue_runners is not None:
            return str(self.chain.fixed_queue_runners)
        return "" if self.chain.runners_per_worker is None else f"{self.chain.runners_per_worker}x"

    @property
    def label(self) -> str:
        chain = self.chain
        parts = [name for name, on in (("no-sa", not chain.spam_checks), ("no-clamav", not chain.virus_checks),
                                       ("tmpfs", chain.tmpfs), ("sa-network", chain.sa_network),
                                       ("no-dkim", not chain.dkim_signing)) if on]
        if chain.dns_latency != SHIPPED.dns_latency:
            parts.append(f"dns={chain.dns_latency}")
        if chain.amavis_memory != SHIPPED.amavis_memory:
            parts.append(f"memory={chain.amavis_memory}")
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
        if not self.chain.dkim_signing:
            raise ValueError("no-dkim has no meaning in the milter topology: its MTA calls no DKIM milter")

    def settings(self, workers: int) -> ChainSettings:
        """The chain of this variant at `workers` amavisd-new workers, its R derived with it."""
        return replace(self.chain, workers=workers)
