"""The document's invariants: each broken one is found, with the file and line that break
it, whatever the policy says. No Docker: the compiled .cf files are excerpts as m4 makes them."""

from pathlib import Path

from siteconfig.check import check_document_advice, check_document_invariants
from siteconfig.compiled import CompiledCf, parse_cf
from siteconfig.configfiles import ConfigFiles, relay_grants
from siteconfig.folder import assemble
from siteconfig.layout import SAMPLE
from siteconfig.shape import shape_of

# The lines of the sample's compiled .cf files the invariants read.
RX_CF = """\
O DeliveryMode=q
DSesmtp:[127.0.0.1]
DHesmtp:[127.0.0.1]
O MinFreeBlocks=10000
O RunAsUser=smmsp:smmsp
Qmqueue, P=/var/spool/mqueue-rx, R=2, F=f
Mesmtp,		P=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		m=10, T=DNS/RFC822/SMTP,
		A=TCP $h 10024
"""
TX_CF = """\
O DaemonPortOptions=Addr=127.0.0.1, Port=10025, Name=MTA-TX
O MinFreeBlocks=100
O RefuseLA=999
O MaxDaemonChildren=0
"""


def findings(tmp_path: Path, rx: str = RX_CF, tx: str = TX_CF, files: dict[str, str] | None = None) -> list[str]:
    """The invariant findings of a folder of `files` (path in the folder -> text)."""
    own = tmp_path / "mine"
    for rel, text in (files or {}).items():
        path = own / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    own.mkdir(exist_ok=True)
    assemble(own, tmp_path / "out")
    compiled: dict[str, CompiledCf] = {"rx": parse_cf(rx), "tx": parse_cf(tx)}
    return [str(finding) for finding in check_document_invariants(tmp_path / "out", own, compiled)]


def test_the_sample_keeps_every_invariant(tmp_path: Path) -> None:
    assert findings(tmp_path) == []


def test_mta_rx_sending_to_mta_tx_port_is_a_bypass_named_at_its_mc_line(tmp_path: Path) -> None:
    mc = (SAMPLE / "rx" / "thishost-rx.mc").read_text().replace("`TCP $h 10024'", "`TCP $h 10025'")
    found = findings(tmp_path, RX_CF.replace("A=TCP $h 10024", "A=TCP $h 10025"), files={"rx/thishost-rx.mc": mc})
    line = next(n for n, text in enumerate(mc.splitlines(), 1) if text.startswith("define(`SMART_HOST'"))
    assert found[0].startswith(f"{tmp_path}/mine/rx/thishost-rx.mc:{line}: MTA-RX's SMART_HOST esmtp:[127.0.0.1] "
                               "sends by mailer esmtp to port 10025, but amavisd-new listens on 10024"), found
    assert "this bypasses amavisd-new" in found[0] and len(found) == 2  # SMART_HOST and MAIL_HUB


def test_no_smart_host_means_remote_mail_skips_the_filter(tmp_path: Path) -> None:
    found = findings(tmp_path, RX_CF.replace("DSesmtp:[127.0.0.1]\n", "DS\n"))
    assert found == ["config/sample/rx/thishost-rx.mc: MTA-RX has no SMART_HOST: mail for remote domains would "
                     "leave without passing amavisd-new (the document's define(`SMART_HOST', `esmtp:[127.0.0.1]') "
                     "hands it to amavisd-new)"]


def test_amavis_forwarding_to_a_port_mta_tx_does_not_listen_on_is_found_at_its_snippet_line(tmp_path: Path) -> None:
    found = findings(tmp_path, files={"amavis/60-site": "$forward_method = 'smtp:[127.0.0.1]:10026';\n"})
    assert found == [f"{tmp_path}/mine/amavis/60-site:1: $forward_method is 'smtp:[127.0.0.1]:10026', but MTA-TX "
                     "listens on 10025: checked mail would not reach it"]


