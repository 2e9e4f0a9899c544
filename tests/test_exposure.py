"""Exposure: the chain shows nothing it need not. Only MTA-RX's ports published, amavisd-new and
MTA-TX unreachable from the neighbouring containers, MTA-RX at work as smmsp, and VRFY/EXPN
disclosing nobody."""

import asyncio
import json
import re

import pytest

from harness import Stack
from harness.raw_smtp import RawSession
from harness.smtp import SMTPStatus
from siteconfig.shape import SiteShape
from tests.claims import differs_by_design
from tests.conftest import People

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("neighbour", ["internet", "office"])
def test_amavis_and_mta_tx_are_unreachable_from_other_containers(stack: Stack, shape: SiteShape, neighbour: str,
                                                                internal_port: int) -> None:
    port, smtp = internal_port, shape.rx.smtp.port if shape.rx.smtp else 0
    script = (
        "import json, socket\n"
        "def probe(port):\n"
        "    try:\n"
        "        socket.create_connection(('mx', port), timeout=5).close(); return 'open'\n"
        "    except OSError as error: return type(error).__name__\n"
        f"print(json.dumps({{'smtp': probe({smtp}), 'port': probe({port})}}))\n"
    )
    seen = json.loads(stack.exec(neighbour, ["python3", "-c", script]))
    assert seen["smtp"] == "open", seen  # the namespace is reachable from there ...
    assert seen["port"] == "ConnectionRefusedError", seen  # ... and this port is not


def test_only_mta_rx_smtp_and_msa_ports_of_the_chain_are_published(stack: Stack, shape: SiteShape) -> None:
    def bound(service: str) -> list[str]:  # exposed-but-unpublished ports have no bindings
        ports = stack.container(service).attrs["NetworkSettings"]["Ports"] or {}
        return sorted(port for port, bindings in ports.items() if bindings)

    published = {service: bound(service) for service in ("mx", "rx", "amavis", "clamd", "tx")}
    env = shape.compose_env()  # the site's SMTP daemon and MSA (published even where no MSA listens)
    ports = sorted({f"{env['TESTBED_RX_SMTP']}/tcp", f"{env['TESTBED_RX_MSA']}/tcp"})
    assert published == {"mx": ports, "rx": [], "amavis": [], "clamd": [], "tx": []}, published


def test_mta_rx_serves_smtp_and_runs_its_queue_as_smmsp_not_root(stack: Stack, request: pytest.FixtureRequest) -> None:
    async def hold_a_session() -> list[str]:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        await session.command(b"EHLO client.example")
        processes = stack.exec("rx", ["ps", "-eo", "user:16=,args="]).splitlines()
        await session.command(b"QUIT")
        await session.close()
        return processes

    # sendmail's own processes, by their command: not a healthcheck that names sendmail's .cf
    # (it runs as root, and a greet_pause site keeps it running long enough to be seen).
    processes = [[user, args] for user, args in (line.split(None, 1) for line in asyncio.run(hold_a_session()))
                 if args.split()[0] in ("sendmail:", "/usr/sbin/sendmail", "sendmail")]
    listening = [user for user, args in processes if "accepting connections" in args]
    others = [(user, args) for user, args in processes if "accepting connections" not in args]
    assert listening == ["root"], processes  # binding port 25 needs root; nothing else does
    if stack.topology.name == "milter":
        # The one MTA also delivers locally (mail.local needs root): its .mc has no RunAsUser.
        assert {user for user, _ in others} == {"root"}, processes
        differs_by_design(request, "the receiving MTA need not run as root (the document's point for MTA-RX)",
                          "the milter topology's SMTP children and queue runner run as root: "
                          + "; ".join(f"{user} {args}" for user, args in others))
        return
    assert any("startup with" in args or "cmd read" in args or "client" in args for _, args in others), processes
    assert any("queue" in args.lower() for _, args in others), processes
    assert {user for user, _ in others} == {"smmsp"}, processes


def test_vrfy_and_expn_do_not_disclose_users(stack: Stack, people: People) -> None:
    user = people.reader
    vrfy_user = f"VRFY {user}".encode()

    async def ask() -> tuple[list[tuple[bytes, int, str]], RawSession]:
        session = await RawSession.open(stack.smtp_port)
        await session.reply()
        await session.command(b"EHLO client.example")
        answers = []
        for command in (vrfy_user, b"VRFY nosuchuser", b"EXPN postmaster", b"EXPN nosuchlist"):
            reply = await session.command(command)
            answers.append((command, reply.code if reply else 0, reply.text if reply else ""))
        await session.command(b"QUIT")
        await session.close()
        return answers, session

    answers, session = asyncio.run(ask())
    codes = {command: code for command, code, _ in answers}
    assert codes[vrfy_user] == codes[b"VRFY nosuchuser"] and codes[vrfy_user] // 100 in (2, 5), session
    assert codes[vrfy_user] != SMTPStatus.completed, session  # 252: "cannot VRFY user", for everyone alike
    assert codes[b"EXPN postmaster"] // 100 == 5 and codes[b"EXPN nosuchlist"] // 100 == 5, session
    disclosure = rf"{re.escape(people.admin)}|<{re.escape(user)}@|{re.escape(user.capitalize())}"
    for _, _, text in answers:
        assert not re.search(disclosure, text), session
