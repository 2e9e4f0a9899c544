"""The chain as one object: start it from compose.yaml, reach its ports, look inside.

Each Stack has its own compose project name and Docker-chosen host ports, so runs never
collide; down() removes every container, network and volume it created.

The handle is a small core (this module and harness/containers.py: lifecycle, commands,
logs, processes) plus one face per service of the chain: `stack.rx` (harness/rx.py),
`stack.amavis` (harness/amavis.py), `stack.tx` (harness/tx.py) and `stack.sink`
(harness/sink.py).
"""

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from testcontainers.compose import DockerCompose

from harness.amavis import Amavis
from harness.containers import Containers, StackError
from harness.rx import MtaRx
from harness.sink import SinkClient
from harness.startup import ChainDownError, diagnose, site_sources
from harness.topology import Topology, topology_from_env
from harness.tx import MtaTx
from siteconfig.layout import REPO
from siteconfig.run_settings import ChainSettings
from siteconfig.shape import ShapeError, SiteShape, current_shape

__all__ = ["ChainDownError", "Stack", "StackError", "queue_runs_asked"]

QUEUE_RUNS = ("asked", "persistent")
UP_TIMEOUT = float(os.environ.get("TESTBED_UP_TIMEOUT") or 300)  # seconds for every daemon to be healthy


def queue_runs_asked() -> bool:
    """Whether a wait for a message asks MTA-RX for a queue run (MtaRx.run_queue) when the
    message is not there at the first look: TESTBED_QUEUE_RUNS=asked, the default. With
    "persistent" only the daemon's persistent runners move mail, as in production: the
    same tests, each waiting up to 5 s longer per message."""
    value = os.environ.get("TESTBED_QUEUE_RUNS") or "asked"
    if value not in QUEUE_RUNS:
        raise StackError(f"TESTBED_QUEUE_RUNS={value!r}: use one of {', '.join(QUEUE_RUNS)}")
    return value == "asked"


class _Compose(DockerCompose):
    """DockerCompose whose commands see the stack's settings. (Compose prefers the
    process environment to an env file, so a port exported in the caller's shell would
    otherwise win over the free port the stack asks for.)"""

    environment: dict[str, str]
    # Asked while `up --wait` runs: a reason to stop waiting, or None. Compose waits for health
    # without end when a daemon dies at start and its restart policy brings it back.
    watch: Callable[[], str | None] | None = None

    def _run_command(self, cmd: str | list[str], context: str | None = None) -> subprocess.CompletedProcess[bytes]:
        if self.watch is None or "up" not in cmd:
            return subprocess.run(cmd, capture_output=True, check=True, cwd=context or str(self.context),
                                  env=self.environment)
        deadline = time.monotonic() + UP_TIMEOUT
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=context or str(self.context),
                              env=self.environment) as proc:
            while True:
                try:  # reading the output is the wait: a full pipe would stall compose
                    out, err = proc.communicate(timeout=1)
                    break
                except subprocess.TimeoutExpired:
                    reason = self.watch() or (f"not healthy within {UP_TIMEOUT:g} s (TESTBED_UP_TIMEOUT)"
                                              if time.monotonic() > deadline else None)
                    if reason:
                        proc.terminate()
                        out, err = proc.communicate()
                        raise subprocess.CalledProcessError(-1, cmd, out, err + f"\n{reason}".encode()) from None
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _compose_environment(shape: SiteShape, project: str, chain: ChainSettings, files: list[str]) -> dict[str, str]:
    """What docker compose runs with for a stack: the caller's environment, the site's shape
    over it, this run's settings over both; its own project, and only its own files (make's
    COMPOSE_FILE must not add any)."""
    return {**os.environ, **shape.compose_env(), "COMPOSE_PROJECT_NAME": project, **chain.env(),
            "COMPOSE_FILE": ":".join(files)}


