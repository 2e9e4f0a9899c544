"""The policy of a configuration folder: what the suite expects of the chain built from it
(local domains, users, relaying, limits, content destinies). Read from policy.toml and
validated, so a typo or a wrong type is an error that names the setting, not a test that
quietly checks the wrong thing."""

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siteconfig.errors import PolicyError
from siteconfig.layout import SAMPLE
from siteconfig.run_settings import QUEUE_RUNNERS, WORKERS

__all__ = ["REMOTE_DOMAIN", "Milter", "Policy", "PolicyError", "current_policy", "line_of", "load_policy"]

# Not part of any policy: a domain that is not local anywhere, so MTA-TX relays its mail to
# the sink ("the Internet").
REMOTE_DOMAIN = "remote.example"
SAMPLE_POLICY = SAMPLE / "policy.toml"
Destiny = Literal["pass", "discard", "bounce", "reject"]
# A DNS name: labels of letters, digits and hyphens, dot-separated (a trailing dot allowed).
DomainName = Annotated[str, Field(pattern=r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}\.?$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Domains(_Section):
    local: list[str] = Field(min_length=1)
    # The domain local recipients carry beyond MTA-RX, if it rewrites them: a virtusertable
    # that maps to bare user names sends them to MAIL_HUB as user@[127.0.0.1] (the
    # document's NOTES). Empty: they keep their own domain.
    rewritten_to: str = ""


class Users(_Section):
    existing: list[str] = Field(min_length=1)
    nonexistent: list[str] = Field(default_factory=list)
    unknown_reply: str = Field(pattern=r"^[45]\d\d [245]\.\d{1,3}\.\d{1,3}$")


class Relay(_Section):
    lan: bool = True  # MTA-RX relays for the trusted LAN (the "office" container)
    domains: list[str] = Field(default_factory=list)  # relayed to from anywhere (access "To:" RELAY)
    # Clients MTA-RX relays for besides loopback and the LAN client: access-map keys
    # ("Connect:192.0.2.7", "192.0.2" for a network, host names), as the access map writes them.
    clients: list[str] = Field(default_factory=list)


class Limits(_Section):
    max_message_size: int = Field(ge=0)  # 0: no limit
    # Within what a run may ask for (siteconfig/run_settings.py): what the images accept.
    queue_runners: int = Field(ge=QUEUE_RUNNERS.fewest, le=QUEUE_RUNNERS.most)
    max_servers: int = Field(ge=WORKERS.fewest, le=WORKERS.most)
    runners_may_differ: bool = False


class Submission(_Section):
    enabled: bool = True
    login: str = ""
    password: str = ""


class Content(_Section):
    checked: bool = True
    unchecked_domains: list[str] = Field(default_factory=list)
    virus: Destiny = "discard"
    banned: Destiny = "bounce"
    spam: Destiny = "discard"
    bad_header: Destiny = "pass"
    scanner_failure: Literal["tempfail", "pass"] = "tempfail"  # all virus scanners down
    spam_lovers: list[str] = Field(default_factory=list)
    admin: str = "admin"


class Capacity(_Section):
    # msg/s the site carries at its busiest: the capacity sweep offers it to every point to
    # compare latency. 0: 70% of the lowest capacity the sweep measures.
    production_rate: float = Field(default=0, ge=0)


class Dns(_Section):
    # SpamAssassin's network tests (DNSBL, URIBL, ...) against the testbed's DNS: amavisd-new's
    # $sa_local_tests_only = 0. The capacity sweep's `sa-network` variant turns them on for a run.
    sa_network_tests: bool = False
    # MTA-RX refuses clients listed in this DNSBL zone (sendmail's FEATURE(`dnsbl')); empty: none.
    rx_dnsbl: DomainName | Literal[""] = ""
    # Remote domains given an MX to the sink, besides remote.example and the relay domains.
    remote_domains: list[DomainName] = Field(default_factory=list)



class Dkim(_Section):
    # Domains whose mail MTA-TX signs on its way to remote domains (OpenDKIM milter, tx/
    # opendkim.conf); empty: MTA-TX signs nothing and has no milter.
    signing_domains: list[DomainName] = Field(default_factory=list)
    # The key's name: its record is published as <selector>._domainkey.<domain>.
    selector: str = Field(default="testbed", pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
    sign_local: bool = False  # local-to-local mail signed too (it never leaves the site)
    rx_verifies: bool = False  # MTA-RX verifies signatures (OpenDKIM milter, rx/opendkim.conf)
    # With a DKIM milter down: "tempfail" (sendmail's F=T: mail waits, nothing leaves
    # unsigned or comes in unchecked) or "pass" (F= empty: mail goes on without it).
    on_milter_failure: Literal["tempfail", "pass"] = "tempfail"


class Milter(_Section):
    """What the milter topology (TOPOLOGY=milter) does where the dual chain differs: its
    final destinies (milter/amavis/ snippets). "reject": a 5xx to the client at the end of
    DATA, the point of the milter setup."""

    virus: Destiny = "reject"
    banned: Destiny = "reject"
    spam: Destiny = "reject"


class Derivation(_Section):
    """Present when the testbed derived the policy (the folder has no policy.toml)."""

    source: str  # the configuration folder it was derived from
    # "section.key: why" for each expectation the configuration does not state; the tests
    # that need one report themselves not applicable, saying so.
    unstated: list[str] = Field(default_factory=list)


class Policy(_Section):
    derived: Derivation | None = None
    domains: Domains
    users: Users
    relay: Relay = Relay()
    limits: Limits
    submission: Submission = Submission()
    content: Content = Content()
    capacity: Capacity = Capacity()
    dns: Dns = Dns()
    # Not stated: DKIM is neither checked by lint nor tested (a site's own .mc files may predate
    # it); the keys still follow tx/opendkim.conf.
    dkim: Dkim | None = None
    milter: Milter = Milter()

    def for_topology(self, topology: str) -> "Policy":
        """The policy as the chain of that topology keeps it: in the milter topology the
        destinies are [milter]'s, and there is no DKIM milter (it is tested on the dual chain)."""
        if topology not in ("dual", "milter"):
            raise ValueError(f"the topology must be dual or milter, got {topology!r}")
        if topology == "dual":
            return self
        content = self.content.model_copy(update=self.milter.model_dump())
        return self.model_copy(update={"content": content, "dkim": None})

    @property
    def local_domain(self) -> str:
        return self.domains.local[0]

    def address(self, local_part: str) -> str:
        return f"{local_part}@{self.local_domain}"

    @property
    def submission_login(self) -> tuple[str, str]:
        return self.submission.login, self.submission.password

    @property
    def mailboxes(self) -> list[str]:
        """Users with a mailbox that get only what passes the checks (no spam lovers)."""
        return [u for u in self.users.existing if u not in self.content.spam_lovers]


def _known_keys(model: type[BaseModel], location: tuple[object, ...]) -> list[str]:
    for part in location[:-1]:
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            return []
        model = field.annotation
    return list(model.model_fields)


def _explain(error: dict, text: str) -> tuple[int | None, str]:  # type: ignore[type-arg]
    location = error["loc"]
    dotted = ".".join(str(part) for part in location)
    names = tuple(part for part in location if isinstance(part, str))  # list indices name no line
    section, key = ".".join(names[:-1]), names[-1]
    line = line_of(text, section, key)
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, _known_keys(Policy, location), n=1)
        return line, f"{dotted}: unknown setting" + (f" (did you mean '{close[0]}'?)" if close else "")
    if error["type"] == "missing":
        return line, f"{dotted}: required, but missing"
    return line, f"{dotted}: {error['msg']} (got {error.get('input')!r})"


def line_of(text: str, section: str, key: str) -> int | None:
    """The line of `key = ...` in `[section]` of a TOML text (1-based), if it is there."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := re.match(r"^\s*\[([^\]]+)\]", line):
            current = header.group(1).strip()
        elif current == section and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None


def load_policy(path: Path) -> Policy:
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as bad:
        line = getattr(bad, "lineno", None)
        raise PolicyError(path, [(line, f"not valid TOML: {getattr(bad, 'msg', bad)}")]) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as invalid:
        raise PolicyError(path, [_explain(error, text) for error in invalid.errors()]) from None  # type: ignore[arg-type]


def current_policy() -> Policy:
    """The policy of the configuration under test: $TESTBED_POLICY (set by make from
    CONFIG=), else the sample's; as the topology of the run ($TESTBED_TOPOLOGY) keeps it."""
    policy = load_policy(Path(os.environ.get("TESTBED_POLICY") or SAMPLE_POLICY))
    return policy.for_topology(os.environ.get("TESTBED_TOPOLOGY") or "dual")
