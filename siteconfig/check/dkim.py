"""[dkim] against the configuration: the OpenDKIM milters where the document places them
(signing at MTA-TX, verifying at MTA-RX), as compiled into the .cf files (INPUT_MAIL_FILTER
lines, named in O InputMailFilters), their F= flag against on_milter_failure, and
tx/opendkim.conf's domains and selector. check_published_keys compares the key in the built
MTA-TX image with the record the built DNS image serves."""

import json
import re
from collections.abc import Callable
from fnmatch import fnmatch

from siteconfig.check.context import Context, Finding
from siteconfig.compiled import CompiledCf, Definition
from siteconfig.configfiles import ConfigFiles, mc_line
from siteconfig.dkimkeys import opendkim_settings
from siteconfig.policy import Dkim, Policy

__all__ = ["KEY_READER_SCRIPT", "check_dkim", "check_published_keys", "compare_key_and_records", "opendkim_settings"]

# Each side: the OpenDKIM configuration it runs, the mode it must have, and its MTA's name.
SIDES = {"tx": ("tx/opendkim.conf", "s", "MTA-TX"), "rx": ("rx/opendkim.conf", "v", "MTA-RX")}
_INPUT_MAIL_FILTER = r"INPUT_MAIL_FILTER\(\s*`{name}'"


def _socket(value: str) -> str:
    """inet:8891@localhost and inet:8891@127.0.0.1 name the same socket here."""
    return value.strip().lower().replace("@localhost", "@127.0.0.1")


def _wanted(dkim: Dkim, side: str) -> tuple[bool, str]:
    """Whether the policy wants this side's milter, and the setting that says so."""
    if side == "tx":
        return bool(dkim.signing_domains), "signing_domains"
    return dkim.rx_verifies, "rx_verifies"


def _where(ctx: Context, side: str, milter: Definition) -> tuple[str, int | None]:
    return ctx.in_cf(side, mc_line(ctx.files.mc(side), _INPUT_MAIL_FILTER.format(name=re.escape(milter.name))),
                     milter.line)


def _failure_flag(ctx: Context, dkim: Dkim, side: str, milter: Definition) -> list[Finding]:
    flags = milter.fields.get("F", "")
    does = "tempfail" if "T" in flags else "reject" if "R" in flags else "pass"
    expected = dkim.on_milter_failure
    if does == expected:
        return []
    return [Finding(*_where(ctx, side, milter), f"with milter {milter.name} down {SIDES[side][2]} would {does} "
                    f"(F={flags}), but {ctx.says('dkim', 'on_milter_failure', repr(expected))}")]


def _milters(ctx: Context, dkim: Dkim, side: str, cf: CompiledCf) -> list[Finding]:
    conf_rel, _, mta = SIDES[side]
    wanted, key = _wanted(dkim, side)
    socket = opendkim_settings(ctx.files.text(conf_rel)).get("Socket")
    milters = [m for m in cf.input_filters if socket and _socket(m.fields.get("S", "")) == _socket(socket[0])]
    findings = []
    if side == "tx":  # the document: no milters on MTA-TX, DKIM signing excepted
        findings += [Finding(*_where(ctx, side, m), f"milter {m.name} on MTA-TX: the document allows only DKIM "
                             f"signing there (its socket is not {ctx.files.shown(conf_rel)}'s Socket)")
                     for m in cf.input_filters if m not in milters]
    if wanted and socket is None:
        findings.append(Finding(ctx.policy_file, ctx.at("dkim", key), f"dkim.{key} = {_shown(dkim, key)}, but the "
                                f"configuration has no {conf_rel} with a Socket line"))
    elif wanted and not milters:
        source = ctx.files.shown(ctx.files.cf_source(side))
        findings.append(Finding(source, None, f"{mta} calls no OpenDKIM milter (no INPUT_MAIL_FILTER with "
                                f"S={socket[0] if socket else '?'}), but {ctx.says('dkim', key, _shown(dkim, key))}"))
    elif milters and not wanted:
        findings.append(Finding(*_where(ctx, side, milters[0]), f"{mta} calls OpenDKIM (milter {milters[0].name}), "
                                f"but {ctx.says('dkim', key, _shown(dkim, key))}"))
    return findings + [f for m in milters for f in _failure_flag(ctx, dkim, side, m)]


def _shown(dkim: Dkim, key: str) -> str:
    value = getattr(dkim, key)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _unsigned_patterns(files: ConfigFiles, dataset: str) -> list[str]:
    """DontSignMailTo's recipients as glob patterns: a refile: data set names a file of
    patterns (in tx/opendkim/, installed in /etc/opendkim/), a plain list whole addresses."""
    if dataset.startswith("refile:"):
        name = dataset.removeprefix("refile:").removeprefix("/etc/opendkim/")
        return [line.strip().lower() for _, line in files.entries(f"tx/opendkim/{name}")]
    return [item.strip().lower() for item in dataset.split(",") if item.strip()]


