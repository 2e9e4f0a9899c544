"""The site's own milters that Debian packages (images/common/milter-packages): each one its
.mc calls runs beside the sendmail that calls it, as the package ships it, and acts on a
message from outside: the mark the package's shipped configuration leaves in the delivered
message, or its line in the container's log. One row per package, in either topology (make adopt
gives the milter topology's one sendmail the site's milters too), not applicable where the
site calls none; lint names the milters the testbed does not run (siteconfig/check/absent.py)."""

import re

import pytest

from harness import Stack, make_message, message_id_of, send_message
from siteconfig.check.absent import milter_packages
from siteconfig.compiled import chain_cfs
from tests.conftest import OUTSIDE_SENDER, People, not_applicable_unless

pytestmark = pytest.mark.chain

PACKAGES = [package for package, _ in milter_packages()]
# What each package, as shipped, leaves on a clean message: a header of the delivered copy
# (name, pattern), or a line it logs (pattern, with {msgid} or {queue_id} of its MTA's hop).
MARKS: dict[str, tuple[str, str]] = {
    "clamav-milter": ("X-Virus-Status", r"^Clean"),  # AddHeader Replace (Debian's debconf default)
    "milter-greylist": ("X-Greylist", r"milter-greylist"),  # greylist.conf's racl ... addheader
    "opendmarc": ("Authentication-Results", r"\bdmarc="),
    "spamass-milter": ("log", r"spamd: result: .*mid=<{msgid}>"),  # amavisd-new drops X-Spam-* headers
    "opendkim": ("log", r"opendkim\[\d+\]: {queue_id}: no signature data"),  # LogWhy (set by the testbed)
}
_RECEIVED_ID = re.compile(r"with E?SMTP id ([0-9A-Za-z]{14})")


def _called(stack: Stack, package: str) -> list[tuple[str, str, str]]:
    """(role, filter name, socket) of each milter of this package the running sendmails call,
    as the images' site-milters lists them from the .cf files they run."""
    called = []
    for role, (_, cf) in chain_cfs().items():  # MTA-RX and MTA-TX, or the milter topology's one sendmail
        for line in stack.exec(role, ["/usr/local/lib/testbed/site-milters", "list", cf]).splitlines():
            name, listed, socket = line.split()
            if listed == package:
                called.append((role, name, socket))
    return called


@pytest.mark.parametrize("package", PACKAGES)
def test_a_site_milter_debian_packages_runs_beside_its_sendmail_and_acts_on_mail(
    stack: Stack, people: People, package: str
) -> None:
    called = _called(stack, package)
    not_applicable_unless(bool(called), f"the site's .mc files call no milter that Debian's {package} serves")
    rcpt = people.address(people.reader)
    message = make_message(sender=OUTSIDE_SENDER, to=rcpt, tag=f"site-milter-{package}")
    msgid = message_id_of(message)
    result = send_message(message, port=stack.smtp_port, mail_from=OUTSIDE_SENDER, rcpt_to=[rcpt])
    assert result.accepted, result
    delivered = stack.tx.wait_for_mailbox(people.reader, msgid)
    hops = [str(hop) for hop in delivered.get_all("Received")]
    tx_id = _RECEIVED_ID.search(hops[0])
    queue_ids = {"rx": result.queue_id, "tx": tx_id.group(1) if tx_id else "?", "mta": result.queue_id}
    where, pattern = MARKS[package]
    for role, name, socket in called:
        log = stack.logs(role)
        lines = "\n".join(line for line in log.splitlines() if re.search(package.split("-")[0], line, re.I))
        evidence = f"{name} ({socket}) at {role}:\n{result}\n{stack.trail(msgid)}\n{lines[-3000:]}\n{delivered}"[:9000]
        assert re.search(rf"site-milters: {re.escape(name)}: {re.escape(package)} listening on", log), evidence
        if where == "log":
            wanted = pattern.format(msgid=re.escape(msgid), queue_id=queue_ids[role])
            assert re.search(wanted, log), evidence
        else:
            assert any(re.search(pattern, str(value)) for value in delivered.get_all(where, [])), evidence
