"""What the chain exposes: MTA-RX on 25 and 587, and nothing else of the chain."""

import socket

import pytest

from harness import Stack
from harness.smtp import SMTPStatus, read_banner
from siteconfig.policy import Policy
from tests.conftest import needs_submission

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("port_name", ["smtp_port", "submission_port"])
def test_mta_rx_greets_with_a_220_banner_that_names_mta_rx(stack: Stack, policy: Policy, port_name: str) -> None:
    if port_name == "submission_port":
        needs_submission(policy)
    banner = read_banner(port=getattr(stack, port_name))
    assert banner.code == SMTPStatus.ready, banner
    assert ("MTA-RX" if stack.topology.name == "dual" else "Sendmail (milter)") in banner.text, banner


@pytest.mark.parametrize("port", [10024, 10025])
def test_amavis_and_mta_tx_ports_refuse_connections_from_outside_the_namespace(stack: Stack, port: int) -> None:
    address = stack.mx_address()
    # The namespace is reachable from here (MTA-RX answers on its address) ...
    with socket.create_connection((address, 25), timeout=10):
        pass
    # ... and inside it the port is in use, bound to loopback ...
    stack.exec("rx", ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"])
    # ... so from outside it is refused.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, port), timeout=10)
