"""follow(): a message's lines through RX, amavisd-new and TX, by Message-ID and queue IDs."""

from harness.trail import follow

MSGID = "local.abc@testbed.test"
LOGS = {
    "rx": "\n".join([
        f"mail sm-mta-rx[40]: 6APDVeH4000039: from=<s@remote.example>, size=453, msgid=<{MSGID}>, daemon=MTA-RX",
        "mail sm-mta-rx[41]: 6APDVeH4000039: to=<alice@testbed.example>, stat=Sent (6APDVepT000046 Message accepted)",
        "mail sm-mta-rx[42]: 6APDVeZZ000050: from=<other@remote.example>, msgid=<other@testbed.test>",
    ]),
    "amavis": "\n".join([
        "<6>(00025-04-2) Checking: TQqP9MTdNeb8 [127.0.0.1] <s@remote.example> -> <alice@testbed.example>",
        f"<5>(00025-04-2) Passed CLEAN {{RelayedInbound}}, Message-ID: <{MSGID}>, queued_as: 6APDVepT000046",
        "<6>(00026-01) Checking: other",
    ]),
    "tx": "\n".join([
        f"mail sm-mta-tx[73]: 6APDVepT000046: from=<s@remote.example>, msgid=<{MSGID}>, daemon=MTA-TX",
        "mail sm-mta-tx[74]: 6APDVepT000046: to=<alice@testbed.example>, mailer=local, stat=Sent",
        "mail sm-mta-tx[75]: 6APDVeQQ000077: to=<bob@testbed.example>, stat=Sent",
    ]),
}


def test_collects_every_line_of_the_message_and_none_of_others() -> None:
    trail = follow(MSGID, LOGS)
    assert trail.count("6APDVeH4000039") == 2
    assert "Checking: TQqP9MTdNeb8" in trail  # by amavisd-new's log ID, not the Message-ID
    assert "mailer=local, stat=Sent" in trail  # by MTA-TX's queue ID
    for foreign in ("6APDVeZZ000050", "00026-01", "6APDVeQQ000077"):
        assert foreign not in trail


def test_says_so_when_a_daemon_never_saw_the_message() -> None:
    trail = follow("never@testbed.test", LOGS)
    assert trail.count("(nothing)") == 3
