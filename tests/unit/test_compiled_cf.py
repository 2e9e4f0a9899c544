"""Reading a compiled sendmail .cf: options, queue groups, mailers, classes, DNSBLs. No Docker."""

import pytest

from siteconfig.compiled import parse_cf

# Lines as m4 writes them (MTA-RX's sendmail-rx.cf), with a hand-written class and a mailer
# of a site's own (MAILER_DEFINITIONS) among them.
EXCERPT = """\
#O MaxMessageSize=0
O MaxMessageSize=10485760
O DeliveryMode=q
O ForwardPath
Qmqueue, P=/var/spool/mqueue-rx, R=2, F=f
C{R}relayed.example
CRother.example third.example
Msmtp,		P=[IPC], F=mDFMuX, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		m=10, T=DNS/RFC822/SMTP,
		A=TCP $h
Mesmtp,		P=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		M=5000000, m=7, T=DNS/RFC822/SMTP,
		A=TCP $h 10024
Mmtatx,		P=[IPC], F=mDFMuXak, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		T=DNS/RFC822/SMTP,
		A=TCP $h 10025
R$-.$-.$-.$-		$: <?> $(dnsbl $4.$3.$2.$1.dnsbl.testbed.test. $: OK $)
R$-.$-.$-.$-		$: <?> $(ednsbl $4.$3.$2.$1.bl2.example. $: OK $)
"""


def test_options_are_read_with_their_lines_and_a_commented_one_is_not() -> None:
    cf = parse_cf(EXCERPT)
    assert cf.max_message_size == 10485760 and cf.options["MaxMessageSize"].line == 2
    assert cf.option("DeliveryMode") == "q" and cf.option("ForwardPath") == ""
    assert cf.option("QueueDirectory") is None
    assert parse_cf("#O MaxMessageSize=20\n").max_message_size == 0  # not set: no limit


def test_the_queue_group_gives_its_runners() -> None:
    group = parse_cf(EXCERPT).queue_groups["mqueue"]
    assert (group.number("R"), group.fields["P"], group.fields["F"], group.line) == (2, "/var/spool/mqueue-rx", "f", 5)


def test_mailers_give_their_size_limit_and_messages_per_connection_across_continuation_lines() -> None:
    cf = parse_cf(EXCERPT)
    assert (cf.mailers["smtp"].max_size, cf.maxmsgs("smtp")) == (0, 10)
    assert (cf.mailers["esmtp"].max_size, cf.maxmsgs("esmtp"), cf.mailers["esmtp"].line) == (5000000, 7, 11)
    assert cf.mailers["esmtp"].fields["A"] == "TCP $h 10024" and cf.mailers["esmtp"].fields["R"] == "EnvToSMTP"
    assert cf.mailers["mtatx"].fields["F"] == "mDFMuXak" and cf.maxmsgs("mtatx") == 0
    with pytest.raises(KeyError):
        cf.maxmsgs("local")


def test_relay_domain_classes_and_dnsbl_zones_are_read() -> None:
    cf = parse_cf(EXCERPT)
    assert [domain.value for domain in cf.classes["R"]] == ["relayed.example", "other.example", "third.example"]
    assert [(zone.value, zone.line) for zone in cf.dnsbl_zones] == [("dnsbl.testbed.test", 17), ("bl2.example", 18)]


def test_the_greeting_pause_is_read_from_its_ruleset() -> None:
    cf = parse_cf("Sgreet_pause\nR$*\t\t$: <$&{client_addr}>\nR<$*>\t\t$# 5000\nSother\nR$*\t$# 7\n")
    assert cf.greet_pauses == [5000] and cf.greet_pause == 5.0
    assert parse_cf("O DeliveryMode=q\n").greet_pause == 0