def test_runners_differing_from_max_servers_are_found_unless_the_policy_allows_it(tmp_path: Path) -> None:
    found = findings(tmp_path, RX_CF.replace("R=2", "R=5"))
    assert len(found) == 1 and "R=5 queue runners, but amavisd-new has $max_servers = 2" in found[0]
    policy = (SAMPLE / "policy.toml").read_text().replace("runners_may_differ = false", "runners_may_differ = true")
    assert findings(tmp_path / "allowed", RX_CF.replace("R=2", "R=5"), files={"policy.toml": policy}) == []


def advice(tmp_path: Path, rx: str = RX_CF, tx: str = TX_CF) -> list[str]:
    own = tmp_path / "mine"
    own.mkdir(parents=True, exist_ok=True)
    assemble(own, tmp_path / "out")
    return [str(f) for f in check_document_advice(tmp_path / "out", own, {"rx": parse_cf(rx), "tx": parse_cf(tx)})]


def test_free_blocks_and_root_are_advice_named_with_their_fix_not_refusals(tmp_path: Path) -> None:
    rx = RX_CF.replace("O MinFreeBlocks=10000\n", "").replace("O RunAsUser=smmsp:smmsp\n", "")
    assert findings(tmp_path, rx) == []  # lint lets the chain run ...
    found = advice(tmp_path / "advice", rx)  # ... and the suite's advice rows fail, each with its fix
    assert any("MTA-RX runs as root (no RunAsUser)" in f and "confRUN_AS_USER" in f for f in found), found
    assert any("MTA-RX's MinFreeBlocks (100) is not above MTA-TX's (100)" in f and "fix:" in f for f in found), found
    assert advice(tmp_path / "sample") == []


def test_mta_tx_limits_not_above_mta_rx_are_advice(tmp_path: Path) -> None:
    found = advice(tmp_path, RX_CF + "O RefuseLA=12\n", TX_CF + "O RefuseLA=12\nO MaxDaemonChildren=20\n")
    assert len(found) == 2 and "MTA-TX's RefuseLA (12) is not above MTA-RX's (12)" in found[0], found
    assert "MTA-TX's MaxDaemonChildren (20) is not above MTA-RX's (0)" in found[1], found
    assert advice(tmp_path / "ok", RX_CF + "O RefuseLA=12\n", TX_CF + "O RefuseLA=999\n") == []


def test_mta_rx_that_does_not_only_queue_is_refused(tmp_path: Path) -> None:
    found = findings(tmp_path, RX_CF.replace("O DeliveryMode=q\n", "O DeliveryMode=b\n"))
    assert len(found) == 1 and "MTA-RX has delivery mode b: the document has it queue-only, \"a must\"" in found[0]


def test_mta_rx_without_mail_hub_is_refused(tmp_path: Path) -> None:
    found = findings(tmp_path, RX_CF.replace("DHesmtp:[127.0.0.1]\n", "DH\n"))
    assert found == ["config/sample/rx/thishost-rx.mc: MTA-RX has no MAIL_HUB: MTA-RX would deliver local mail "
                     "itself, unfiltered (the document's define(`MAIL_HUB', `esmtp:[127.0.0.1]') hands it to "
                     "amavisd-new)"], found


def test_mta_tx_listening_beyond_loopback_is_refused(tmp_path: Path) -> None:
    found = findings(tmp_path, tx=TX_CF.replace("Addr=127.0.0.1, ", ""))
    assert len(found) == 1 and "MTA-TX's daemon MTA-TX listens on every address port 10025" in found[0], found


