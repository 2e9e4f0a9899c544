"""Where each statement of a site's one .mc goes, by the document's rules (README.sendmail-dual,
"If you already have an existing sendmail installation"): settings about receiving mail, and
resource limits, to thishost-rx.mc; settings about delivering mail (locally or to other
mailers) to thishost-tx.mc; general settings to both. "The MTA-TX should have none or hardly
any resource limits", so a limit goes to MTA-RX only. Where the document sets a thing itself
(the hand-off to amavisd-new, queue-only delivery, MTA-TX's daemon), its line takes that place
and the site's goes where it still means something (its smart host now serves MTA-TX)."""

import re
from dataclasses import dataclass

from siteconfig.adopt.mc import Statement

__all__ = ["OBSOLETE_MAILERS", "Placement", "place"]

RECEIVING, DELIVERING, GENERAL, LIMIT = "receiving", "delivering", "general", "resource limit"


@dataclass(frozen=True)
class Placement:
    """rx, tx: whether the site's statement goes to each; rule: which rule put it there;
    why: a few words for the dnl note and the report. `replaced` names the role(s) where the
    document's own line stands instead (the site's is kept there as a dnl note)."""

    rx: bool
    tx: bool
    rule: str
    why: str
    replaced: tuple[str, ...] = ()
    understood: bool = True


def _to(role: str, rule: str, why: str, **extra: object) -> Placement:
    return Placement(role in ("rx", "both"), role in ("tx", "both"), rule, why, **extra)  # type: ignore[arg-type]


# FEATURE(name): receiving (MTA-RX), delivering (MTA-TX), else general (both).
FEATURES_RX = {
    "access_db": "who may relay and send, checked at SMTP time", "blacklist_recipients": "refuses recipients at RCPT",
    "blocklist_recipients": "refuses recipients at RCPT", "dnsbl": "DNS blocklist at connection time",
    "enhdnsbl": "DNS blocklist at connection time", "greet_pause": "SMTP greeting pause",
    "delay_checks": "order of the SMTP checks", "ratecontrol": "connection rates of SMTP clients",
    "conncontrol": "concurrent SMTP connections", "relay_hosts_only": "who may relay",
    "relay_entire_domain": "who may relay", "relay_based_on_MX": "who may relay",
    "relay_local_from": "who may relay", "relay_mail_from": "who may relay", "loose_relay_check": "who may relay",
    "promiscuous_relay": "who may relay", "accept_unresolvable_domains": "senders accepted at MAIL",
    "accept_unqualified_senders": "senders accepted at MAIL", "use_client_ptr": "SMTP checks",
    "badmx": "senders refused at MAIL", "block_bad_helo": "HELO checks", "require_rdns": "clients refused",
    "no_default_msa": "which daemons receive", "check_cert_altnames": "STARTTLS of clients",
    "tls_session_features": "STARTTLS of clients", "compat_check": "SMTP checks",
    "lookupdotdomain": "access map lookups", "virtuser_entire_domain": "recipients accepted at RCPT",
}
FEATURES_TX = {
    "mailertable": "routes to other mailers", "local_procmail": "the local mailer", "local_lmtp": "the local mailer",
    "smrsh": "the program mailer", "genericstable": "sender addresses rewritten on delivery",
    "generics_entire_domain": "sender addresses rewritten on delivery", "masquerade_envelope": "masquerading",
    "masquerade_entire_domain": "masquerading", "allmasquerade": "masquerading", "limited_masquerade": "masquerading",
    "local_no_masquerade": "masquerading", "always_add_domain": "addresses on delivery",
    "redirect": "bounces for .REDIRECT",
    "preserve_local_plus_detail": "the local mailer", "preserve_luser_host": "the local mailer",
    "nullclient": "delivery to one hub", "authinfo": "AUTH as a client", "msp": "a submission client",
    "queuegroup": "queue groups of delivery", "local_no_masquerade_envelope": "masquerading",
}
# define(`confX'): receiving settings, resource limits, delivering settings; the rest general.
DEFINES_RX = {
    "confSMTP_LOGIN_MSG", "confPRIVACY_FLAGS", "confAUTH_MECHANISMS", "confAUTH_OPTIONS", "confAUTH_REALM",
    "confSERVER_CERT", "confSERVER_KEY", "confTLS_SRV_OPTIONS", "confTO_IDENT", "confDAEMON_OPTIONS",
    "confMILTER_MACROS_CONNECT", "confMILTER_MACROS_HELO", "confMILTER_MACROS_ENVFROM",
    "confMILTER_MACROS_ENVRCPT", "confMILTER_MACROS_EOM", "confMILTER_MACROS_EOH", "confMILTER_MACROS_DATA",
    "confINPUT_MAIL_FILTERS", "confMILTER_LOG_LEVEL", "confREJECT_MSG", "confAUTH_MAX_BITS", "confDH_PARAMETERS",
    "confTO_COMMAND", "confTO_DATABLOCK", "confTO_DATAINIT", "confTO_HELO", "confTO_MAIL", "confTO_RCPT",
    "confTO_RSET", "confTO_STARTTLS", "confTO_AUTH", "confSMTP_UTF8", "confCHECK_ALIASES",
}
LIMITS = {
    "confMAX_DAEMON_CHILDREN", "confCONNECTION_RATE_THROTTLE", "confCONNECTION_RATE_WINDOW_SIZE",
    "confMAX_MESSAGE_SIZE", "confMIN_FREE_BLOCKS", "confQUEUE_LA", "confREFUSE_LA", "confDELAY_LA",
    "confMAX_HEADERS_LENGTH", "confMAX_MIME_HEADER_LENGTH", "confMAX_RCPTS_PER_MESSAGE", "confBAD_RCPT_THROTTLE",
    "confMAX_NOOP_COMMANDS", "confMAX_ALIAS_RECURSION", "confMAX_HOP",
}
DEFINES_TX = {
    "SMART_HOST", "MAIL_HUB", "LOCAL_RELAY", "confFORWARD_PATH", "ALIAS_FILE", "confCLIENT_CERT", "confCLIENT_KEY",
    "confTLS_CLI_OPTIONS", "confTO_CONNECT", "confTO_ICONNECT", "confTO_INITIAL", "confTO_ACONNECT",
    "confTO_QUEUEWARN", "confTO_QUEUERETURN", "confTO_QUEUEWARN_NORMAL", "confTO_QUEUERETURN_NORMAL",
    "confTO_QUEUEWARN_URGENT", "confTO_QUEUERETURN_URGENT", "confTO_QUEUEWARN_NON_URGENT",
    "confTO_QUEUERETURN_NON_URGENT", "confTO_HOSTSTATUS", "confTO_MISC", "confTO_QUIT", "confTO_FILEOPEN",
    "confHOST_STATUS_DIRECTORY", "confSINGLE_THREAD_DELIVERY", "confMCI_CACHE_SIZE", "confMCI_CACHE_TIMEOUT",
    "confMIN_QUEUE_AGE", "confMAX_QUEUE_CHILDREN", "confMAX_RUNNERS_PER_QUEUE", "confFAST_SPLIT",
    "confMAX_QUEUE_RUN_SIZE", "confQUEUE_SORT_ORDER", "confWORK_RECIPIENT_FACTOR", "confWORK_CLASS_FACTOR",
    "confWORK_TIME_FACTOR", "confRETRY_FACTOR", "confDEF_USER_ID", "confUSERDB_SPEC", "confDONT_INIT_GROUPS",
    "confMAILER_NAME", "confRELAY_MAILER", "confFALLBACK_MX", "confFALLBACK_SMARTHOST", "confDIAL_DELAY",
    "confTRY_NULL_MX_LIST", "confNO_RCPT_ACTION", "confSEPARATE_PROC", "confDELIVER_BY_MIN",
    "confCONNECT_ONLY_TO", "confCLIENT_OPTIONS", "MCI_CACHE_SIZE",
}
_MAILER_SETTING = re.compile(r"^(LOCAL|SMTP|ESMTP|SMTP8|DSMTP|RELAY|PROCMAIL|CYRUS|CYRUSV2|UUCP|USENET|FAX|POP|QPAGE|"
                             r"PH|MAIL11|LMTP)_MAILER_")
