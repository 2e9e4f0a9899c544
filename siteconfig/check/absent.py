"""What the site's files need and the testbed does not run: a milter other than the testbed's
own OpenDKIM milters (rx/opendkim.conf, tx/opendkim.conf; the milter topology's
amavisd-milter). sendmail's F= flags say what happens without it, and so what lint does:

  no F=   sendmail goes on without the milter: the mail is not checked by it. A note: the
          chain runs, and the run's report says which of the site's checks did not happen;
  F=T     every message is tempfailed (4xx) while the milter is missing;
  F=R     every message is rejected (5xx): the chain cannot pass mail, so lint refuses it.
"""

import re

from siteconfig.check.context import Context, Finding, mc_line

__all__ = ["absent_milters"]

# Debian packages of milters a site may name (its INPUT_MAIL_FILTER name -> package): what to
# install on the real host; the testbed runs only the DKIM milters and amavisd-milter.
PACKAGED = {"milter-greylist": "milter-greylist", "spamass-milter": "spamass-milter", "clamav-milter": "clamav-milter",
            "opendmarc": "opendmarc", "opendkim": "opendkim", "amavisd-milter": "amavisd-milter"}


def _normal(socket: str) -> str:
    """A milter socket as sendmail and OpenDKIM both write it: unix: is local:."""
    return re.sub(r"^unix:", "local:", socket.strip())


def _served(ctx: Context) -> set[str]:
    """The milter sockets the testbed's own milters listen on (OpenDKIM's Socket lines;
    the milter topology's amavisd-milter is the testbed's wiring of its own .mc)."""
    sockets = set()
    for rel in ("rx/opendkim.conf", "tx/opendkim.conf"):
        for _, entry in ctx.files.entries(rel):
            if match := re.match(r"Socket\s+(\S+)", entry):
                sockets.add(_normal(match.group(1)))
    return sockets


def absent_milters(ctx: Context) -> tuple[list[Finding], list[Finding]]:
    """(refusals, notes): each milter a sendmail of the chain calls that the testbed does not
    run, named at its INPUT_MAIL_FILTER line, with what sendmail does without it."""
    refusals, notes, served = [], [], _served(ctx)
    for role in ("rx", "tx"):
        cf = ctx.compiled.get(role)
        if cf is None or ctx.files.roles:  # the milter topology's one .mc is the testbed's own
            continue
        for milter in cf.input_filters:
            socket = _normal(milter.fields.get("S", ""))
            if socket in served:
                continue
            where = ctx.in_cf(role, mc_line(ctx.files.mc(role), rf"INPUT_MAIL_FILTER\(\s*`?{re.escape(milter.name)}'?"),
                              milter.line)
            flags = milter.fields.get("F", "")
            package = PACKAGED.get(milter.name)
            what = (f"the milter {milter.name} ({socket or 'no socket'}) is not run by the testbed"
                    + (f" (Debian packages it as {package}; the testbed does not run it yet)" if package else ""))
            if "R" in flags or "T" in flags:
                does = "rejects (5xx)" if "R" in flags else "tempfails (4xx)"
                refusals.append(Finding(*where, f"{what}: with F={flags} sendmail {does} every message while it is "
                                        "missing, so the chain cannot pass mail; test without this milter in a copy "
                                        "of the .mc made for the testbed, or with its F= flag removed there"))
            else:
                notes.append(Finding(*where, f"{what}: with no F= flag sendmail goes on without it, so the mail is "
                                     "not checked by it in this run (everything else is)"))
    return refusals, notes
