"""The chain's containers, found by compose project and service name: run commands in
them, read their logs (and one message's trail through them), and stop, start, freeze or
crash them as the fault tests do.

Stack builds on this; the per-service faces (harness/rx.py, amavis.py, tx.py) use it.
"""

import re
from pathlib import Path

import docker
from docker.models.containers import Container

from harness.cgroups import Cgroup
from harness.poll import poll_until
from harness.topology import DUAL, Topology
from harness.trail import follow
from siteconfig.errors import StackError

__all__ = ["Containers", "StackError"]

_PS = ["ps", "-eo", "pid=,args="]


class Containers:
    """The containers of compose project `project`, one per service. A role ("rx", "tx")
    names the container that plays it in the topology (the same one, "mta", in the milter
    topology)."""

    def __init__(self, project: str, topology: Topology = DUAL) -> None:
        self.project = project
        self.topology = topology
        self.docker = docker.from_env()

    # --- finding and running -----------------------------------------------------------

    def _find(self, service: str) -> Container | None:
        found = self.docker.containers.list(all=True, filters={"label": [
            f"com.docker.compose.project={self.project}",
            f"com.docker.compose.service={self.topology.service(service)}"]})
        # After a recreate the replaced container may linger a moment, dead or being removed.
        live = [c for c in found if c.status not in ("dead", "removing")]
        return max(live or found, key=lambda c: c.attrs.get("Created", ""), default=None)

    def container(self, service: str) -> Container:
        container = self._find(service)
        if container is None:
            raise StackError(f"no container for service {service!r} in project {self.project}")
        return container

    @staticmethod
    def _health(container: Container) -> str:
        container.reload()
        state = container.attrs["State"]
        return str(state.get("Health", {}).get("Status") or state["Status"])

    def exec_bytes(self, service: str, command: list[str], *, user: str = "root",
                   codes: tuple[int, ...] = (0,)) -> bytes:
        """Run a command in a service's container; an exit code not in `codes` raises with
        its output."""
        try:
            code, output = self.container(service).exec_run(command, user=user)
        except docker.errors.APIError as refused:  # e.g. the container is not running (now)
            raise StackError(f"{service}: cannot run {' '.join(command)}: {refused.explanation}") from None
        if code not in codes:
            raise StackError(f"{service}: {' '.join(command)} exited {code}:\n{output.decode(errors='replace')}")
        return bytes(output)

    def exec(self, service: str, command: list[str], *, user: str = "root") -> str:
        """exec_bytes, decoded."""
        return self.exec_bytes(service, command, user=user).decode(errors="replace")

    def exec_detached(self, service: str, command: list[str]) -> None:
        """Start a command in a service's container and return at once; it runs on there
        (what it does shows in the daemon's log)."""
        try:
            self.container(service).exec_run(command, user="root", detach=True)
        except docker.errors.APIError as refused:
            raise StackError(f"{service}: cannot run {' '.join(command)}: {refused.explanation}") from None

    # --- logs --------------------------------------------------------------------------

    def logs(self, service: str, *, tail: int | str = "all", since: float | None = None,
             timestamps: bool = False) -> str:
        """The service's log; `since` (epoch seconds): only lines from then on (to the second);
        `timestamps`: each line starts with when Docker read it (RFC 3339, nanoseconds)."""
        extra = {"since": int(since)} if since is not None else {}
        return self.container(service).logs(tail=tail, timestamps=timestamps, **extra).decode(errors="replace")

    def trail(self, message_id: str) -> str:
        """Every log line of every daemon that belongs to the message: the evidence a
        failing test prints, so that it explains itself."""
        logged = (*self.topology.daemons, "internet")  # the services a message passes
        logs = {service: self.logs(service) for service in logged if self._find(service)}
        return follow(message_id, logs)

    # --- lifecycle of one service ----------------------------------------------------------

    def stop(self, service: str) -> None:
        self.container(service).stop(timeout=10)

    def start(self, service: str, *, timeout: float = 120) -> None:
        """Start a stopped service and wait until its healthcheck passes."""
        self.container(service).start()
        self.wait_healthy(service, timeout=timeout)

    def restart(self, service: str, *, timeout: float = 120) -> None:
        """Restart one service's container and wait until its healthcheck passes again."""
        self.container(service).restart(timeout=10)
        self.wait_healthy(service, timeout=timeout)

    def pause(self, service: str) -> None:
        """Freeze a service (a hang, not a crash): its sockets stay open, nothing answers.
        The cgroup freezer gives up now and then while processes fork ("unable to freeze"):
        it is tried again until it holds."""
        container = self.container(service)
        failures: list[str] = []

        def frozen() -> bool:
            try:
                container.pause()
                return True
            except docker.errors.APIError as refused:
                if "unable to freeze" not in str(refused.explanation):
                    raise
                failures.append(str(refused.explanation))
                return False

        poll_until(frozen, timeout=30, interval=0.5, what=f"{service} to freeze", evidence=lambda: "\n".join(failures))

    def unpause(self, service: str) -> None:
        self.container(service).unpause()

    def wait_healthy(self, service: str, *, timeout: float = 120) -> None:
        container = self.container(service)

        def died() -> str | None:  # waiting longer cannot help
            status = self._health(container)
            return f"{service} is {status}" if status in ("exited", "dead") else None

        poll_until(lambda: self._health(container) == "healthy", timeout=timeout, what=f"{service} to be healthy",
                   interval=0.5, fatal=died, evidence=lambda: self.logs(service, tail=30))

    def restart_count(self, service: str) -> int:
        """How often Docker restarted the service's container after it died."""
        container = self.container(service)
        container.reload()
        return int(container.attrs["RestartCount"])

    def started_at(self, service: str) -> str:
        """When the service's container last started (changes with every restart)."""
        container = self.container(service)
        container.reload()
        return str(container.attrs["State"]["StartedAt"])

    # --- processes -------------------------------------------------------------------------

    def pids(self, service: str, pattern: str) -> list[tuple[int, str]]:
        """(PID inside the container, command line) of the service's processes whose
        command line matches `pattern` (a regular expression), in PID order: the order
        they started in, as PIDs in a young container do not wrap."""
        found = []
        for line in self.exec(service, _PS).splitlines():
            pid, _, args = line.strip().partition(" ")
            args = args.strip()
            if re.search(pattern, args) and not args.startswith(" ".join(_PS)):
                found.append((int(pid), args))
        return found

    def kill(self, service: str, pattern: str | None = None, *, pid: int | None = None) -> int:
        """kill -9 one process of the service (a crash, not a shutdown) and return its PID:
        process `pid`, or else the oldest whose command line matches `pattern`. A test that
        wants a busy process picks its PID from pids()."""
        if pid is None:
            if pattern is None:
                raise ValueError("kill() needs a pattern or a pid")
            found = self.pids(service, pattern)
            if not found:
                listing = self.exec(service, ["ps", "-eo", "pid,args"])
                raise StackError(f"{service}: no process matches {pattern!r}:\n{listing}")
            pid = found[0][0]
        elif pattern is not None:
            raise ValueError("kill() takes a pattern or a pid, not both")
        # 137: the kill was itself killed. Its target was the container's main process, and
        # the container went down with it, taking the exec along before it could report.
        self.exec_bytes(service, ["kill", "-9", str(pid)], codes=(0, 137))
        return pid

    def process_memory(self, service: str, name: str) -> list[dict[str, int]]:
        """Memory in KiB ("rss", and "private" and "pss" where readable) of each process of
        the service whose command line contains `name`. Read from the host: inside the
        container the daemons, having changed user, hide /proc/<pid>/smaps_rollup. PSS
        shares pages among the processes that map them, so its sum is what they cost."""
        try:
            top = self.container(service).top(ps_args="-eo pid,rss,args")
        except docker.errors.APIError as refused:  # e.g. restarting after its main process died
            raise StackError(f"{service}: cannot list processes: {refused.explanation}") from None
        memory = []
        for pid, rss, args in top["Processes"]:
            if name not in args:
                continue
            usage = {"rss": int(rss)}
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                rollup = ""  # not root: RSS only
            for line in rollup.splitlines():
                key, _, value = line.partition(":")
                if key in ("Private_Clean", "Private_Dirty", "Pss"):
                    field = "pss" if key == "Pss" else "private"
                    usage[field] = usage.get(field, 0) + int(value.split()[0])
            memory.append(usage)
        return memory

    def cgroup(self, service: str) -> Cgroup:
        """The service container's CPU, memory and OOM-kill counters, read from the host
        (root only, like process_memory)."""
        container = self.container(service)
        container.reload()
        return Cgroup(int(container.attrs["State"]["Pid"]))
