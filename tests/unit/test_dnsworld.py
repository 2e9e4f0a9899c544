"""The DNS world a policy implies, and the zone the DNS image writes from it. No Docker."""

import ipaddress
import json
import re
from pathlib import Path

import pytest

from harness.dns import client_address
from siteconfig.dnsworld import LISTED_ADDRESS, _zone_writer, sample_zone, world, write_world
from siteconfig.folder import assemble
from siteconfig.layout import EXAMPLES, SAMPLE
from siteconfig.policy import PolicyError, load_policy

world_zone = _zone_writer()


def _policy(tmp_path: Path, edit: tuple[str, str] = ("", "")):
    text = (SAMPLE / "policy.toml").read_text().replace(*edit)
    (tmp_path / "policy.toml").write_text(text)
    return load_policy(tmp_path / "policy.toml")


def test_local_domains_point_at_the_chain_and_remote_ones_at_the_sink(tmp_path: Path) -> None:
    policy = _policy(tmp_path, ('domains = []  # recipient', 'domains = ["relayed.example"]  # recipient'))
    content = policy.content.model_copy(update={"unchecked_domains": ["partner.example", "testbed.example"]})
    policy = policy.model_copy(update={"content": content})
    made = world(policy)
    assert made["local_domains"] == ["testbed.example"]
    # An unchecked domain is only remote when it is not local (partial-filtering's partner.example).
    assert made["remote_domains"] == ["remote.example", "relayed.example", "partner.example"]
    assert json.loads(write_world(policy, tmp_path).read_text()) == made


def _zone(tmp_path: Path) -> list[str]:
    made = world(_policy(tmp_path))
    own = [ipaddress.IPv4Interface("172.19.0.2/16"), ipaddress.IPv4Interface("172.18.0.3/16")]
    text = world_zone.zone(made, own, ipaddress.IPv4Address("172.19.0.3"), ipaddress.IPv4Address("172.18.0.2"), [])
    return text.splitlines()


def test_every_network_address_has_a_ptr_and_a_matching_a_record(tmp_path: Path) -> None:
    lines = _zone(tmp_path)
    assert "1.0.19.172.in-addr.arpa. IN PTR gateway.internet.testbed.test." in lines
    assert "gateway.internet.testbed.test. IN A 172.19.0.1" in lines
    assert "2.0.18.172.in-addr.arpa. IN PTR office.testbed.test." in lines
    assert "9.3.18.172.in-addr.arpa. IN PTR h-172-18-3-9.lan.testbed.test." in lines
    assert "h-172-18-3-9.lan.testbed.test. IN A 172.18.3.9" in lines
    assert sum(" IN PTR " in line for line in lines) == 2 * 1022 + 1  # + localhost


def test_mx_dnsbl_and_uribl_records(tmp_path: Path) -> None:
    lines = _zone(tmp_path)
    assert "testbed.example. IN MX 10 mail.testbed.example." in lines
    assert "2.0.19.172.in-addr.arpa. IN PTR mail.testbed.example." in lines
    assert "mail.testbed.example. IN A 172.19.0.2" in lines
    assert "remote.example. IN MX 10 mx.remote.example." in lines
    assert "mx.remote.example. IN A 172.19.0.3" in lines
    assert "2.0.0.127.dnsbl.testbed.test. IN A 127.0.0.2" in lines
    assert not any(line.startswith("1.0.0.127.dnsbl") for line in lines)
    reversed_listed = ".".join(reversed(LISTED_ADDRESS.split(".")))
    assert f"{reversed_listed}.dnsbl.testbed.test. IN A 127.0.0.2" in lines
    assert "test.uribl.testbed.test. IN A 127.0.0.2" in lines


def test_the_client_address_comes_from_sendmails_ehlo_reply() -> None:
    reply = "250-mail.testbed.example Hello gateway.internet.testbed.test [172.19.0.1], pleased to meet you"
    assert client_address(reply) == ("gateway.internet.testbed.test", "172.19.0.1")


@pytest.mark.parametrize("folder", [SAMPLE, *sorted(p for p in EXAMPLES.iterdir() if p.is_dir())],
                         ids=lambda folder: folder.name)
def test_every_shipped_configuration_makes_a_zone_of_host_names_only(tmp_path: Path, folder: Path) -> None:
    assemble(folder, tmp_path / "out")
    write_world(load_policy(tmp_path / "out" / "policy.toml"), tmp_path / "out")
    zone = sample_zone(json.loads((tmp_path / "out" / "dns" / "world.json").read_text()), [])
    owners = {line.split()[0] for line in zone.splitlines() if " IN " in line}
    bad = [owner for owner in owners if not re.fullmatch(r"(\.|([a-z0-9_]([a-z0-9_-]*[a-z0-9])?\.)+)", owner)]
    assert not bad, bad


def test_an_address_literal_in_the_policy_is_no_domain(tmp_path: Path) -> None:
    literal = 'local = ["testbed.example"]\nrewritten_to = "[127.0.0.1]"'
    policy = _policy(tmp_path, ('local = ["testbed.example"]', literal))
    assert policy.domains.rewritten_to == "[127.0.0.1]"
    assert world(policy)["local_domains"] == ["testbed.example"]


def test_a_remote_domain_that_is_no_dns_name_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy.toml:\d+: dns.remote_domains.0: String should match pattern"):
        _policy(tmp_path, ("remote_domains = []", 'remote_domains = ["partner example"]'))
