"""The chain as one object: start it from compose.yaml, reach its ports, look inside.

Each Stack has its own compose project name and Docker-chosen host ports, so runs never
collide; down() removes every container, network and volume it created.
"""

import os
import re
import subprocess
import tempfile
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from mailbox import mbox
from pathlib import Path

import docker
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from harness.amavis import Verdict, parse_verdicts
from harness.cgroups import Cgroup
from harness.poll import poll_until
from harness.queues import QueueEntry, parse_mailq
from harness.sink import SinkClient, SinkMessage
from harness.trail import follow

__all__ = ["QUARANTINE", "REPO", "Stack", "StackError"]

REPO = Path(__file__).resolve().parents[1]
DAEMONS = ("rx", "amavis", "clamd", "tx")
LOGGED = ("rx", "amavis", "clamd", "tx", "internet")
RX_CF = "/etc/mail/sendmail-rx.cf"
QUARANTINE = "/var/lib/amavis/virusmails"


class _Compose(DockerCompose):
    """DockerCompose whose commands see the stack's settings. (Compose prefers the
    process environment to an env file, so a port exported in the caller's shell would
    otherwise win over the free port the stack asks for.)"""

    environment: dict[str, str]

    def _run_command(self, cmd: str | list[str], context: str | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(cmd, capture_output=True, check=True, cwd=context or str(self.context),
                              env=self.environment)


class StackError(RuntimeError):
    """The chain could not be brought up, or a daemon in it failed."""


class Stack:
    def __init__(self, *, project: str | None = None, env: dict[str, str] | None = None,
                 extra_files: list[str] | None = None) -> None:
        """`env` sets compose variables (RX_QUEUE_RUNNERS, AMAVIS_MAX_SERVERS, ...) for this
        stack; variables it does not set come from the caller's environment. `extra_files`
        are compose files layered over compose.yaml (e.g. compose.tmpfs.yaml)."""
        self.project = project or f"testbed-{uuid.uuid4().hex[:8]}"
        self.settings = {
            "COMPOSE_PROJECT_NAME": self.project,
            # Empty: Docker picks free host ports, read back from the containers.
            "RX_SMTP_PORT": "",
            "RX_SUBMISSION_PORT": "",
            "OFFICE_SMTP_PORT": "",
            "SINK_API_PORT": "",
            **(env or {}),
        }
        self.compose = _Compose(REPO, compose_file_name=["compose.yaml", *(extra_files or [])], wait=True)
        self.compose.environment = {**os.environ, **self.settings}
        self.docker = docker.from_env()

    # --- lifecycle -------------------------------------------------------------------

    def up(self) -> "Stack":
        try:
            self.compose.start()
        except subprocess.CalledProcessError as failed:
            evidence = self._startup_evidence(failed)
            self.down()
            raise StackError(f"the chain did not come up (project {self.project}):\n{evidence}") from None
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
        parts = [failed.stderr.decode(errors="replace")[-3000:]]
        for service in ("dns", *DAEMONS, "internet", "office"):
            container = self._find(service)
            if container is not None and self._health(container) not in ("healthy", "running"):
                parts.append(f"--- {service} ({self._health(container)}) ---\n{self.logs(service, tail=40)}")
        return "\n".join(parts)

    # --- containers --------------------------------------------------------------------

    def _find(self, service: str) -> Container | None:
        found = self.docker.containers.list(all=True, filters={"label": [
            f"com.docker.compose.project={self.project}", f"com.docker.compose.service={service}"]})
        return found[0] if found else None

    def container(self, service: str) -> Container:
        container = self._find(service)
        if container is None:
            raise StackError(f"no container for service {service!r} in project {self.project}")
        return container

    @staticmethod
    def _health(container: Container) -> str:
        container.reload()
        state = container.attrs["State"]
        return state.get("Health", {}).get("Status") or state["Status"]

    def exec_bytes(self, service: str, command: list[str], *, user: str = "root") -> bytes:
        """Run a command in a service's container; a non-zero exit raises with its output."""
        try:
            code, output = self.container(service).exec_run(command, user=user)
        except docker.errors.APIError as refused:  # e.g. the container is not running (now)
            raise StackError(f"{service}: cannot run {' '.join(command)}: {refused.explanation}") from None
        if code != 0:
            raise StackError(f"{service}: {' '.join(command)} exited {code}:\n{output.decode(errors='replace')}")
        return bytes(output)

    def exec(self, service: str, command: list[str], *, user: str = "root") -> str:
        """exec_bytes, decoded."""
        return self.exec_bytes(service, command, user=user).decode(errors="replace")

    def logs(self, service: str, *, tail: int | str = "all", since: float | None = None,
             timestamps: bool = False) -> str:
        """The service's log; `since` (epoch seconds): only lines from then on (to the second);
        `timestamps`: each line starts with when Docker read it (RFC 3339, nanoseconds)."""
        extra = {"since": int(since)} if since is not None else {}
        return self.container(service).logs(tail=tail, timestamps=timestamps, **extra).decode(errors="replace")

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

    def recreate(self, service: str, env: dict[str, str], *, timeout: float = 180) -> None:
        """Replace one service's container with one started with `env` on top of the
        stack's settings (e.g. other sendmail options); the others, and the named volumes
        with the queues and mailboxes, stay. recreate(service, {}) goes back."""
        environment = {**self.compose.environment, **env}
        command = [*self.compose.compose_command_property, "up", "--detach", "--no-deps", "--force-recreate",
                   service]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment)
        if done.returncode != 0:
            raise StackError(f"recreating {service} failed:\n{done.stderr[-3000:]}")
        self.wait_healthy(service, timeout=timeout)

    def kill(self, service: str, pattern: str) -> int:
        """kill -9 the oldest process of the service whose command line matches `pattern`
        (a regular expression); its PID inside the container. A crash, not a shutdown."""
        for line in self.exec(service, ["ps", "-eo", "pid=,args="]).splitlines():
            pid, _, args = line.strip().partition(" ")
            if re.search(pattern, args) and "ps -eo" not in args:
                self.exec(service, ["kill", "-9", pid])
                return int(pid)
        raise StackError(f"{service}: no process matches {pattern!r}:\n{self.exec(service, ['ps', '-eo', 'pid,args'])}")

    def processes(self, service: str, pattern: str) -> list[str]:
        """Command lines of the service's processes that match `pattern`."""
        return [args for args in self.exec(service, ["ps", "-eo", "args="]).splitlines()
                if re.search(pattern, args) and not args.startswith("ps ")]

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

    def wait_healthy(self, service: str, *, timeout: float = 120) -> None:
        container = self.container(service)

        def died() -> str | None:
            status = self._health(container)
            return f"{service} is {status}" if status in ("exited", "dead") else None

        poll_until(lambda: self._health(container) == "healthy", timeout=timeout, what=f"{service} to be healthy",
                   interval=0.5, fatal=died, evidence=lambda: self.logs(service, tail=30))

    # --- addresses ---------------------------------------------------------------------

    def host_port(self, service: str, port: int) -> int:
        self.container(service).reload()
        bindings = self.container(service).attrs["NetworkSettings"]["Ports"].get(f"{port}/tcp") or []
        if not bindings:
            raise StackError(f"{service}:{port} is not published")
        return int(bindings[0]["HostPort"])

    @property
    def smtp_port(self) -> int:
        """MTA-RX port 25 on the host, reached from outside any trusted network."""
        return self.host_port("mx", 25)

    @property
    def submission_port(self) -> int:
        """MTA-RX port 587 (MSA) on the host."""
        return self.host_port("mx", 587)

    @property
    def office_port(self) -> int:
        """MTA-RX port 25 reached through the LAN's office relay, a client RX relays for."""
        return self.host_port("office", 25)

    @property
    def sink(self) -> SinkClient:
        return SinkClient(f"http://127.0.0.1:{self.host_port('internet', 8025)}")

    def mx_address(self) -> str:
        """The address of the daemons' shared namespace on the "internet" network."""
        networks = self.container("mx").attrs["NetworkSettings"]["Networks"]
        return str(networks[f"{self.project}_internet"]["IPAddress"])

    # --- what arrived and what waits -----------------------------------------------------

    def mailbox(self, user: str) -> list[EmailMessage]:
        """The messages in MTA-TX's /var/mail/<user>, oldest first."""
        code, raw = self.container("tx").exec_run(["cat", f"/var/mail/{user}"])
        if code != 0:
            return []  # no mailbox yet: nothing was delivered
        with tempfile.NamedTemporaryFile(suffix=".mbox") as copy:
            copy.write(raw)
            copy.flush()
            box = mbox(copy.name, create=False)
            try:
                return [message_from_bytes(m.as_bytes(), policy=default_policy) for m in box]  # type: ignore[misc]
            finally:
                box.close()

    def read_mailboxes(self, offsets: dict[str, int]) -> dict[str, tuple[int, bytes]]:
        """For each user, the size of /var/mail/<user> and its bytes from the given offset
        (from 0 if the mailbox shrank): one exec for all, so it can be polled under load."""
        script = (
            'for spec; do user=${spec%%=*}; offset=${spec#*=}; box=/var/mail/$user; size=0; '
            '[ -f "$box" ] && size=$(stat -c %s "$box"); [ "$size" -lt "$offset" ] && offset=0; '
            'printf "%s %s %s\\n" "$user" "$size" $((size - offset)); '
            '[ "$size" -gt "$offset" ] && tail -c +$((offset + 1)) "$box" | head -c $((size - offset)); done; true'
        )
        users = [f"{user}={offset}" for user, offset in offsets.items()]
        raw = self.exec_bytes("tx", ["sh", "-c", script, "sh", *users])
        boxes, position = {}, 0
        while position < len(raw):  # "<user> <size> <count>\n" then <count> bytes, per user
            end = raw.index(b"\n", position)
            user, size, count = raw[position:end].decode().split()
            position = end + 1 + int(count)
            boxes[user] = (int(size), raw[end + 1:position])
        return boxes

    def rx_queue(self) -> list[QueueEntry]:
        return parse_mailq(self.exec("rx", ["mailq", f"-C{RX_CF}"]))

    def tx_queue(self) -> list[QueueEntry]:
        return parse_mailq(self.exec("tx", ["mailq"]))

    def queued_message_ids(self) -> set[str]:
        """Message-IDs of the messages waiting in MTA-RX's and MTA-TX's queues (their qf
        files' headers): mail that is late, not lost."""
        found = set()
        for service, queue in (("rx", "/var/spool/mqueue-rx"), ("tx", "/var/spool/mqueue")):
            headers = self.exec(service, ["sh", "-c", f"cat {queue}/qf* 2>/dev/null | grep -i '^H.*Message-Id:'; true"])
            found |= set(re.findall(r"<([^>]+)>", headers))
        return found

    def quarantine(self) -> list[str]:
        """Files in amavisd-new's quarantine, as its log names them ("4/virus-<id>")."""
        return self.exec("amavis", ["find", QUARANTINE, "-type", "f", "-printf", "%P\\n"]).split()

    def verdicts(self, message_id: str) -> list[Verdict]:
        return parse_verdicts(self.logs("amavis"), message_id)

    def wait_for_verdicts(self, message_id: str, *, recipients: int = 1, timeout: float = 60) -> list[Verdict]:
        """amavisd-new's verdicts on the message, once they cover `recipients` recipients."""
        return poll_until(
            lambda: (v := self.verdicts(message_id)) and sum(len(x.recipients) for x in v) >= recipients and v,
            timeout=timeout, what=f"amavisd-new's verdict on <{message_id}>", interval=0.5,
            evidence=lambda: self.trail(message_id))

    def release(self, quarantined: str) -> str:
        """Release a quarantined message with amavisd-release; it goes on to MTA-TX."""
        return self.exec("amavis", ["amavisd-release", quarantined], user="amavis")

    def sample_connections(self, port: int, *, seconds: float, interval: float = 0.05) -> list[int]:
        """How many connections MTA-RX holds to 127.0.0.1:<port>, sampled inside the
        namespace until MTA-RX's queue is empty or `seconds` pass.

        MTA-RX connects from 127.0.0.1; amavisd-new's healthcheck connects from 127.0.0.2,
        so it is not counted. (`ss -p` cannot name sendmail's processes: they changed
        user, which hides their sockets without CAP_SYS_PTRACE.)
        """
        script = (
            f"end=$(( $(date +%s) + {int(seconds)} )); "
            f"while [ $(date +%s) -lt $end ]; do "
            f"ss -Htn state established '( dport = :{port} and src 127.0.0.1 )' | wc -l; "
            "ls /var/spool/mqueue-rx | grep -q '^qf' || break; "
            f"sleep {interval}; done"
        )
        return [int(n) for n in self.exec("rx", ["bash", "-c", script]).split()]

    @property
    def queue_runners(self) -> int:
        """R= of MTA-RX's queue group, as the running daemon's .cf has it."""
        line = self.exec("rx", ["grep", "^Qmqueue", RX_CF])
        match = re.search(r"R=(\d+)", line)
        if not match:
            raise StackError(f"no R= in MTA-RX's queue group: {line}")
        return int(match.group(1))

    def amavis_children(self) -> int:
        """amavisd-new child processes now running ($max_servers once started)."""
        titles = [line for line in self.exec("amavis", ["ps", "-eo", "args"]).splitlines() if "amavisd (" in line]
        return sum("(master)" not in title for title in titles)  # "(ch1-avail)", "(virgin child)", ...

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

    def pause(self, service: str) -> None:
        """Freeze a service (a hang, not a crash): its sockets stay open, nothing answers."""
        self.container(service).pause()

    def unpause(self, service: str) -> None:
        self.container(service).unpause()

    def trail(self, message_id: str) -> str:
        """Every log line of every daemon that belongs to the message (for failures)."""
        logs = {service: self.logs(service) for service in LOGGED if self._find(service)}
        return follow(message_id, logs)

    def wait_for_mailbox(self, user: str, message_id: str, *, timeout: float = 60) -> EmailMessage:
        """The message with this Message-ID once it is in the user's mailbox."""

        def delivered() -> EmailMessage | None:
            return next((m for m in self.mailbox(user) if message_id in str(m["Message-ID"])), None)

        return poll_until(delivered, timeout=timeout, what=f"<{message_id}> in {user}'s mailbox",
                          interval=0.5, evidence=lambda: self.trail(message_id))

    def wait_for_sink(self, message_id: str, *, timeout: float = 60) -> list[SinkMessage]:
        """The sink's records of the message once at least one has arrived."""
        return poll_until(lambda: self.sink.by_message_id(message_id), timeout=timeout,
                          what=f"<{message_id}> at the sink", interval=0.5, evidence=lambda: self.trail(message_id))
