"""MTA-RX as the tests see it (`stack.rx`): its queue, its queue runners, and its
connections to amavisd-new."""


from harness.containers import Containers, StackError
from harness.queues import Sendmail

__all__ = ["MtaRx"]


class MtaRx(Sendmail):
    """The receiving sendmail: MTA-RX, or the milter topology's one sendmail."""

    def __init__(self, containers: Containers, directories: tuple[str, ...] = ()) -> None:
        """`directories`: its queues, as the site's .cf has them (SiteShape.rx.queue_dirs)."""
        # mailq needs the .cf: MTA-RX's is not sendmail's default one.
        cf = containers.topology.rx_cf
        super().__init__(containers, "rx", cf=cf, mailq=["mailq", f"-C{cf}"], directories=directories)

    def run_queue(self) -> None:
        """Start one queue run in MTA-RX now, as an administrator's `sendmail -q` does, and
        return at once. The harness's waits for a message ask for one (Stack.hasten): a
        persistent queue runner that found the queue empty sleeps 5 s before it looks again
        (MIN_SLEEP_TIME in sendmail's queue.c), most of what a test that sends one message
        would otherwise wait. sendmail locks each queued message, so this run and the
        persistent runners never deliver the same one twice. It takes the daemon's own
        start-time options (the fault tests' shorter timeouts) and logs under its name (-L),
        so the trail reads as if a persistent runner had sent the message; what it prints (a
        refusal, a bad option) goes to the container's log."""
        topology = self._containers.topology
        script = f'exec sendmail -C"$1" -L"$2" ${{{topology.rx_options}:-}} -q >/proc/1/fd/2 2>&1'
        self._containers.exec_detached("rx", ["bash", "-c", script, "run_queue", self.cf, topology.log_tags["rx"]])

    @property
    def queue_runners(self) -> int:
        """R= of MTA-RX's default queue group (sendmail names it mqueue), as the running
        daemon's .cf has it."""
        group = self.compiled().queue_groups.get("mqueue")
        runners = group.number("R") if group else None
        if runners is None:
            raise StackError(f"no queue group mqueue with R= in MTA-RX's {self.cf}")
        return runners

    def sample_connections(self, port: int, *, seconds: float, interval: float = 0.05) -> list[int]:
        """How many connections MTA-RX holds to 127.0.0.1:<port>, sampled inside the
        namespace until MTA-RX's queue is empty or `seconds` pass.

        MTA-RX connects from 127.0.0.1; amavisd-new's healthcheck connects from 127.0.0.2,
        so it is not counted. (`ss -p` cannot name sendmail's processes: they changed
        user, which hides their sockets without CAP_SYS_PTRACE.) One exec that loops
        inside the container: an exec per sample would be too slow to see a burst.
        """
        script = (
            f"end=$(( $(date +%s) + {int(seconds)} )); "
            f"while [ $(date +%s) -lt $end ]; do "
            f"ss -Htn state established '( dport = :{port} and src 127.0.0.1 )' | wc -l; "
            f"[ -n \"$({self._queue_files()} | head -n1)\" ] || break; "
            f"sleep {interval}; done"
        )
        return [int(n) for n in self._containers.exec("rx", ["bash", "-c", script]).split()]
