"""The site's own milters: those Debian packages the testbed runs beside the sendmail that
calls them, as the packages ship them (images/common/milter-packages, images/common/site-milters);
the rest it does not run, and sendmail's F= flags say what happens without them, and so what
lint does:

  no F=   sendmail goes on without the milter: the mail is not checked by it. A note: the
          chain runs, and the run's report says which of the site's checks did not happen;
  F=T     every message is tempfailed (4xx) while the milter is missing;
  F=R     every message is rejected (5xx): the chain cannot pass mail, so lint refuses it.

The testbed's own OpenDKIM milters (rx/opendkim.conf, tx/opendkim.conf) are not the site's.
"""

import re

from siteconfig.check.context import Context, Finding
from siteconfig.configfiles import mc_line
from siteconfig.layout import REPO

__all__ = ["absent_milters", "milter_packages", "packaged_milter"]

# The milters the testbed runs (the images read the same table): package, then a pattern
# matched against the filter's name and socket.
PACKAGES = REPO / "images" / "common" / "milter-packages"


def milter_packages() -> list[tuple[str, str]]:
    """(package, pattern) of each line of the table, in its order."""
    return [(line.split(None, 1)[0], line.split(None, 1)[1].strip()) for line in PACKAGES.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def packaged_milter(name: str, socket: str) -> str | None:
    """The Debian package the testbed runs for this INPUT_MAIL_FILTER, or None."""
    return next((package for package, pattern in milter_packages()
                 if re.search(pattern, f"{name} {socket}", re.IGNORECASE)), None)


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
            package = packaged_milter(milter.name, socket)
            if package:
                notes.append(Finding(*where, f"the milter {milter.name} ({socket}) is run by the testbed from Debian's "
                                     f"package {package}, with the configuration the package ships (the socket set "
                                     "to this one" + ("; verifying only: the site's keys are not in its folder"
                                                      if package == "opendkim" else "") + ")"))
                continue
            what = (f"the milter {milter.name} ({socket or 'no socket'}) is not run by the testbed "
                    "(no Debian package of it)")
            if "R" in flags or "T" in flags:
                does = "rejects (5xx)" if "R" in flags else "tempfails (4xx)"
                refusals.append(Finding(*where, f"{what}: with F={flags} sendmail {does} every message while it is "
                                        "missing, so the chain cannot pass mail in the testbed"))
            else:
                notes.append(Finding(*where, f"{what}: with no F= flag sendmail goes on without it, so the mail is "
                                     "not checked by it in this run (everything else is)"))
    return refusals, notes