def _signer(ctx: Context, dkim: Dkim) -> list[Finding]:
    """tx/opendkim.conf signs the policy's domains with its selector, and leaves local mail
    unsigned unless the policy signs it."""
    rel = "tx/opendkim.conf"
    settings = opendkim_settings(ctx.files.text(rel))
    if not dkim.signing_domains or not settings:
        return []
    shown, findings = ctx.files.shown(rel), []
    domains = settings.get("Domain", ("", None))
    named = {d.strip().lower().rstrip(".") for d in domains[0].split(",") if d.strip()}
    if named != {d.lower().rstrip(".") for d in dkim.signing_domains}:
        findings.append(Finding(shown, domains[1], f"Domain is {domains[0] or 'not set'}, but "
                                f"{ctx.says('dkim', 'signing_domains', dkim.signing_domains)}"))
    selector = settings.get("Selector", ("", None))
    if selector[0] != dkim.selector:
        findings.append(Finding(shown, selector[1], f"Selector is {selector[0] or 'not set'}, but "
                                f"{ctx.says('dkim', 'selector', repr(dkim.selector))}"))
    patterns = _unsigned_patterns(ctx.files, settings.get("DontSignMailTo", ("", None))[0])
    local_unsigned = all(any(fnmatch(f"postmaster@{d.lower()}", p) for p in patterns) for d in ctx.policy.domains.local)
    if local_unsigned == dkim.sign_local:
        says = ctx.says("dkim", "sign_local", str(dkim.sign_local).lower())
        findings.append(Finding(shown, settings.get("DontSignMailTo", ("", None))[1], f"local-to-local mail would "
                                f"{'not ' if local_unsigned else ''}be signed (DontSignMailTo), but {says}"))
    return findings


def _mode(ctx: Context, dkim: Dkim, side: str) -> list[Finding]:
    """A wanted milter's opendkim.conf does its side's job: Mode s(ign) at MTA-TX, v(erify) at MTA-RX."""
    rel, letter, mta = SIDES[side]
    wanted, key = _wanted(dkim, side)
    mode = opendkim_settings(ctx.files.text(rel)).get("Mode", ("sv", None))  # OpenDKIM's default: sv
    if not wanted or letter in mode[0] or ctx.files.text(rel) is None:
        return []
    return [Finding(ctx.files.shown(rel), mode[1], f"Mode {mode[0]} does not {'sign' if letter == 's' else 'verify'}"
                    f" at {mta}, but {ctx.says('dkim', key, _shown(dkim, key))}")]


def check_dkim(ctx: Context) -> list[Finding]:
    """Nothing to compare when the policy states no [dkim]."""
    dkim, findings = ctx.policy.dkim, []
    if dkim is None:
        return []
    for side in SIDES:
        cf = ctx.compiled.get(side)
        if cf is not None:
            findings += _milters(ctx, dkim, side, cf)
        findings += _mode(ctx, dkim, side)
    return findings + _signer(ctx, dkim)


# --- the key in MTA-TX's image against the record in the DNS image ------------------------

# Run in the MTA-TX image: the public half of opendkim.conf's KeyFile, as a PEM block.
KEY_READER_SCRIPT = ("key=$(sed -nE 's/^KeyFile[[:space:]]+//p' /etc/opendkim.conf); "
                     "[ -n \"$key\" ] && openssl pkey -in \"$key\" -pubout")


def compare_key_and_records(policy: Policy, public_pem: str, world: dict, where: str) -> list[Finding]:  # type: ignore[type-arg]
    """Each signing domain's record in `world` carries the key whose public half is `public_pem`."""
    if policy.dkim is None or not policy.dkim.signing_domains:
        return []
    if not public_pem.strip():
        return [Finding(where, None, "MTA-TX's image has no readable signing key (opendkim.conf KeyFile)")]
    public = "".join(line for line in public_pem.splitlines() if line and not line.startswith("-----"))
    records = {r["name"].rstrip(".").lower(): r["value"] for r in world.get("dkim_records", [])}
    findings = []
    for domain in policy.dkim.signing_domains:
        name = f"{policy.dkim.selector}._domainkey.{domain.rstrip('.')}".lower()
        value = records.get(name)
        published = dict(part.strip().split("=", 1) for part in (value or "").split(";") if "=" in part)
        if value is None:
            findings.append(Finding(where, None, f"the testbed's DNS publishes no {name} TXT record; MTA-TX's "
                                    "signatures would not verify (run make build)"))
        elif published.get("p", "").replace(" ", "") != public:
            findings.append(Finding(where, None, f"{name} publishes another key than MTA-TX's image signs with: "
                                    "one of the images is older than the key (run make build)"))
    return findings


def check_published_keys(files: ConfigFiles, policy: Policy, tag: str,
                         run: Callable[[str, str], str]) -> list[Finding]:
    """The signing key in testbed-tx:<tag> against the records testbed-dns:<tag> serves.
    `run(image, script)` runs a shell script in a fresh container of the image (its stdout)."""
    if policy.dkim is None or not policy.dkim.signing_domains:
        return []
    public_pem = run(f"testbed-tx:{tag}", KEY_READER_SCRIPT)
    world = json.loads(run(f"testbed-dns:{tag}", "cat /etc/testbed/dns/world.json") or "{}")
    where = f"testbed-tx:{tag} and testbed-dns:{tag} (built from {files.shown('tx/opendkim.conf')})"
    return compare_key_and_records(policy, public_pem, world, where)