def test_own_mc_files_without_amavis_snippets_get_amavis_wired_to_their_ports(tmp_path: Path) -> None:
    rx_mc = (SAMPLE / "rx" / "thishost-rx.mc").read_text()
    tx_mc = (SAMPLE / "tx" / "thishost-tx.mc").read_text()
    own = {"rx/thishost-rx.mc": rx_mc, "tx/thishost-tx.mc": tx_mc}
    tx = ("O DaemonPortOptions=Family=inet6, address=::1, Name=MTA6, Port=24\n"
          "O DaemonPortOptions=Name=MTA, Port=24, a=127.0.0.1\n")
    rx = RX_CF.replace("A=TCP $h 10024", "A=TCP $h 10034")
    assert findings(tmp_path, rx, tx, files=own) == []  # amavisd-new listens on 10034, forwards to 24
    out = tmp_path / "out"
    shape = shape_of(ConfigFiles(out, tmp_path / "mine"), {"rx": parse_cf(rx), "tx": parse_cf(tx)})
    assert (shape.amavis.port, shape.amavis.forward, shape.ipv6) == (10034, "smtp:[127.0.0.1]:24", True), shape
    assert any("$forward_method = 'smtp:[127.0.0.1]:24'" in line for line in shape.adapted), shape.adapted


def test_an_access_map_relaying_for_a_private_range_is_refused_unless_the_policy_names_it(tmp_path: Path) -> None:
    access = (SAMPLE / "rx" / "access").read_text() + "192.168\t\tRELAY\nTo:partner.example\tRELAY\n"
    found = findings(tmp_path, files={"rx/access": access})
    line = len(access.splitlines()) - 1
    assert found == [
        f"{tmp_path}/mine/rx/access:{line}: grants RELAY to Connect:192.168, but the policy (config/sample/policy.toml)"
        " does not: relay.clients does not name 192.168 (name it there if it is meant)",
        f"{tmp_path}/mine/rx/access:{line + 1}: grants RELAY to To:partner.example, but the policy "
        "(config/sample/policy.toml) does not: relay.domains does not name partner.example (name it there if it is "
        "meant)"]
    policy = (SAMPLE / "policy.toml").read_text().replace("clients = []", 'clients = ["192.168"]').replace(
        "domains = []  # recipient", 'domains = ["partner.example"]  # recipient')
    assert findings(tmp_path / "named", files={"rx/access": access, "policy.toml": policy}) == []


def test_relay_grants_read_every_form_of_access_key() -> None:
    entries = [(1, "Connect:10.1 RELAY"), (2, "192.0.2.7 RELAY"), (3, "To:example.org RELAY"),
               (4, "From:boss@example.org RELAY"), (5, "Connect:spammer.example REJECT")]
    assert relay_grants(entries) == [(1, "Connect", "10.1"), (2, "Connect", "192.0.2.7"),
                                     (3, "To", "example.org"), (4, "From", "boss@example.org")]


def test_own_mc_files_without_amavis_snippets_get_max_servers_matched_to_their_runners(tmp_path: Path) -> None:
    own = {"rx/thishost-rx.mc": (SAMPLE / "rx" / "thishost-rx.mc").read_text().replace("R=2", "R=5"),
           "tx/thishost-tx.mc": (SAMPLE / "tx" / "thishost-tx.mc").read_text()}
    rx = RX_CF.replace("R=2", "R=5")
    assert findings(tmp_path, rx, files=own) == []  # the sample's $max_servers = 2 is not the site's
    shape = shape_of(ConfigFiles(tmp_path / "out", tmp_path / "mine"), {"rx": parse_cf(rx), "tx": parse_cf(TX_CF)})
    assert shape.amavis.max_servers == 5 and shape.compose_env()["TESTBED_AMAVIS_MAX_SERVERS"] == "5", shape
    assert any("$max_servers = 5 (was 2" in line for line in shape.adapted), shape.adapted
    # A snippet of the site's own is as written, and a mismatch with it is still refused.
    own["amavis/60-site"] = "$max_servers = 3;\n1;\n"
    assert "R=5 queue runners, but amavisd-new has $max_servers = 3" in findings(tmp_path / "own", rx, files=own)[0]
