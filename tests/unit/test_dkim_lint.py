"""Lint's [dkim] checks: the milters compiled into each .cf against the policy, opendkim.conf
against the policy, the key against the published record; the DKIM records in the DNS
world; reading DKIM headers. Known inputs, exact findings. No Docker."""

import ipaddress
import json
import subprocess
from pathlib import Path

import pytest

from harness.dkim import authentication_results, signatures
from siteconfig.check import check_policy
from siteconfig.check.dkim import check_published_keys, compare_key_and_records
from siteconfig.compiled import parse_cf
from siteconfig.configfiles import ConfigFiles
from siteconfig.dkimkeys import DkimKeyError, Record, install_keys, opendkim_settings, record_value
from siteconfig.dnsworld import _zone_writer, world
from siteconfig.folder import assemble
from siteconfig.layout import SAMPLE
from siteconfig.policy import load_policy
from tests.unit.test_config_folder import EXAMPLE_RX_CF, SAMPLE_RX_CF, SAMPLE_TX_CF, compiled

SIGNER = "Xdkim-sign, S=inet:8891@127.0.0.1, F=T, T=C:10s;S:30s;R:30s;E:2m"
VERIFIER = "Xdkim-verify, S=inet:8892@127.0.0.1, F=T, T=C:10s;S:30s;R:30s;E:2m"


def _own(tmp_path: Path, policy_edit: tuple[str, str] = ("", ""), files: dict[str, str] | None = None) -> Path:
    """A config folder of the sample's policy, edited, and some files of its own; assembled."""
    own = tmp_path / "mine"
    own.mkdir(parents=True)
    (own / "policy.toml").write_text((SAMPLE / "policy.toml").read_text().replace(*policy_edit))
    for rel, text in (files or {}).items():
        (own / rel).parent.mkdir(parents=True, exist_ok=True)
        (own / rel).write_text(text)
    assemble(own, tmp_path / "out")
    return own


def _found(tmp_path: Path, own: Path, rx: str = SAMPLE_RX_CF, tx: str = SAMPLE_TX_CF) -> list[str]:
    return [str(f) for f in check_policy(tmp_path / "out", own, compiled(rx, tx))]


def test_milters_are_read_from_the_cf_and_only_those_inputmailfilters_names_are_used() -> None:
    cf = parse_cf(f"O InputMailFilters=dkim-sign\n{SIGNER}\nXunused, S=inet:9999@127.0.0.1, F=\n")
    assert [m.name for m in cf.input_filters] == ["dkim-sign"]
    assert cf.milters["dkim-sign"].fields["S"] == "inet:8891@127.0.0.1" and cf.milters["dkim-sign"].fields["F"] == "T"
    assert parse_cf(SIGNER + "\n").input_filters == []  # defined, but sendmail calls it not


def test_the_sample_agrees_with_its_dkim_policy(tmp_path: Path) -> None:
    assert _found(tmp_path, _own(tmp_path)) == []


def test_a_signing_policy_without_the_signing_milter_in_mta_tx_is_found(tmp_path: Path) -> None:
    own = _own(tmp_path)
    (finding,) = _found(tmp_path, own, tx=SAMPLE_TX_CF.replace("O InputMailFilters=dkim-sign\n", ""))
    assert finding.startswith("config/sample/tx/thishost-tx.mc: MTA-TX calls no OpenDKIM milter (no "
                              "INPUT_MAIL_FILTER with S=inet:8891@127.0.0.1), but ")
    assert finding.endswith("mine/policy.toml:49 says dkim.signing_domains = ['testbed.example']")


def test_a_verifying_milter_the_policy_does_not_state_is_found_at_its_mc_line(tmp_path: Path) -> None:
    own = _own(tmp_path, ("rx_verifies = true", "rx_verifies = false"))
    (finding,) = _found(tmp_path, own)
    assert finding.startswith("config/sample/rx/thishost-rx.mc:84: MTA-RX calls OpenDKIM (milter dkim-verify), but ")
    assert finding.endswith("says dkim.rx_verifies = false")
    # ... and the policy's verification without the milter, as the examples' .mc has it.
    other = tmp_path / "verifying"
    (finding,) = _found(other, _own(other), rx=EXAMPLE_RX_CF)
    assert finding.startswith("config/sample/rx/thishost-rx.mc: MTA-RX calls no OpenDKIM milter")


