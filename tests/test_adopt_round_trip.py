"""make adopt, round trip: the document's own sample (config/sample's MTA-RX and MTA-TX .mc)
joined back into the one .mc a site would have had, then adopted, gives a pair whose compiled
.cf files match the sample's in every option the document names. The .mc files are compiled
by m4 with sendmail-cf in the MTA-RX image (make build makes it), the sendmail that runs
them; no chain is started."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from siteconfig.adopt.document import rx_lines, tx_lines
from siteconfig.adopt.mc import Statement, read_mc
from siteconfig.adopt.milter import milter_mc
from siteconfig.adopt.pair import adopt_mc
from siteconfig.compiled import CompiledCf, parse_cf
from siteconfig.layout import SAMPLE

# What README.sendmail-dual names, per instance: (what, how to read it from a compiled .cf).
RX_NAMED = ["DeliveryMode", "Timeout.datafinal", "MinFreeBlocks", "RunAsUser", "PidFile", "StatusFile",
            "QueueDirectory", "AliasFile", "ForwardPath"]
TX_NAMED = ["RefuseLA", "MaxDaemonChildren", "MinFreeBlocks"]
RX_MACROS = ["H", "S", "R"]  # MAIL_HUB, SMART_HOST, LOCAL_RELAY


def _key(statement: Statement) -> tuple[str, ...]:
    """A call as m4 reads it: its name and arguments, without quotes, spaces or dnl notes."""
    if statement.kind != "call":
        return (statement.text,)
    return (statement.name, *(arg.strip("`' \n") for arg in statement.args))


def _document_keys() -> set[tuple[str, ...]]:
    """The calls the document itself adds to each instance (make adopt writes them again)."""
    keys = set()
    for line, _why in rx_lines(2) + tx_lines():
        keys |= {_key(s) for s in read_mc(line + "\n") if s.kind == "call"}
    return keys


def joined_sample() -> str:
    """The one .mc the sample's pair was split from: each instance's own settings once, the
    document's dual-specific lines left out, the mailers after the settings and the raw .cf
    sections last, as a single .mc has them."""
    document = _document_keys()
    settings, mailers, sections, seen = [], [], [], set()
    for role in ("rx", "tx"):
        for statement in read_mc((SAMPLE / role / f"thishost-{role}.mc").read_text()):
            text = statement.text if statement.text.endswith("\n") else statement.text + "\n"
            if statement.kind in ("comment", "divert") or _key(statement) in document | seen:
                continue
            seen.add(_key(statement))
            kind = "mailer" if statement.name == "MAILER" else statement.kind
            {"mailer": mailers, "section": sections}.get(kind, settings).append(text)
    return "divert(-1)dnl\ndnl the pair of the sample, joined back into one .mc\ndivert(0)dnl\n" + "".join(
        settings + mailers + sections)


def _compile(texts: dict[str, str]) -> dict[str, tuple[CompiledCf, str]]:
    """Each .mc compiled by m4 with the MTA-RX image's sendmail-cf, in one container: the .cf
    read, and as m4 wrote it."""
    image = f"testbed-rx:{os.environ.get('TESTBED_TAG', 'latest')}"
    with tempfile.TemporaryDirectory() as folder:
        for name, text in texts.items():
            Path(folder, f"{name}.mc").write_text(text, encoding="latin-1")
        os.chmod(folder, 0o755)
        script = ("cd /usr/share/sendmail/cf/cf && for mc in /in/*.mc; do "
                  "m4 ../m4/cf.m4 $mc > /in/$(basename $mc .mc).cf || exit 1; done")
        done = subprocess.run(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--user",
                               f"{os.getuid()}", "-v", f"{folder}:/in", "--entrypoint", "sh", image, "-c", script],
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            pytest.fail(f"m4 in {image} failed (make build makes the image):\n{done.stderr}")
        written = {name: Path(folder, f"{name}.cf").read_text(encoding="latin-1") for name in texts}
        return {name: (parse_cf(cf), cf) for name, cf in written.items()}


@pytest.fixture(scope="module")
def written() -> dict[str, tuple[CompiledCf, str]]:
    adopted = adopt_mc(joined_sample())
    sample = {role: (SAMPLE / role / f"thishost-{role}.mc").read_text() for role in ("rx", "tx")}
    return _compile({"sample-rx": sample["rx"], "sample-tx": sample["tx"], "adopted-rx": adopted.rx,
                     "adopted-tx": adopted.tx, "adopted-milter": milter_mc(joined_sample())})


@pytest.fixture(scope="module")
def compiled(written: dict[str, tuple[CompiledCf, str]]) -> dict[str, CompiledCf]:
    return {name: cf for name, (cf, _text) in written.items()}


def _macro(cf: CompiledCf, name: str) -> str | None:
    return cf.macros[name].value if name in cf.macros else None


def _differences(want: CompiledCf, got: CompiledCf, options: list[str], macros: list[str]) -> list[str]:
    diffs = [f"O {name}: sample {want.option(name)!r}, adopted {got.option(name)!r}"
             for name in options if want.option(name) != got.option(name)]
    diffs += [f"D{name}: sample {_macro(want, name)!r}, adopted {_macro(got, name)!r}"
              for name in macros if _macro(want, name) != _macro(got, name)]
    ports = sorted(s.value for s in want.daemons), sorted(s.value for s in got.daemons)
    if ports[0] != ports[1]:
        diffs.append(f"O DaemonPortOptions: sample {ports[0]}, adopted {ports[1]}")
    for ruleset in ("Canonify2", "Local_check_rcpt"):  # nocanonify; Matej Vela's rules
        if want.rulesets.get(ruleset) != got.rulesets.get(ruleset):
            diffs.append(f"S{ruleset}: sample {want.rulesets.get(ruleset)} rules, adopted {got.rulesets.get(ruleset)}")
    return diffs


def test_the_joined_sample_names_none_of_the_documents_dual_lines() -> None:
    joined = joined_sample()
    for needle in ("confDELIVERY_MODE", "MAIL_HUB", "ESMTP_MAILER_ARGS", "Port=10025", "QUEUE_GROUP"):
        assert needle not in joined, f"{needle} is the document's, make adopt writes it:\n{joined}"
    assert "MAILER(local)" in joined and "SLocal_check_rcpt" in joined, joined


@pytest.mark.parametrize("name", ["adopted-rx", "adopted-tx", "adopted-milter"])
def test_no_line_of_the_site_is_lost_to_m4_quoting_in_what_adopt_writes(
    written: dict[str, tuple[CompiledCf, str]], name: str,
) -> None:
    """cf.m4 turns m4's comments off: a quote in a line adopt adds would swallow the site's
    lines up to the next one. The site's VERSIONIDs and OSTYPE still reach the .cf."""
    cf = written[name][1]
    for said in ("testbed MTA-RX", "testbed MTA-TX", "$Id: debian.m4"):
        assert said in cf, f"{said!r} is not in the .cf m4 made of the {name} .mc"


