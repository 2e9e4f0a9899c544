"""make adopt's split of one .mc into the document's pair (siteconfig/adopt), on a .mc written
here: every statement placed by its rule, the document's own lines added, nothing dropped."""

from siteconfig.adopt.mc import read_mc
from siteconfig.adopt.pair import adopt_mc

SITE_MC = """divert(-1)
# a site's one sendmail, written for this test
divert(0)dnl
VERSIONID(`one instance')dnl
OSTYPE(`hpux9')dnl
define(`SMART_HOST', `relay.example.net')dnl
define(`confMAX_DAEMON_CHILDREN', `40')dnl
define(`confPRIVACY_FLAGS',dnl
`goaway')dnl
define(`confTO_QUEUEWARN', `8h')dnl
FEATURE(`access_db')dnl
FEATURE(`mailertable')dnl
FEATURE(`use_cw_file')dnl
QUEUE_GROUP(`mqueue', `P=/var/spool/mqueue, R=5, F=f')dnl
INPUT_MAIL_FILTER(`clamav', `S=local:/run/clamav/clamav-milter.ctl, F=T')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
MAILER(`uucp')dnl
Cw old-name.example
LOCAL_CONFIG
C{Friends} friend.example
LOCAL_RULE_0
R$* < @ old.example . > $*	$#smtp $@ new.example $: $1 < @ new.example . > $2
LOCAL_RULESETS
SLocal_check_mail
R$*	$: $1
"""


def _live(text: str) -> str:
    """The statements m4 runs: the text without dnl notes and comments."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(("dnl", "#")))


def test_reading_a_mc_loses_nothing_and_takes_calls_over_their_lines() -> None:
    statements = read_mc(SITE_MC)
    assert "".join(s.text for s in statements) == SITE_MC
    privacy = next(s for s in statements if s.kind == "call" and "confPRIVACY_FLAGS" in s.text)
    assert privacy.text.count("\n") == 2 and privacy.line == 8
    sections = [s.name for s in statements if s.kind == "section"]
    assert sections == ["LOCAL_CONFIG", "LOCAL_RULE_0", "LOCAL_RULESETS"]


def test_receiving_settings_and_limits_go_to_rx_delivering_ones_to_tx_general_ones_to_both() -> None:
    adopted = adopt_mc(SITE_MC)
    rx, tx = _live(adopted.rx), _live(adopted.tx)
    for receiving in ("FEATURE(`access_db')", "confMAX_DAEMON_CHILDREN', `40'", "INPUT_MAIL_FILTER(`clamav'",
                      "SLocal_check_mail", "`goaway'"):
        assert receiving in rx and receiving not in tx, receiving
    for delivering in ("FEATURE(`mailertable')", "confTO_QUEUEWARN", "relay.example.net", "$#smtp $@ new.example",
                       "MAILER(`uucp')", "P=/var/spool/mqueue, R=5"):
        assert delivering in tx and delivering not in rx, delivering
    for general in ("FEATURE(`use_cw_file')", "C{Friends}", "MAILER(`smtp')", "VERSIONID(`one instance')"):
        assert general in rx and general in tx, general
    assert "dnl [resource limit]" in adopted.rx and "dnl [resource limit]" not in adopted.tx


def test_the_documents_own_lines_take_their_places_and_the_sites_are_noted_there() -> None:
    adopted = adopt_mc(SITE_MC)
    rx, tx = _live(adopted.rx), _live(adopted.tx)
    assert "define(`SMART_HOST', `esmtp:[127.0.0.1]')" in rx and "define(`confDELIVERY_MODE', `q')" in rx
    assert "TCP $h 10024" in rx and "QUEUE_GROUP(`mqueue', `P=/var/spool/mqueue-rx, R=5" in rx  # the site's R=
    assert "Addr=127.0.0.1, Port=10025" in tx and "define(`confMAX_DAEMON_CHILDREN', `0')" in tx
    assert "dnl define(`SMART_HOST', `relay.example.net')" in adopted.rx  # kept as a note where replaced
    assert "Kaliasp" in rx  # the document's unknown-recipient rules
    # The document's lines come before the mailers, as cf.m4 needs.
    assert rx.index("ESMTP_MAILER_ARGS") < rx.index("MAILER(`smtp')")


def test_another_systems_ostype_runs_as_debian_and_an_unknown_line_is_kept_in_both_and_named() -> None:
    adopted = adopt_mc(SITE_MC)
    for text in (adopted.rx, adopted.tx):
        assert "OSTYPE(`debian')" in _live(text) and "dnl OSTYPE(`hpux9')" in text
        assert "Cw old-name.example" in _live(text)
    unknown = [d for d in adopted.decisions if not d.placement.understood]
    assert [d.line for d in unknown] == [19]


def test_no_statement_of_the_site_is_dropped() -> None:
    adopted = adopt_mc(SITE_MC)
    both = adopted.rx + adopted.tx
    for statement in read_mc(SITE_MC):
        if statement.kind in ("call", "section", "raw"):
            first = statement.text.splitlines()[0]
            assert first in both, first