def test_the_failure_flag_must_agree_with_on_milter_failure(tmp_path: Path) -> None:
    own = _own(tmp_path, ('on_milter_failure = "tempfail"', 'on_milter_failure = "pass"'))
    found = _found(tmp_path, own)
    assert [f.split(": ", 1)[1].split(", but")[0] for f in found] == [
        "with milter dkim-sign down MTA-TX would tempfail (F=T)",
        "with milter dkim-verify down MTA-RX would tempfail (F=T)"]
    passing = SAMPLE_TX_CF.replace("F=T,", "F=,")
    assert _found(tmp_path, own, rx=SAMPLE_RX_CF.replace("F=T,", "F=,"), tx=passing) == []


def test_any_other_milter_on_mta_tx_is_found(tmp_path: Path) -> None:
    tx = SAMPLE_TX_CF.replace("=dkim-sign\n", "=dkim-sign,spamfilter\n") + "Xspamfilter, S=local:/run/spam.sock, F=T\n"
    (finding,) = _found(tmp_path, _own(tmp_path), tx=tx)
    assert "milter spamfilter on MTA-TX: the document allows only DKIM signing there" in finding


def test_opendkim_conf_must_sign_the_policys_domains_with_its_selector_and_spare_local_mail(tmp_path: Path) -> None:
    conf = (SAMPLE / "tx" / "opendkim.conf").read_text()
    edited = conf.replace("Selector            testbed", "Selector            old").replace(
        "Domain              testbed.example", "Domain              other.example")
    own = _own(tmp_path, ("sign_local = false", "sign_local = true"), {"tx/opendkim.conf": edited})
    found = [f.replace(f"{tmp_path}/", "") for f in _found(tmp_path, own)]
    assert found == [
        "mine/tx/opendkim.conf:12: Domain is other.example, but mine/policy.toml:49 says "
        "dkim.signing_domains = ['testbed.example']",
        "mine/tx/opendkim.conf:13: Selector is old, but mine/policy.toml:50 says dkim.selector = 'testbed'",
        "mine/tx/opendkim.conf:21: local-to-local mail would not be signed (DontSignMailTo), but "
        "mine/policy.toml:51 says dkim.sign_local = true",
    ], found


def test_a_milter_configured_for_the_other_job_is_found(tmp_path: Path) -> None:
    verifying = (SAMPLE / "tx" / "opendkim.conf").read_text().replace("Mode                s", "Mode                v")
    (finding,) = _found(tmp_path, _own(tmp_path, files={"tx/opendkim.conf": verifying}))
    assert finding.replace(f"{tmp_path}/", "") == (
        "mine/tx/opendkim.conf:6: Mode v does not sign at MTA-TX, but "
        "mine/policy.toml:49 says dkim.signing_domains = ['testbed.example']")


def test_a_policy_stating_no_dkim_is_not_compared_with_the_milters(tmp_path: Path) -> None:
    text = (SAMPLE / "policy.toml").read_text()
    own = _own(tmp_path, (text[text.index("[dkim]"):], ""))
    assert load_policy(own / "policy.toml").dkim is None
    assert _found(tmp_path, own) == []


