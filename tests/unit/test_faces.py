"""What the handle's core and faces make of the daemons' output, without Docker: a
mailbox's copies of one message by exact Message-ID, processes by pattern, kill by PID."""

import pytest

from harness.amavis import Amavis
from harness.containers import Containers, StackError
from harness.rx import MtaRx
from harness.sink import SinkClient
from harness.stack import Stack, queue_runs_asked
from harness.topology import DUAL, MILTER
from harness.tx import MtaTx

MBOX = b"".join(
    b"From someone@remote.example Wed Nov 25 13:31:00 2025\n"
    + f"Message-ID: <{message_id}>\nSubject: s\n\nbody\n\n".encode()
    for message_id in ("a.1@testbed.test", "xa.1@testbed.test", "a.1@testbed.test.other", "a.1@testbed.test")
)
PS = """\
      1 /usr/sbin/amavisd (master)
     40 /usr/sbin/amavisd (ch1-avail)
     41 /usr/sbin/amavisd (virgin child)
     97 ps -eo pid=,args=
"""


class FakeContainers(Containers):
    """Answers exec with canned output and records what it was asked to run."""

    def __init__(self, output: bytes) -> None:  # no Docker client: nothing is real here
        self.project = "fake"
        self.output = output
        self.ran: list[list[str]] = []
        self.kill_exit = 0  # what `kill` exits with in the container

    def exec_bytes(self, service: str, command: list[str], *, user: str = "root",
                   codes: tuple[int, ...] = (0,)) -> bytes:
        self.ran.append(command)
        if command[0] != "kill":
            return self.output
        if self.kill_exit not in codes:
            raise StackError(f"{service}: {' '.join(command)} exited {self.kill_exit}")
        return b""

    def exec_detached(self, service: str, command: list[str]) -> None:
        self.ran.append([f"{service}:", *command])

    def trail(self, message_id: str) -> str:
        return f"(the trail of <{message_id}>)"

    def logs(self, service: str, **_: object) -> str:
        return self.output.decode()


def test_copies_are_the_messages_whose_message_id_is_exactly_the_one_asked_for() -> None:
    tx = MtaTx(FakeContainers(MBOX))
    assert len(tx.mailbox("alice")) == 4
    assert [str(m["Message-ID"]) for m in tx.copies("alice", "a.1@testbed.test")] == ["<a.1@testbed.test>"] * 2
    assert tx.copies("alice", "1@testbed.test") == []


def test_pids_lists_matching_processes_in_pid_order_but_not_ps_itself() -> None:
    containers = FakeContainers(PS.encode())
    assert containers.pids("amavis", r"amavisd \((?!master)") == [
        (40, "/usr/sbin/amavisd (ch1-avail)"), (41, "/usr/sbin/amavisd (virgin child)")]
    assert containers.pids("amavis", "pid=") == []


def test_killing_a_containers_main_process_counts_when_the_kill_goes_down_with_the_container() -> None:
    containers = FakeContainers(PS.encode())
    containers.kill_exit = 137  # SIGKILLed with the container its target was the main process of
    assert containers.kill("amavis", pid=1) == 1
    containers.kill_exit = 1  # no such process: a real failure
    with pytest.raises(StackError, match="exited 1"):
        containers.kill("amavis", pid=1)


def test_kill_takes_the_oldest_match_or_the_pid_given() -> None:
    containers = FakeContainers(PS.encode())
    assert containers.kill("amavis", r"\(ch|virgin") == 40
    assert containers.kill("amavis", pid=41) == 41
    assert [c for c in containers.ran if c[0] == "kill"] == [["kill", "-9", "40"], ["kill", "-9", "41"]]
    with pytest.raises(StackError, match="no process matches"):
        containers.kill("amavis", "clamd")
    with pytest.raises(ValueError, match="not both"):
        containers.kill("amavis", "amavisd", pid=1)


def test_amavis_children_are_its_processes_but_the_master() -> None:
    assert Amavis(FakeContainers(PS.encode())).children() == 2


@pytest.mark.parametrize(("topology", "cf", "tag", "options"),
                         [(DUAL, "/etc/mail/sendmail-rx.cf", "sm-mta-rx", "RX_SENDMAIL_OPTIONS"),
                          (MILTER, "/etc/mail/sendmail.cf", "sm-mta", "MTA_SENDMAIL_OPTIONS")])
