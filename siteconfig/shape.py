"""The site's shape: what its compiled .cf files and amavisd-new's settings say the chain is,
read once after the images are built, and what everything downstream reads instead of the
sample's numbers (the healthchecks, compose's published ports and queue volumes, the
harness's faces, the tests' expectations, the load generator).

  each daemon    its name, family, address, port and modifiers (O DaemonPortOptions; the
                 SMTP daemon on 25 and the MSA on 587 are sendmail's defaults when the .cf
                 names none), and the greeting (O SmtpGreetingMessage)
  MTA-RX         which daemon takes mail from outside (smtp) and which is the MSA (or none),
                 its queues (QueueDirectory, queue groups' P=), its delivery mode, and where
                 it hands mail over (the mailer of SMART_HOST/MAIL_HUB: host and port)
  amavisd-new    the port it listens on and where it sends checked mail and notifications:
                 the site's own snippets where it has them; where it brings its own .mc but
                 not these settings, the testbed wires amavisd-new to the site's MTAs (RX's
                 hand-off port, MTA-TX's loopback daemon) and says so (`adapted`)
  MTA-TX         its daemons and queues, and the daemon amavisd-new hands mail to

python -m siteconfig.shape   (make build) reads the images tagged $TESTBED_TAG and writes
`.build/shape/<config id>/shape-<topology>.json` and .env (compose's variables).
"""

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from siteconfig.compiled import CompiledCf, CompiledCfError, chain_cfs, read_compiled
from siteconfig.configfiles import ConfigFiles, perl_assignment
from siteconfig.errors import ShapeError
from siteconfig.layout import REPO, SAMPLE

__all__ = ["Daemon", "Handoff", "MtaShape", "ShapeError", "SiteShape", "amavis_wiring", "current_shape",
           "shape_of", "shape_path"]

# sendmail's own defaults: a .cf without DaemonPortOptions runs one daemon on the smtp port;
# without FEATURE(no_default_msa) cf.m4 adds the MSA on the submission port.
SERVICES = {"smtp": 25, "submission": 587, "smtps": 465}
LOOPBACK_V4 = re.compile(r"^127\.")
LOOPBACK_V6 = ("::1", "0:0:0:0:0:0:0:1")


@dataclass(frozen=True)
class Daemon:
    """One O DaemonPortOptions line, with sendmail's defaults filled in."""

    name: str
    family: str  # inet, inet6 (local: a unix socket, not a TCP daemon)
    addr: str  # "" = every address of its family
    port: int
    modifiers: str
    line: int  # in the compiled .cf (0: sendmail's default daemon, no line)

    @property
    def loopback(self) -> bool:
        return bool(LOOPBACK_V4.match(self.addr)) or self.addr in LOOPBACK_V6

    @property
    def reach(self) -> str:
        """The address a client inside the namespace connects to: its own, or loopback."""
        if self.addr and self.addr not in ("0.0.0.0", "::"):
            return self.addr
        return "::1" if self.family == "inet6" else "127.0.0.1"

    @property
    def is_msa(self) -> bool:
        return self.port == SERVICES["submission"] or self.name.upper() == "MSA"


@dataclass(frozen=True)
class Handoff:
    """Where MTA-RX's SMART_HOST/MAIL_HUB mailer connects: amavisd-new, as the document has it."""

    mailer: str
    host: str
    port: int
    line: int  # the macro's line in the compiled .cf


@dataclass(frozen=True)
class MtaShape:
    daemons: list[Daemon]
    greeting: str
    queues: list[str]  # QueueDirectory and each queue group's P=, wildcards kept
    delivery_mode: str  # O DeliveryMode's first letter (b when unset: sendmail's default)
    handoff: Handoff | None = None  # MTA-RX only
    runners: int | None = None  # the mqueue group's R= (queue runners), where it has one

    @property
    def tcp(self) -> list[Daemon]:
        return [daemon for daemon in self.daemons if daemon.family in ("inet", "inet6")]

    def on_port(self, port: int) -> list[Daemon]:
        return [daemon for daemon in self.tcp if daemon.port == port]

    @property
    def smtp(self) -> Daemon | None:
        """The daemon mail from outside comes to: the one on the smtp port, else the first non-MSA."""
        return next((d for d in self.tcp if d.port == SERVICES["smtp"]), None) or next(
            (d for d in self.tcp if not d.is_msa), None)

    @property
    def msa(self) -> Daemon | None:
        return next((d for d in self.tcp if d.is_msa), None)

    @property
    def spool(self) -> str:
        """The directory to keep on a volume: /var/spool when every queue is under it (the
        usual case), else the queues' common parent."""
        roots = [re.sub(r"/[^/]*\*[^/]*$", "", queue) for queue in self.queues] or ["/var/spool/mqueue"]
        if all(root.startswith("/var/spool/") for root in roots):
            return "/var/spool"
        return os.path.commonpath(roots)

    @property
    def queue_dirs(self) -> list[str]:
        """The queue directories without wildcards (their parent where the path has one)."""
        return list(dict.fromkeys(re.sub(r"/[^/]*\*[^/]*$", "", queue) for queue in self.queues))