def test_keys_follow_opendkim_conf_not_the_policy(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    conf = tmp_path / "out" / "tx" / "opendkim.conf"
    conf.write_text(conf.read_text().replace("Domain              testbed.example",
                                             "Domain              testbed.example, other.example"))
    records = install_keys(tmp_path / "out", tmp_path / "store")
    assert [r.name for r in records] == ["testbed._domainkey.testbed.example", "testbed._domainkey.other.example",
                                         "outside._domainkey.remote.example"]
    assert (tmp_path / "out" / "tx" / "dkim" / "testbed.private").is_file()
    assert (tmp_path / "out" / "outside" / "dkim" / "outside.private").is_file()
    assert records[0].value == records[1].value != records[2].value
    assert install_keys(tmp_path / "out", tmp_path / "store") == records  # made once, then reused
    conf.write_text(conf.read_text().replace("/etc/opendkim/keys/testbed.private", "/srv/testbed.private"))
    with pytest.raises(DkimKeyError, match="tx/opendkim.conf:14: KeyFile /srv/testbed.private must be in "
                                           "/etc/opendkim/keys/"):
        install_keys(tmp_path / "out", tmp_path / "store")


def test_opendkim_settings_take_the_last_line_and_ignore_comments() -> None:
    settings = opendkim_settings("# Mode v\nMode  s\nSocket inet:1@x # trailing\nMode sv\n")
    assert settings == {"Mode": ("sv", 4), "Socket": ("inet:1@x", 3)}


def _key_pair() -> tuple[str, str]:
    """A throwaway RSA key's public half, as PEM and as a record's p=."""
    private = subprocess.run(["openssl", "genrsa", "1024"], capture_output=True, check=True).stdout
    pem = subprocess.run(["openssl", "pkey", "-pubout"], input=private, capture_output=True, check=True).stdout.decode()
    return pem, "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_the_key_in_mta_txs_image_must_be_the_one_the_dns_publishes(tmp_path: Path) -> None:
    policy = load_policy(SAMPLE / "policy.toml")
    (pem, public), (_, other) = _key_pair(), _key_pair()
    made = world(policy, [Record("testbed._domainkey.testbed.example", record_value(public))])
    assert compare_key_and_records(policy, pem, made, "images") == []
    stale = world(policy, [Record("testbed._domainkey.testbed.example", record_value(other))])
    (finding,) = compare_key_and_records(policy, pem, stale, "images")
    assert "testbed._domainkey.testbed.example publishes another key than MTA-TX's image signs with" in str(finding)
    (missing,) = compare_key_and_records(policy, pem, world(policy), "images")
    assert "publishes no testbed._domainkey.testbed.example TXT record" in str(missing)
    (unreadable,) = compare_key_and_records(policy, "", made, "images")
    assert "no readable signing key" in str(unreadable)
    # Read from the images by the function lint passes in (here, canned answers).
    assemble(SAMPLE, tmp_path / "out")
    answers = {"testbed-tx:t": pem, "testbed-dns:t": json.dumps(stale)}
    found = check_published_keys(ConfigFiles(tmp_path / "out", SAMPLE), policy, "t", lambda image, _: answers[image])
    assert len(found) == 1 and found[0].file.startswith("testbed-tx:t and testbed-dns:t")


def test_dkim_records_are_written_into_the_zone_in_strings_of_at_most_255_characters(tmp_path: Path) -> None:
    value = record_value("A" * 392)  # a 2048-bit key's length
    made = world(load_policy(SAMPLE / "policy.toml"), [Record("testbed._domainkey.testbed.example", value)])
    text = _zone_writer().zone(made, [ipaddress.IPv4Interface("172.30.0.2/28")], ipaddress.IPv4Address("172.30.0.3"),
                               ipaddress.IPv4Address("172.30.0.4"), [])
    (line,) = [line for line in text.splitlines() if "_domainkey" in line]
    strings = line.split(" IN TXT ", 1)[1].strip('"').split('" "')
    assert line.startswith("testbed._domainkey.testbed.example. IN TXT ")
    assert "".join(strings) == value and max(len(s) for s in strings) == 255


RAW = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=testbed.example;\r\n\ts=testbed; t=1;\r\n"
       b"\tbh=x=;\r\n\th=From:To:\r\n\t Subject:Date;\r\n\tb=abc\r\n\t def\r\n"
       b"Authentication-Results: mail.testbed.example; dkim=pass header.d=remote.example\r\n"
       b"Authentication-Results: elsewhere.example; dkim=fail\r\nFrom: a@b.example\r\n\r\nbody\r\n")


def test_signature_tags_and_our_own_authentication_results_are_read_across_folded_lines() -> None:
    (signature,) = signatures(RAW)
    assert (signature.domain, signature.selector, signature.headers, signature.body_length) == (
        "testbed.example", "testbed", ["from", "to", "subject", "date"], None)
    assert authentication_results(RAW, "mail.testbed.example") == [
        "mail.testbed.example; dkim=pass header.d=remote.example"]


@pytest.mark.parametrize("length", ["l=120;", ""])
def test_a_body_length_tag_is_read(length: str) -> None:
    raw = RAW.replace(b"t=1;", f"t=1; {length}".encode())
    assert signatures(raw)[0].body_length == (120 if length else None)
