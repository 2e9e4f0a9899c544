"""The preflight's reading of a message's trail: the first hop of the chain that is not
there is named (harness/preflight.py). Log lines as the daemons write them."""

from harness.preflight import HOPS, Trails, missing_hop

MID = "preflight.1@testbed.test"
RX = (f"sm-mta-rx[43]: 6AQ8xJcr000043: from=<someone@remote.example>, size=481, msgid=<{MID}>\n"
      "sm-mta-rx[44]: 6AQ8xJcr000043: to=<alice@testbed.example>, mailer=esmtp, relay=[127.0.0.1] [127.0.0.1], "
      "stat=Sent (6AQ8xJkn000044 Ok, id=00043-01, from MTA([127.0.0.1]:10025): "
      "250 2.0.0 Ok: queued as 6AQ8xJkq000050)\n")
AMAVIS = (f"amavis[43]: (00043-01) Passed CLEAN {{RelayedInbound}}, <someone@remote.example> -> "
          f"<alice@testbed.example>, Message-ID: <{MID}>\n")
TX = (f"sm-mta-tx[50]: 6AQ8xJkq000050: from=<someone@remote.example>, size=900, msgid=<{MID}>\n"
      "sm-mta-tx[51]: 6AQ8xJkq000050: to=<alice@testbed.example>, mailer=local, stat=Sent\n")


def test_a_message_through_every_hop_misses_none() -> None:
    assert missing_hop(Trails.of(MID, {"rx": RX, "amavis": AMAVIS, "tx": TX})) is None


def test_a_message_around_the_filter_misses_amavis() -> None:
    bypass = RX.replace("Ok, id=00043-01, from MTA([127.0.0.1]:10025): 250 2.0.0 Ok: queued as 6AQ8xJkq000050",
                        "Message accepted for delivery")
    tx = TX.replace("6AQ8xJkq000050", "6AQ8xJkn000044")
    assert missing_hop(Trails.of(MID, {"rx": bypass, "amavis": "", "tx": tx})) == HOPS[2][0]


def test_a_message_refused_by_the_next_hop_misses_the_hand_off() -> None:
    refused = (RX.splitlines()[0] + "\nsm-mta-rx[44]: 6AQ8xJcr000043: to=<alice@testbed.example>, dsn=5.3.5, "
               "stat=Local configuration error\n")
    assert missing_hop(Trails.of(MID, {"rx": refused, "amavis": "", "tx": ""})) == "MTA-RX handed it on (stat=Sent)"