@dataclass(frozen=True)
class AmavisShape:
    port: int
    forward: str  # smtp:[host]:port
    notify: str
    origins: dict[str, str] = field(default_factory=dict)  # variable -> "file:line" or what the testbed did
    max_servers: int | None = None  # set where the testbed matched it to the site's R=; None: the snippets'

    @staticmethod
    def target(method: str) -> tuple[str, int] | None:
        found = re.fullmatch(r"['\"]?(?:smtp|lmtp):\[?([^\]]+?)\]?:(\d+)['\"]?", method.strip())
        return (found.group(1), int(found.group(2))) if found else None


@dataclass(frozen=True)
class SiteShape:
    topology: str
    rx: MtaShape
    tx: MtaShape
    amavis: AmavisShape
    adapted: list[str] = field(default_factory=list)  # what the testbed wired, and why

    @property
    def ipv6(self) -> bool:
        """Whether a daemon needs IPv6 in the namespace (binds ::1 or [::])."""
        return any(d.family == "inet6" for d in (*self.rx.tcp, *self.tx.tcp))

    @property
    def tx_takes(self) -> Daemon | None:
        """MTA-TX's daemon that amavisd-new forwards to."""
        target = AmavisShape.target(self.amavis.forward)
        if target is None:
            return None
        return next((d for d in self.tx.on_port(target[1]) if d.reach == target[0] or not d.addr), None) or next(
            iter(self.tx.on_port(target[1])), None)

    @property
    def internal_ports(self) -> list[int]:
        """Ports inside the namespace that nothing outside may reach: amavisd-new's and
        every daemon's bound to loopback (MTA-TX's; the milter topology's notification port)."""
        return sorted({self.amavis.port} | {d.port for d in (*self.rx.tcp, *self.tx.tcp) if d.loopback})

    @property
    def greeting_words(self) -> list[str]:
        """The literal words of MTA-RX's greeting (O SmtpGreetingMessage without its $
        macros), which its 220 banner must show."""
        return [word.strip(";,") for word in self.rx.greeting.split() if "$" not in word and word.strip(";,")]

    @property
    def v6only(self) -> bool:
        """Whether a daemon on [::] shares its port with one on 0.0.0.0 (a BSD habit: there an
        IPv6 socket takes IPv6 alone). Linux's default (net.ipv6.bindv6only=0) lets the [::]
        socket take IPv4 too, so the second bind fails; the namespace then takes the BSD
        behaviour, as a Linux host of such a site sets it."""
        for mta in (self.rx, self.tx):
            wild4 = {d.port for d in mta.tcp if d.family == "inet" and d.addr in ("", "0.0.0.0")}
            if any(d.family == "inet6" and d.addr in ("", "::", "[::]") and d.port in wild4 for d in mta.tcp):
                return True
        return False

    def compose_env(self) -> dict[str, str]:
        """compose.yaml's variables of this shape."""
        smtp, msa = self.rx.smtp, self.rx.msa
        return {
            "TESTBED_RX_SMTP": str(smtp.port if smtp else SERVICES["smtp"]),
            # Published even where no MSA runs (nothing answers there): compose needs a port.
            "TESTBED_RX_MSA": str(msa.port if msa else SERVICES["submission"]),
            "TESTBED_RX_SPOOL": self.rx.spool,
            "TESTBED_TX_SPOOL": self.tx.spool,
            "TESTBED_AMAVIS_PORT": str(self.amavis.port),
            "TESTBED_AMAVIS_FORWARD": self.amavis.forward,
            "TESTBED_AMAVIS_NOTIFY": self.amavis.notify,
            "TESTBED_AMAVIS_MAX_SERVERS": str(self.amavis.max_servers or ""),
            "TESTBED_DISABLE_IPV6": "0" if self.ipv6 else "1",
            "TESTBED_IPV6_V6ONLY": "1" if self.v6only else "0",
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "SiteShape":
        data = json.loads(text)

        def mta(part: dict) -> MtaShape:
            handoff = Handoff(**part["handoff"]) if part.get("handoff") else None
            return MtaShape([Daemon(**d) for d in part["daemons"]], part["greeting"], part["queues"],
                            part["delivery_mode"], handoff, part.get("runners"))

        return cls(data["topology"], mta(data["rx"]), mta(data["tx"]), AmavisShape(**data["amavis"]), data["adapted"])


def _port(value: str) -> int:
    if value.isdigit():
        return int(value)
    if value in SERVICES:
        return SERVICES[value]
    raise ShapeError(f"port {value!r} is neither a number nor one of {', '.join(SERVICES)}")


def daemons_of(cf: CompiledCf) -> list[Daemon]:
    """Each daemon of the .cf; sendmail matches an option by its first letter (A, F, N, P, M)."""
    found = []
    for setting in cf.daemons or []:
        options = {}
        for part in setting.value.split(","):
            key, _, value = part.strip().partition("=")
            if key:
                options[key[0].upper()] = value.strip()
        family = options.get("F", "inet")
        found.append(Daemon(options.get("N", ""), family, options.get("A", ""),
                            _port(options.get("P", "smtp")) if family != "local" else 0,
                            options.get("M", ""), setting.line))
    if not found:  # no line: sendmail's one daemon on the smtp port
        found.append(Daemon("MTA", "inet", "", SERVICES["smtp"], "", 0))
    return found


def _handoff(cf: CompiledCf) -> Handoff | None:
    for macro in ("S", "H"):  # SMART_HOST, MAIL_HUB
        target = cf.macros.get(macro)
        if target is None or not target.value:
            continue
        mailer, _, host = target.value.rpartition(":") if ":" in target.value else ("relay", "", target.value)
        port = cf.mailer_port(mailer or "relay")
        if port is not None:
            return Handoff(mailer or "relay", host.strip("[]"), port, target.line)
    return None


def mta_shape(cf: CompiledCf, *, receiving: bool) -> MtaShape:
    queues = [cf.option("QueueDirectory") or "/var/spool/mqueue"]
    queues += [group.fields["P"] for group in cf.queue_groups.values() if group.fields.get("P")]
    group = cf.queue_groups.get("mqueue")
    return MtaShape(daemons_of(cf), cf.option("SmtpGreetingMessage") or "", list(dict.fromkeys(queues)),
                    (cf.option("DeliveryMode") or "b")[:1], _handoff(cf) if receiving else None,
                    group.number("R") if group else None)


def _own(files: ConfigFiles, rel: str) -> bool:
    return not files.shown(rel).startswith(str(SAMPLE.relative_to(REPO)) + "/")


def amavis_wiring(files: ConfigFiles, rx: MtaShape, tx: MtaShape, *, site_mtas: bool) -> tuple[AmavisShape, list[str]]:
    """amavisd-new's port, forward and notify methods: the snippets' (the last assignment
    wins, as when amavisd-new loads them), amavisd-new's defaults where none assigns them;
    where the site brings its own .mc files but not these settings (they are the sample's),
    wired to the site's MTAs instead, and said so."""
    defaults = {"$inet_socket_port": "10024", "$forward_method": "'smtp:[127.0.0.1]:10025'",
                "$notify_method": "'smtp:[127.0.0.1]:10025'"}  # amavisd-new's own (amavisd.conf-default)
    values, origins, adapted = {}, {}, []
    for variable, default in defaults.items():
        found = perl_assignment(files, variable)
        if found:
            values[variable], origins[variable] = found[0], f"{files.shown(found[1])}:{found[2]}"
        else:
            values[variable], origins[variable] = default, "amavisd-new's default"
    takes = next((d for d in tx.tcp if d.loopback and d.family == "inet"), None) or next(
        (d for d in tx.tcp if d.loopback), None)
    for variable in defaults:
        found = perl_assignment(files, variable)
        if not site_mtas or (found and _own(files, found[1])):
            continue  # the site's own setting, or the sample's MTAs: as written
        # RX handing mail straight to a port MTA-TX listens on is a bypass of the filter, not a
        # port to move amavisd-new to: left as it is, for lint to name.
        bypass = rx.handoff is not None and any(d.port == rx.handoff.port for d in tx.tcp)
        if variable == "$inet_socket_port" and rx.handoff is not None and not bypass:
            value = str(rx.handoff.port)
            what = f"MTA-RX hands mail to port {value} (its {rx.handoff.mailer} mailer)"
        elif variable != "$inet_socket_port" and takes is not None:
            value = f"'smtp:[{takes.reach}]:{takes.port}'"
            what = f"MTA-TX listens on {takes.reach} port {takes.port}"
        else:
            continue
        if value != values[variable]:
            adapted.append(f"amavisd-new: {variable} = {value} (was {values[variable]}, {origins[variable]}): {what}, "
                           "and the site's folder sets no amavisd-new value of its own")
            values[variable], origins[variable] = value, f"adapted: {what}"
    servers = _servers_for(files, rx, site_mtas, origins, adapted)
    port = re.findall(r"\d+", values["$inet_socket_port"])
    return AmavisShape(int(port[0]) if port else 10024, values["$forward_method"].strip("'\""),
                       values["$notify_method"].strip("'\""), origins, servers), adapted


def _servers_for(files: ConfigFiles, rx: MtaShape, site_mtas: bool, origins: dict[str, str],
                 adapted: list[str]) -> int | None:
    """$max_servers matched to MTA-RX's queue runners, where the site brings its .mc files but no
    amavisd-new setting: the document has one child per runner, and the sample's count is not
    the site's."""
    found = perl_assignment(files, "$max_servers")
    if not site_mtas or rx.runners is None or (found and _own(files, found[1])):
        return None
    was = found[0] if found else "2"  # amavisd-new's default
    if was == str(rx.runners):
        return None
    what = f"MTA-RX runs R={rx.runners} queue runners"
    adapted.append(f"amavisd-new: $max_servers = {rx.runners} (was {was}, "
                   f"{f'{files.shown(found[1])}:{found[2]}' if found else 'the default'}): {what}, "
                   "and the site's folder sets no amavisd-new value of its own")
    origins["$max_servers"] = f"adapted: {what}"
    return rx.runners


def shape_of(files: ConfigFiles, compiled: dict[str, CompiledCf], topology: str = "dual") -> SiteShape:
    """The shape of an assembled folder, sendmail's values from its compiled .cf files."""
    if "rx" not in compiled or "tx" not in compiled:
        raise ShapeError("the compiled .cf files could not be read (make build first)")
    rx = mta_shape(compiled["rx"], receiving=True)
    tx = rx if topology == "milter" else mta_shape(compiled["tx"], receiving=False)
    site_mtas = any(_own(files, rel) for rel in (files.cf_source("rx"), files.cf_source("tx")))
    amavis, adapted = amavis_wiring(files, rx, tx, site_mtas=site_mtas and topology == "dual")
    shape = SiteShape(topology, rx, tx, amavis, adapted)
    if shape.v6only:
        adapted.append("the namespace: net.ipv6.bindv6only=1, since a daemon on [::] shares its port with one on "
                       "0.0.0.0 (as on the BSDs; with Linux's default the second could not bind)")
    return shape


def shape_path(topology: str, config: str | None = None) -> Path:
    """Beside the assembled folder, not in it: assembling it again (make config, which every
    build of the other topology runs) empties it, and the topology built before keeps its shape."""
    assembled = Path(config or os.environ.get("TESTBED_CONFIG", "config/sample"))
    return REPO / ".build" / "shape" / assembled.name / f"shape-{topology}.json"


def current_shape(topology: str) -> SiteShape:
    """The shape of the configuration under test ($TESTBED_CONFIG), as make build wrote it."""
    path = shape_path(topology)
    if not path.is_file():
        raise ShapeError(f"{path} is missing: make build writes it from the built images (run make build, or make "
                         f"test, which builds)")
    return SiteShape.from_json(path.read_text())


def main() -> int:
    topology = os.environ.get("TESTBED_TOPOLOGY") or "dual"
    tag = os.environ.get("TESTBED_TAG", "latest")
    assembled = REPO / os.environ.get("TESTBED_CONFIG", "config/sample")
    files = ConfigFiles(assembled, Path(os.environ.get("TESTBED_SOURCE_CONFIG", SAMPLE)), topology)
    compiled = {}
    try:
        for service, (image, path) in chain_cfs().items():
            compiled[service] = read_compiled(f"{image}:{tag}", path)
    except CompiledCfError as unreadable:
        print(f"shape: {unreadable}", file=sys.stderr)
        return 1
    if topology == "milter":
        compiled["rx"] = compiled["tx"] = compiled["mta"]
    try:
        shape = shape_of(files, compiled, topology)
    except ShapeError as failed:
        print(f"shape: {failed}", file=sys.stderr)
        return 1
    path = shape_path(topology)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(shape.to_json())
    path.with_suffix(".env").write_text("".join(f"{key}={value}\n" for key, value in shape.compose_env().items()))
    for line in shape.adapted:
        print(f"adapted: {line}")
    smtp, msa = shape.rx.smtp, shape.rx.msa
    print(f"shape: MTA-RX {', '.join(f'{d.name or d.family}@{d.reach}:{d.port}' for d in shape.rx.tcp)}"
          f"{'' if msa else ' (no MSA)'}; hands to {shape.rx.handoff.host}:{shape.rx.handoff.port}"
          if shape.rx.handoff else f"shape: MTA-RX on {smtp.port if smtp else '?'} hands mail to no SMART_HOST")
    return 0


if __name__ == "__main__":
    sys.exit(main())
