"""How busy the host was over a stretch of time: the chain shares two cores with everything
else on the machine, so a figure that took longer than usual (a drain after a fault, a slow
point of a sweep) carries the host's own account of why. Linux only; what the kernel does not
offer (pressure stall information) is left out, not guessed."""

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HostGauge", "HostLoad"]


def _pressure_total_us(resource: str) -> int | None:
    """Microseconds some task waited for `resource` (cpu, io), since boot."""
    try:
        some = Path(f"/proc/pressure/{resource}").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(dict(field.split("=") for field in some.split()[1:])["total"])


def _cpu_ticks() -> tuple[int, int]:
    """(all ticks, ticks stolen by the hypervisor) of /proc/stat's cpu line."""
    fields = [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


@dataclass(frozen=True)
class HostLoad:
    seconds: float
    load_max: float  # the highest 1-minute load average seen (sendmail's QueueLA acts on it)
    cpu_wait: float | None  # share of the time some task waited for a CPU
    io_wait: float | None  # ... for I/O
    steal: float  # share of CPU time the hypervisor gave to others
    threshold: float | None = None  # a load average that matters to the reader (QueueLA)
    seconds_above: float = 0.0  # how long the load average was at or above it

    @property
    def reached_threshold(self) -> bool:
        return self.threshold is not None and self.load_max >= self.threshold

    def __str__(self) -> str:
        parts = [f"load <= {self.load_max:.1f}"]
        if self.reached_threshold:
            parts[0] += f" (>= {self.threshold:g} for {self.seconds_above:.0f} s)"
        parts += [f"{name} {share:.0%}" for name, share in (("cpu wait", self.cpu_wait), ("io wait", self.io_wait))
                  if share is not None]
        return ", ".join([*parts, f"steal {self.steal:.0%}"])


class HostGauge:
    """Measures from construction to read(); as a context manager it also samples the load
    average every second in a thread (it is a moving value: its peak would be missed)."""

    def __init__(self, threshold: float | None = None) -> None:
        """`threshold`: a load average whose crossing is timed (e.g. sendmail's QueueLA)."""
        self.threshold = threshold
        self.seconds_above = 0.0
        self.started = self.last_sample = time.monotonic()
        self.pressure = {name: _pressure_total_us(name) for name in ("cpu", "io")}
        self.ticks = _cpu_ticks()
        self.load_max = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sampling, name="host-gauge", daemon=True)

    def _sampling(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        load, now = os.getloadavg()[0], time.monotonic()
        if self.threshold is not None and load >= self.threshold:
            self.seconds_above += now - self.last_sample
        self.load_max, self.last_sample = max(self.load_max, load), now

    def read(self) -> HostLoad:
        self.sample()
        seconds = max(time.monotonic() - self.started, 1e-6)
        shares: dict[str, float | None] = {}
        for name, before in self.pressure.items():
            now = _pressure_total_us(name)
            shares[name] = None if before is None or now is None else min(1.0, (now - before) / 1e6 / seconds)
        total, stolen = (now - before for now, before in zip(_cpu_ticks(), self.ticks, strict=True))
        return HostLoad(seconds, self.load_max, shares["cpu"], shares["io"], stolen / total if total else 0.0,
                        self.threshold, self.seconds_above)

    def __enter__(self) -> "HostGauge":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