def test_a_queue_run_is_asked_of_the_receiving_sendmail_with_its_cf_name_and_start_options(
    topology, cf, tag, options
) -> None:
    containers = FakeContainers(b"")
    containers.topology = topology
    MtaRx(containers).run_queue()
    ((service, shell, flag, script, name, *args),) = containers.ran
    assert (service, shell, flag, name, args) == ("rx:", "bash", "-c", "run_queue", [cf, tag])
    assert script == f'exec sendmail -C"$1" -L"$2" ${{{options}:-}} -q >/proc/1/fd/2 2>&1'


def test_a_wait_that_misses_asks_for_a_queue_run_once_and_one_that_finds_the_message_asks_nothing() -> None:
    asked: list[str] = []
    tx = MtaTx(FakeContainers(MBOX), hasten=lambda: asked.append("run"))
    tx.wait_for_mailbox("alice", "xa.1@testbed.test", timeout=5)
    assert asked == []
    empty = MtaTx(FakeContainers(b""), hasten=lambda: asked.append("run"))
    with pytest.raises(TimeoutError):
        empty.wait_for_mailbox("alice", "a.1@testbed.test", timeout=1.2)
    assert asked == ["run"]


@pytest.mark.parametrize(("value", "asked"), [(None, True), ("", True), ("asked", True), ("persistent", False)])
def test_testbed_queue_runs_says_whether_waits_ask_for_queue_runs(monkeypatch, value, asked) -> None:
    if value is None:
        monkeypatch.delenv("TESTBED_QUEUE_RUNS", raising=False)
    else:
        monkeypatch.setenv("TESTBED_QUEUE_RUNS", value)
    assert queue_runs_asked() is asked


def test_an_unknown_testbed_queue_runs_is_refused_naming_the_choices(monkeypatch) -> None:
    monkeypatch.setenv("TESTBED_QUEUE_RUNS", "sometimes")
    with pytest.raises(StackError, match="TESTBED_QUEUE_RUNS='sometimes': use one of asked, persistent"):
        queue_runs_asked()


VERDICT = ("(00001-01) Passed CLEAN {RelayedInbound}, <a@remote.example> -> <u@t.example>, Message-ID: <v.1@t>, "
           "mail_id: m1, Hits: -1, size: 5, 5 ms\n")


def test_each_face_asks_only_when_told_to_and_only_when_the_first_look_misses() -> None:
    asked: list[str] = []
    found = Amavis(FakeContainers(VERDICT.encode()), hasten=lambda: asked.append("found"))
    assert found.wait_for_verdicts("v.1@t", timeout=5)
    missing = Amavis(FakeContainers(b""), hasten=lambda: asked.append("amavis"))
    with pytest.raises(TimeoutError):
        missing.wait_for_verdicts("v.1@t", timeout=0.6)
    with pytest.raises(TimeoutError):
        missing.wait_for_verdicts("v.1@t", timeout=0.6, ask_queue_run=False)
    sink = SinkClient("http://127.0.0.1:9", hasten=lambda: asked.append("sink"))
    sink.by_message_id = lambda message_id: []  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        sink.wait_for("v.1@t", timeout=0.6)
    with pytest.raises(TimeoutError):
        sink.wait_for("v.1@t", timeout=0.6, ask_queue_run=False)
    tx = MtaTx(FakeContainers(b""), hasten=lambda: asked.append("tx"))
    with pytest.raises(TimeoutError):
        tx.wait_for_mailbox("alice", "a.1@testbed.test", timeout=0.6, ask_queue_run=False)
    assert asked == ["amavis", "sink"]


def test_a_queue_run_that_cannot_start_leaves_the_wait_waiting() -> None:
    class Refusing:
        def run_queue(self) -> None:
            raise StackError("rx: cannot run sendmail: container is restarting")

    stack = Stack.__new__(Stack)  # no Docker: only the hint is under test
    stack.rx = Refusing()  # type: ignore[assignment]
    stack._ask_queue_run()  # returns: the wait that gave the hint goes on