# The document sets these itself; the site's value goes where it still means something.
DOCUMENT_RX = {"SMART_HOST", "MAIL_HUB", "LOCAL_RELAY", "confDELIVERY_MODE", "QUEUE_DIR", "confRUN_AS_USER",
               "ESMTP_MAILER_ARGS", "SMTP_MAILER_ARGS", "SMTP_MAILER_MAXMSGS", "confTO_DATAFINAL", "ALIAS_FILE",
               "confFORWARD_PATH", "UUCP_RELAY", "BITNET_RELAY", "DECNET_RELAY", "confPID_FILE", "STATUS_FILE"}
# Mailers of old networks and programs this machine lacks: kept on MTA-TX, named in the report.
OBSOLETE_MAILERS = {
    "uucp": "UUCP (no uux on this machine: mail routed to it stays in MTA-TX's queue)",
    "bitnet": "BITNET (gone since the 1990s)", "mail11": "DECnet mail-11 (no mail11 program here)",
    "usenet": "news gateway (no inews here)", "fax": "HylaFAX (no faxmail here)", "pop": "POP mailer (no pop here)",
    "phquery": "ph directory lookups (no phquery here)", "qpage": "QuickPage (no qpage here)",
    "cyrus": "Cyrus deliver (the mailer's program is not on this machine)",
}
# Relays of networks long gone, whether the .mc or its DOMAIN() file names them.
OBSOLETE_RELAYS = {"UUCP_RELAY": "UUCP", "BITNET_RELAY": "BITNET", "DECNET_RELAY": "DECnet", "FAX_RELAY": "fax"}


