"""The document's own lines for each instance (README.sendmail-dual, "Create file thishost-rx.mc"
and "thishost-tx.mc"), written into an adopted pair before its mailers: MTA-RX queues only
and hands everything to amavisd-new on 127.0.0.1:10024 under its own pid file, status file
and queue; MTA-TX listens on 127.0.0.1:10025 only, with nocanonify and no resource limits to
speak of. Each line is (its text, why), the why becoming its dnl note."""

from siteconfig.layout import SAMPLE

__all__ = ["rx_check_rcpt", "rx_lines", "tx_lines"]

RX_QUEUE = "/var/spool/mqueue-rx"


def rx_lines(runners: int) -> list[tuple[str, str]]:
    """MTA-RX's lines; R= is the site's own where its .mc sets one (else the document's 2),
    and the testbed matches amavisd-new's $max_servers to it."""
    return [
        ("define(`confDELIVERY_MODE', `q')", "queue only (a must)"),
        ("define(`MAIL_HUB', `esmtp:[127.0.0.1]')", "all local mail to amavisd-new"),
        ("define(`SMART_HOST', `esmtp:[127.0.0.1]')", "all other mail to amavisd-new"),
        ("define(`LOCAL_RELAY', `esmtp:[127.0.0.1]')", "unqualified names too"),
        ("define(`ESMTP_MAILER_ARGS', `TCP $h 10024')", "amavisd-new's port instead of 25"),
        ("define(`SMTP_MAILER_MAXMSGS', `10')", "messages per connection"),
        ("define(`confTO_DATAFINAL', `20m')", "time for content checking"),
        ("define(`confMIN_FREE_BLOCKS', `10000')", "above MTA-TX's: a full disk stops intake first"),
        ("define(`confRUN_AS_USER', `smmsp:smmsp')", "drop privileges (the document's security note)"),
        ("define(`confPID_FILE', `/var/run/sendmail-rx.pid')", "its own pid file"),
        ("define(`STATUS_FILE', `/etc/mail/stat-rx')", "its own status file"),
        (f"define(`QUEUE_DIR', `{RX_QUEUE}')", "its own queue"),
        (f"QUEUE_GROUP(`mqueue', `P={RX_QUEUE}, R={runners}, F=f')", "queue runners, one per amavisd-new child"),
        ("FEATURE(`stickyhost')", "keeps u@local.host when forwarding to MAIL_HUB"),
        ("undefine(`ALIAS_FILE')", "no aliases: MTA-TX expands them"),
        ("define(`confFORWARD_PATH')", "no .forward files: MTA-TX reads them"),
        ("undefine(`UUCP_RELAY')", "no relays of old networks"),
        ("undefine(`BITNET_RELAY')", "no relays of old networks"),
        ("undefine(`DECNET_RELAY')", "no relays of old networks"),
    ]


def tx_lines() -> list[tuple[str, str]]:
    return [
        ("define(`confREFUSE_LA', `999')", "limits belong to MTA-RX"),
        ("define(`confMAX_DAEMON_CHILDREN', `0')", "limits belong to MTA-RX"),
        ("define(`confMIN_FREE_BLOCKS', `100')", "below MTA-RX's"),
        ("FEATURE(`no_default_msa')", "MTA-RX has the MSA"),
        ("FEATURE(`nocanonify')", "names are canonical by now (header processing would be very long)"),
        ("DAEMON_OPTIONS(`Addr=127.0.0.1, Port=10025, Name=MTA-TX')", "loopback port 10025 only"),
    ]


def rx_check_rcpt() -> str:
    """Matej Vela's rules from the document, as the sample's MTA-RX has them (its LOCAL_CONFIG
    and LOCAL_RULESETS): MTA-RX refuses unknown local recipients at RCPT, by the aliases file
    MTA-TX uses and the system's users."""
    sample = (SAMPLE / "rx" / "thishost-rx.mc").read_text()
    return sample[sample.index("\nLOCAL_CONFIG") + 1:]