def test_the_adopted_mta_rx_compiles_to_the_samples_in_every_option_the_document_names(
    compiled: dict[str, CompiledCf],
) -> None:
    want, got = compiled["sample-rx"], compiled["adopted-rx"]
    diffs = _differences(want, got, RX_NAMED, RX_MACROS)
    for mailer in ("esmtp", "smtp", "relay"):
        for field_name in ("A", "m"):
            w, g = want.mailers[mailer].fields.get(field_name), got.mailers[mailer].fields.get(field_name)
            if w != g:
                diffs.append(f"M{mailer} {field_name}=: sample {w!r}, adopted {g!r}")
    if want.queue_groups["mqueue"].fields != got.queue_groups["mqueue"].fields:
        diffs.append(f"Qmqueue: sample {want.queue_groups['mqueue'].fields}, "
                     f"adopted {got.queue_groups['mqueue'].fields}")
    assert not diffs, "\n".join(diffs) + f"\n--- adopted thishost-rx.mc ---\n{adopt_mc(joined_sample()).rx}"


def test_the_adopted_mta_tx_compiles_to_the_samples_in_every_option_the_document_names(
    compiled: dict[str, CompiledCf],
) -> None:
    want, got = compiled["sample-tx"], compiled["adopted-tx"]
    diffs = _differences(want, got, TX_NAMED, [])
    assert "local" in got.mailers, "the adopted MTA-TX has no local mailer"
    if want.mailers["local"].fields.get("P") != got.mailers["local"].fields.get("P"):
        diffs.append(f"Mlocal P=: sample {want.mailers['local'].fields.get('P')}, "
                     f"adopted {got.mailers['local'].fields.get('P')}")
    assert not diffs, "\n".join(diffs) + f"\n--- adopted thishost-tx.mc ---\n{adopt_mc(joined_sample()).tx}"
