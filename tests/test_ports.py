"""What the chain exposes: MTA-RX's SMTP daemon and MSA (25 and 587 in the sample), and nothing
else of the chain."""

import socket

import pytest

from harness import Stack
from harness.smtp import SMTPStatus, read_banner
from siteconfig.policy import Policy
from siteconfig.shape import SiteShape
from tests.conftest import needs_submission

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("port_name", ["smtp_port", "submission_port"])
def test_mta_rx_greets_with_a_220_banner_that_shows_its_greeting(stack: Stack, policy: Policy, shape: SiteShape,
                                                                 port_name: str) -> None:
    if port_name == "submission_port":
        needs_submission(policy)
    banner = read_banner(port=getattr(stack, port_name))
    assert banner.code == SMTPStatus.ready, banner
    # The words of the site's own SmtpGreetingMessage (e.g. "MTA-RX Sendmail" in the sample's)
    missing = [word for word in shape.greeting_words if word not in banner.text]
    assert not missing, f"the banner lacks {missing} of the .cf's greeting {shape.rx.greeting!r}: {banner}"


def test_amavis_and_mta_tx_ports_refuse_connections_from_outside_the_namespace(stack: Stack, shape: SiteShape,
                                                                             internal_port: int) -> None:
    port = internal_port
    address = stack.mx_address()
    smtp = shape.rx.smtp
    assert smtp is not None, shape.rx
    # The namespace is reachable from here (MTA-RX answers on its address) ...
    with socket.create_connection((address, smtp.port), timeout=10):
        pass
    # ... and inside it the port is in use, bound to loopback ...
    stack.exec("rx", ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"])
    # ... so from outside it is refused.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, port), timeout=10)
