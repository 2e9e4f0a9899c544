"""What the handle's core and faces make of the daemons' output, without Docker: a
mailbox's copies of one message by exact Message-ID, processes by pattern, kill by PID."""

import pytest

from harness.amavis import Amavis
from harness.containers import Containers, StackError
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

    def exec_bytes(self, service: str, command: list[str], *, user: str = "root") -> bytes:
        self.ran.append(command)
        return self.output if command[0] != "kill" else b""


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
