"""A container's resource counters, read from the host's cgroup files: CPU time, memory
in use, OOM kills. Reading a file costs microseconds, so the load generator can sample
at the exact edges of a measuring window (the Docker stats API takes a second or two).
Both cgroup v1 (one tree per controller, as on this project's machines) and v2 (one
unified tree) are understood."""

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cgroup", "CgroupSample", "host_busy_seconds", "parse_proc_cgroup"]

ROOT = Path("/sys/fs/cgroup")


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/<pid>/cgroup -> controller -> path ("" for the v2 unified tree). A v1 line
    may name several controllers ("4:cpu,cpuacct:/docker/<id>")."""
    paths = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclass(frozen=True)
class CgroupSample:
    cpu_seconds: float  # user + system, since the container started
    memory_bytes: int  # in use, less the page cache the kernel can drop (as `docker stats`)
    oom_kills: int  # processes the kernel killed for the container's memory limit


def _stat(path: Path) -> dict[str, int]:
    """A "key value" file (memory.stat, cpu.stat, memory.events, memory.oom_control)."""
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def host_busy_seconds(stat: Path = Path("/proc/stat")) -> float:
    """CPU-seconds the whole host has been busy since boot, all cores together (time not
    idle and not waiting for I/O): whatever runs, the chain, the generator, Docker."""
    values = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is already in user


class Cgroup:
    """The cgroup of the process with host PID `pid` (a container's init process). The
    paths are fixed at construction; a container that restarts keeps the path but starts
    its counters again from zero."""

    def __init__(self, pid: int, *, root: Path = ROOT, proc: Path = Path("/proc")) -> None:
        paths = parse_proc_cgroup((proc / str(pid) / "cgroup").read_text())
        self.unified = "cpuacct" not in paths and "" in paths
        if self.unified:
            self.cpu_dir = self.memory_dir = root / paths[""].lstrip("/")
        else:
            self.cpu_dir = root / "cpuacct" / paths["cpuacct"].lstrip("/")
            self.memory_dir = root / "memory" / paths["memory"].lstrip("/")

    def sample(self) -> CgroupSample:
        if self.unified:
            cpu = _stat(self.cpu_dir / "cpu.stat")["usage_usec"] / 1e6
            memory = int((self.memory_dir / "memory.current").read_text())
            stats = _stat(self.memory_dir / "memory.stat")
            memory -= stats.get("inactive_file", 0)
            kills = _stat(self.memory_dir / "memory.events").get("oom_kill", 0)
        else:
            cpu = int((self.cpu_dir / "cpuacct.usage").read_text()) / 1e9
            memory = int((self.memory_dir / "memory.usage_in_bytes").read_text())
            stats = _stat(self.memory_dir / "memory.stat")
            memory -= stats.get("total_inactive_file", stats.get("inactive_file", 0))
            kills = _stat(self.memory_dir / "memory.oom_control").get("oom_kill", 0)
        return CgroupSample(cpu_seconds=cpu, memory_bytes=max(0, memory), oom_kills=kills)