def _define(name: str, args: list[str]) -> Placement:
    if name in OBSOLETE_RELAYS:
        return _to("tx", DELIVERING, f"{OBSOLETE_RELAYS[name]} relay: a network long gone; MTA-RX undefines it "
                   "(the document)", replaced=("rx",))
    if name in DOCUMENT_RX and name in DEFINES_TX | {"confDELIVERY_MODE"}:
        return _to("tx", DELIVERING, "delivery by MTA-TX; on MTA-RX the document's own line stands", replaced=("rx",))
    if name in DOCUMENT_RX:
        return _to("tx", DELIVERING, "the document sets it on MTA-RX; MTA-TX keeps the site's", replaced=("rx",))
    if name in LIMITS:
        return _to("rx", LIMIT, "a resource limit: MTA-RX; MTA-TX has none or larger (the document)")
    if name in DEFINES_RX:
        return _to("rx", RECEIVING, "how mail is received")
    if name in DEFINES_TX or _MAILER_SETTING.match(name):
        return _to("tx", DELIVERING, "how mail is delivered")
    return _to("both", GENERAL, "a general setting")


def place(statement: Statement) -> Placement:
    """Where the site's statement goes, and by which rule."""
    name, args = statement.name, statement.args
    first = args[0] if args else ""
    if statement.kind in ("comment", "divert"):
        return _to("both", GENERAL, "a comment")
    if statement.kind == "raw":
        return Placement(True, True, GENERAL, "not understood (raw .cf text outside a section): kept as written "
                         "in both", understood=False)
    if statement.kind == "section":
        if name == "LOCAL_RULE_0" or name == "LOCAL_NET_CONFIG":
            return _to("tx", DELIVERING, "ruleset 0 picks the mailer: delivery, MTA-TX")
        if name == "LOCAL_RULESETS":
            return _to("rx", RECEIVING, "check rulesets and header checks: at SMTP time, MTA-RX")
        if name.startswith("LOCAL_TLS") or name in ("LOCAL_STARTTLS", "LOCAL_TRY_TLS", "LOCAL_SRV_FEATURES"):
            return _to("both", GENERAL, "TLS and server features: both")
        return _to("both", GENERAL, "classes, macros and maps the rules of both read")
    if name in ("VERSIONID", "OSTYPE", "DOMAIN", "include", "MAILER_DEFINITIONS", "HACK", "undefine",
                "CANONIFY_DOMAIN", "CANONIFY_DOMAIN_FILE", "LOCAL_DOMAIN", "LOCAL_USER", "EXPOSED_USER_FILE"):
        if name == "undefine" and first in DOCUMENT_RX | set(OBSOLETE_RELAYS):
            return _to("both", GENERAL, "a relay or file undefined")
        return _to("both", GENERAL, "general: both instances")
    if name == "FEATURE":
        feature = first.strip("`'")
        if feature == "nocanonify":  # the document gives MTA-TX its own, plain one
            return _to("rx", RECEIVING, "how names in mail received are canonified; MTA-TX has the document's "
                       "nocanonify", replaced=("tx",))
        if feature in FEATURES_RX:
            return _to("rx", RECEIVING, FEATURES_RX[feature])
        if feature in FEATURES_TX:
            return _to("tx", DELIVERING, FEATURES_TX[feature])
        return _to("both", GENERAL, "a general feature")
    if name in ("define", "undefine"):
        return _define(first.strip("`'"), args)
    if name in ("MASQUERADE_AS", "MASQUERADE_DOMAIN", "MASQUERADE_DOMAIN_FILE", "MASQUERADE_EXCEPTION",
                "MASQUERADE_EXCEPTION_FILE", "EXPOSED_USER", "GENERICS_DOMAIN", "GENERICS_DOMAIN_FILE"):
        return _to("tx", DELIVERING, "addresses rewritten on delivery")
    if name in ("RELAY_DOMAIN", "RELAY_DOMAIN_FILE", "TRUST_AUTH_MECH", "DAEMON_OPTIONS", "INPUT_MAIL_FILTER",
                "MAIL_FILTER", "LOCAL_SRV_FEATURES"):
        replaced = ("tx",) if name == "DAEMON_OPTIONS" else ()
        return _to("rx", RECEIVING, "how mail is received" + ("; MTA-TX listens where the document says"
                                                              if replaced else ""), replaced=replaced)
    if name in ("CLIENT_OPTIONS", "QUEUE_GROUP"):
        return _to("tx", DELIVERING, "how queued mail is delivered" if name == "QUEUE_GROUP" else "client side")
    if name == "MAILER":
        mailer = first.strip("`'")
        if mailer in OBSOLETE_MAILERS:
            return _to("tx", DELIVERING, f"a mailer of {OBSOLETE_MAILERS[mailer]}")
        return _to("both" if mailer in ("smtp", "local") else "tx", DELIVERING if mailer not in ("smtp", "local")
                   else GENERAL, "a mailer" + (": both need it" if mailer in ("smtp", "local") else ""))
    if name in ("SITECONFIG", "UUCPSMTP"):
        return _to("tx", DELIVERING, "UUCP host tables (cf/siteconfig is not shipped any more)")
    return Placement(True, True, GENERAL, f"not understood ({name}): kept as written in both", understood=False)
