"""The shared network namespace: any daemon restarts alone, the others keep running."""

import pytest

from harness import Stack, make_message, message_id_of, send_message
from tests.conftest import OUTSIDE_SENDER, People, not_applicable_unless

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.mark.parametrize("service", ["rx", "amavis", "tx", "milter"])
def test_a_daemon_restarted_alone_leaves_the_others_running_and_mail_flows_again(
    stack: Stack, people: People, service: str
) -> None:
    # The roles rx and tx name the one "mta" container in the milter topology: restarted once.
    not_applicable_unless(stack.topology.service(service) in stack.topology.daemons and
                          not (service == "tx" and stack.topology.service("tx") == stack.topology.service("rx")),
                          f"the {stack.topology.name} topology has no {service} of its own")
    service = stack.topology.service(service)
    others = [s for s in stack.topology.daemons if s != service]
    before = {s: stack.started_at(s) for s in others}
    restarted_before = stack.started_at(service)

    stack.restart(service)

    assert stack.started_at(service) != restarted_before
    assert {s: stack.started_at(s) for s in others} == before, "another daemon was restarted too"
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag=f"after-{service}-restart")
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    stack.tx.wait_for_mailbox(people.reader, message_id_of(message))
