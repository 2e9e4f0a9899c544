"""A duplicate is explained by the hop that logged the message twice and a fault that broke
a process there; anything else is "unexplained"."""

from harness.duplicates import duplicate_cause

MSGID = "loadgen-7.abc@testbed.test"
RX = (f"sm-mta-rx[20]: 6AQAAAAA000001: from=<a@t.example>, size=900, msgid=<{MSGID}>, relay=office\n"
      "sm-mta-rx[31]: 6AQAAAAA000001: to=<u@remote.example>, mailer=esmtp, stat=Deferred: Connection timed out\n"
      "sm-mta-rx[32]: 6AQAAAAA000001: to=<u@remote.example>, mailer=esmtp, stat=Sent (250 2.0.0 Ok)\n")
PASS = f"(00001-01) Passed CLEAN {{RelayedOutbound}}, <a@t.example> -> <u@remote.example>, Message-ID: <{MSGID}>\n"
TX_IN = f"sm-mta-tx[40]: 6AQBBBBB000002: from=<a@t.example>, size=950, msgid=<{MSGID}>, relay=localhost\n"


def test_two_passes_through_amavisd_new_are_explained_by_a_fault_at_or_after_mta_rx() -> None:
    logs = {"rx": RX, "amavis": PASS + PASS.replace("00001-01", "00002-01"), "tx": TX_IN + TX_IN}
    assert duplicate_cause(logs, MSGID, {"amavis"}) == (
        "MTA-RX sent it to amavisd-new again (after: Connection timed out)")
    assert duplicate_cause(logs, MSGID, {"rx"}).startswith("MTA-RX sent it to amavisd-new again")
    # MTA-TX died after taking it: amavisd-new answered MTA-RX 4xx, and MTA-RX sent it again.
    assert duplicate_cause(logs, MSGID, {"tx"}).startswith("MTA-RX sent it to amavisd-new again")
    assert duplicate_cause(logs, MSGID, {"clamd"}) == (
        "unexplained: MTA-RX sent it to amavisd-new again, but the fault broke clamd")


def test_one_pass_but_two_receptions_at_mta_tx_needs_a_fault_at_amavisd_new_or_mta_tx() -> None:
    logs = {"rx": "", "amavis": PASS, "tx": TX_IN + TX_IN}
    assert duplicate_cause(logs, MSGID, {"tx"}) == (
        "amavisd-new sent it to MTA-TX again (its first send was not recorded)")
    assert duplicate_cause(logs, MSGID, {"rx"}).startswith("unexplained")  # MTA-RX would show in two passes


def test_one_reception_at_mta_tx_is_a_second_delivery_by_mta_tx_or_nothing_logged() -> None:
    logs = {"rx": RX, "amavis": PASS, "tx": TX_IN}
    assert duplicate_cause(logs, MSGID, {"tx"}).startswith("MTA-TX delivered it again")
    assert duplicate_cause(logs, MSGID, {"rx"}).startswith("unexplained")
    assert duplicate_cause({"rx": "", "amavis": "", "tx": ""}, MSGID, {"rx"}) == (
        "unexplained: no daemon logged it twice")