class Stack(Containers):
    """The running chain: its lifecycle and addresses here, its containers' commands,
    logs and processes from Containers, and what each daemon holds on its face."""

    def __init__(self, *, project: str | None = None, settings: ChainSettings | None = None,
                 topology: Topology | None = None) -> None:
        """`settings`: this stack's run (siteconfig/run_settings.py: workers, R, switches,
        compose files layered over the topology's, e.g. compose.tmpfs.yaml); what it leaves
        unset comes from the caller's environment. `topology`: dual or milter
        (harness/topology.py); default the run's, $TESTBED_TOPOLOGY."""
        super().__init__(project or f"testbed-{uuid.uuid4().hex[:8]}", topology or topology_from_env())
        try:  # the site's ports, queues and wiring (make build wrote them from its .cf files)
            self.shape: SiteShape = current_shape(self.topology.name)
        except ShapeError as missing:
            raise StackError(str(missing)) from None
        # Docker picks the host ports, read back by host_port(): stacks side by side never collide.
        self.chain = replace(settings or ChainSettings(), free_host_ports=True)
        files = [*self.topology.compose_files, *self.chain.compose_files()]
        self.compose = _Compose(REPO, compose_file_name=files, wait=True)
        self.compose.environment = _compose_environment(self.shape, self.project, self.chain, files)
        self.compose.watch = self._restarted
        self.rx = MtaRx(self, tuple(self.shape.rx.queue_dirs))
        self.hasten = self._ask_queue_run if queue_runs_asked() else None
        self.amavis = Amavis(self, hasten=self.hasten)
        self.tx = MtaTx(self, tuple(self.shape.tx.queue_dirs), hasten=self.hasten)

    def _ask_queue_run(self) -> None:
        """A hint, not a step: a wait whose queue run cannot start (MTA-RX restarting) goes
        on waiting for the persistent runners."""
        with contextlib.suppress(StackError):
            self.rx.run_queue()

    # --- lifecycle of the whole chain ----------------------------------------------------

    def up(self) -> "Stack":
        try:
            self.compose.start()
        except subprocess.CalledProcessError as failed:
            evidence = self._startup_evidence(failed)
            self.down()
            raise ChainDownError(f"the chain did not come up (project {self.project}): {evidence}") from None
        return self

    def down(self) -> None:
        try:
            self.compose.stop(down=True)
        finally:
            self.docker.close()

    def __enter__(self) -> "Stack":
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    def _startup_evidence(self, failed: subprocess.CalledProcessError) -> str:
        """Each daemon that is not up, with its first fatal line, the site's line behind it
        and what to do (harness/startup.py); compose's own last words where none is found."""
        sources = site_sources(Path(os.environ.get("TESTBED_SOURCE_CONFIG", REPO / "config" / "sample")),
                               REPO / os.environ.get("TESTBED_CONFIG", "config/sample"))
        services = [s for s in ("dns", *self.topology.daemons, "internet", "office") if self._find(s) is not None]
        found = diagnose(services, lambda s: self._health(self.container(s)), lambda s: self.logs(s, tail=400),
                         self._health_output, lambda s: sources.get(s, []))
        if found:
            return "\n".join(str(diagnosis) for diagnosis in found)
        said = failed.stderr.decode(errors="replace").strip().splitlines()
        return "docker compose said: " + " / ".join(said[-3:])

    def _restarted(self) -> str | None:
        """A daemon that died while the chain started (Docker brought it back): it will again."""
        for container in self.docker.containers.list(all=True, filters={
                "label": f"com.docker.compose.project={self.project}"}):
            if container.attrs.get("RestartCount"):
                service = container.labels.get("com.docker.compose.service", container.name)
                return f"{service} died while starting and was restarted {container.attrs['RestartCount']} time(s)"
        return None

    def _health_output(self, service: str) -> str:
        """What the service's healthcheck printed last (it names the daemon, address and port)."""
        container = self.container(service)
        container.reload()
        log = (container.attrs["State"].get("Health") or {}).get("Log") or []
        return str(log[-1].get("Output", "")) if log else ""

    def recreate(self, service: str, settings: ChainSettings | None = None, *, timeout: float = 180) -> None:
        """Replace one service's container with one started with what `settings` sets on top
        of the stack's own (e.g. other sendmail options); the others, and the named volumes
        with the queues and mailboxes, stay. recreate(service) goes back."""
        environment = {**self.compose.environment, **(settings or ChainSettings()).env()}
        command = [*self.compose.compose_command_property, "up", "--detach", "--no-deps", "--force-recreate",
                   service]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment)
        if done.returncode != 0:
            raise StackError(f"recreating {service} failed:\n{done.stderr[-3000:]}")
        self.wait_healthy(service, timeout=timeout)

    # --- addresses ---------------------------------------------------------------------

    def host_port(self, service: str, port: int) -> int:
        """The host port Docker chose for the service's `port`."""
        container = self.container(service)
        container.reload()
        bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
        if not bindings:
            raise StackError(f"{service}:{port} is not published")
        return int(bindings[0]["HostPort"])

    @property
    def smtp_port(self) -> int:
        """MTA-RX's SMTP daemon (the site's, port 25 in the sample) on the host, reached from
        outside any trusted network."""
        daemon = self.shape.rx.smtp
        if daemon is None:
            raise StackError("MTA-RX runs no SMTP daemon (its .cf names only an MSA)")
        return self.host_port("mx", daemon.port)

    @property
    def submission_port(self) -> int:
        """MTA-RX's MSA (587 unless the site's .cf says otherwise) on the host."""
        daemon = self.shape.rx.msa
        if daemon is None:
            raise StackError("MTA-RX runs no MSA (FEATURE(no_default_msa) and no daemon on the submission port)")
        return self.host_port("mx", daemon.port)

    @property
    def office_port(self) -> int:
        """MTA-RX's SMTP daemon reached through the LAN's office relay, a client RX relays for
        (the relay listens on 25 in its own container and forwards to the site's port)."""
        return self.host_port("office", 25)

    @property
    def sink(self) -> SinkClient:
        """What MTA-TX relayed to "the Internet"; a wait for a message there that fails
        shows the message's trail."""
        return SinkClient(f"http://127.0.0.1:{self.host_port('internet', 8025)}", trail=self.trail,
                          hasten=self.hasten)

    def mx_address(self) -> str:
        """The address of the daemons' shared namespace on the "internet" network."""
        networks = self.container("mx").attrs["NetworkSettings"]["Networks"]
        return str(networks[f"{self.project}_internet"]["IPAddress"])
