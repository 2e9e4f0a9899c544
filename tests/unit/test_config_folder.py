"""Config folders, policies and the policy checks: known inputs, exact findings. No Docker:
the compiled .cf each check reads is an excerpt written here, as m4 would make it."""

from pathlib import Path

import pytest

from siteconfig.check import SECTION_CHECKS, check_policy
from siteconfig.compiled import CompiledCf, parse_cf
from siteconfig.folder import assemble
from siteconfig.layout import EXAMPLES, SAMPLE
from siteconfig.policy import Policy, PolicyError, load_policy

# What the sample's thishost-rx.mc compiles to, in the lines the checks read.
SAMPLE_RX_CF = """\
O MaxMessageSize=10485760
Qmqueue, P=/var/spool/mqueue-rx, R=2, F=f
Mesmtp,		P=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990,
		m=10, T=DNS/RFC822/SMTP,
		A=TCP $h 10024
SLocal_check_rcpt
R$*		$: <?> $&{rcpt_addr}
"""
# The examples' own thishost-rx.mc has no DKIM verifier; the sample's has (INPUT_MAIL_FILTER).
EXAMPLE_RX_CF = SAMPLE_RX_CF
SAMPLE_RX_CF += """\
O InputMailFilters=dkim-verify
Xdkim-verify, S=inet:8892@127.0.0.1, F=T, T=C:10s;S:30s;R:30s;E:2m
"""
DNSBL_LOOKUP = "R$-.$-.$-.$-		$: <?> $(dnsbl $4.$3.$2.$1.dnsbl.testbed.test. $: OK $)\n"
SAMPLE_TX_CF = """\
O InputMailFilters=dkim-sign
Xdkim-sign, S=inet:8891@127.0.0.1, F=T, T=C:10s;S:30s;R:30s;E:2m
Mlocal,		P=/usr/libexec/sendmail/mail.local, F=lsDFMAw5:/|@qPn9S, S=EnvFromL/HdrFromL
"""


def compiled(rx: str = SAMPLE_RX_CF, tx: str = SAMPLE_TX_CF) -> dict[str, CompiledCf]:
    return {"rx": parse_cf(rx), "tx": parse_cf(tx)}


def test_a_folder_is_assembled_over_the_sample_and_says_what_came_from_where(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    (own / "rx" / "sendmail-rx.cf").write_text("# prebuilt\n")
    (own / "aliases").write_text("postmaster: root\n")
    (own / "rx" / "thishost-rx.m4").write_text("a typo of a name\n")
    (own / "README.md").write_text("documentation of the config repository\n")
    origins, unused = assemble(own, tmp_path / "out")
    assert origins["aliases"] == own / "aliases" and origins["users"] == SAMPLE / "users"
    assert origins["rx/sendmail-rx.cf"] == own / "rx" / "sendmail-rx.cf"
    assert "rx/thishost-rx.mc" not in origins  # the prebuilt .cf replaces the sample's .mc
    assert unused == ["rx/thishost-rx.m4"]
    assert (tmp_path / "out" / "aliases").read_text() == "postmaster: root\n"
    assert not (tmp_path / "out" / "README.md").exists()


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config folder .*nowhere does not exist"):
        assemble(tmp_path / "nowhere", tmp_path / "out")


def test_a_policy_with_a_typo_a_wrong_type_and_a_missing_setting_names_each(tmp_path: Path) -> None:
    text = (SAMPLE / "policy.toml").read_text()
    text = text.replace("max_servers = 2", "max_server = 2").replace('spam = "discard"', 'spam = "drop"')
    (tmp_path / "policy.toml").write_text(text.replace("max_message_size = 10485760", 'max_message_size = "10M"'))
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "policy.toml")
    problems = dict((text, line) for line, text in caught.value.problems)
    assert problems == {
        "limits.max_message_size: Input should be a valid integer, unable to parse string as an integer (got '10M')":
            19,
        "limits.max_servers: required, but missing": None,
        "limits.max_server: unknown setting (did you mean 'max_servers'?)": 21,
        "content.spam: Input should be 'pass', 'discard', 'bounce' or 'reject' (got 'drop')": 34,
    }


def test_toml_that_does_not_parse_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text("[domains]\nlocal = [\"a.example\"\n[users]\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(tmp_path / "policy.toml")


@pytest.mark.parametrize("folder", [SAMPLE, EXAMPLES / "virtusertable", EXAMPLES / "partial-filtering",
                                    EXAMPLES / "dns-world"],
                         ids=lambda folder: folder.name)
def test_the_shipped_configurations_agree_with_their_policies(tmp_path: Path, folder: Path) -> None:
    assemble(folder, tmp_path / "out")
    rx = (SAMPLE_RX_CF if folder == SAMPLE else EXAMPLE_RX_CF) + (DNSBL_LOOKUP if folder.name == "dns-world" else "")
    assert check_policy(tmp_path / "out", folder, compiled(rx)) == []


def test_the_broken_example_fails_lint_naming_both_files_and_lines(tmp_path: Path) -> None:
    folder = EXAMPLES / "broken-size"
    assemble(folder, tmp_path / "out")
    # The value is the compiled one; the line, the .mc's define that sets it.
    rx = EXAMPLE_RX_CF.replace("MaxMessageSize=10485760", "MaxMessageSize=20971520")
    (finding,) = check_policy(tmp_path / "out", folder, compiled(rx))
    assert str(finding) == ("config/examples/broken-size/rx/thishost-rx.mc:23: confMAX_MESSAGE_SIZE is 20971520, "
                            "but config/examples/broken-size/policy.toml:18 says limits.max_message_size = 10485760")


def test_policy_and_config_disagreeing_on_runners_destinies_users_and_routes_are_each_found(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    own.mkdir()
    policy = (SAMPLE / "policy.toml").read_text()
    policy = policy.replace("queue_runners = 2", "queue_runners = 4").replace('virus = "discard"', 'virus = "pass"')
    policy = policy.replace('"dave", "admin"]', '"dave", "admin", "erin"]')
    policy = policy.replace("unchecked_domains = []", 'unchecked_domains = ["partner.example"]')
    policy = policy.replace("domains = []  # recipient", 'domains = ["relayed.example", "ok.example"]  # recipient')
    (own / "policy.toml").write_text(policy)
    (own / "rx").mkdir()
    (own / "rx" / "access").write_text((SAMPLE / "rx" / "access").read_text() + "To:ok.example\t\tRELAY\n")
    assemble(own, tmp_path / "out")
    found = check_policy(tmp_path / "out", own, compiled())
    messages = [f.message for f in found]
    assert len(messages) == 6, messages
    assert messages[0].startswith("queue group mqueue has R=2, but")
    assert str(found[0]).startswith("config/sample/rx/thishost-rx.mc:54: ")  # the QUEUE_GROUP line
    assert messages[1].startswith("queue_runners (4) differs from max_servers (2)")
    assert messages[2].startswith("user erin is neither in config/sample/users nor in config/sample/aliases")
    assert messages[3].startswith("$final_virus_destiny is DISCARD, but")
    assert messages[4].startswith("unchecked domain partner.example has no route in config/sample/rx/mailertable")
    assert messages[5].startswith("relay domain relayed.example has no \"To:relayed.example RELAY\" in ")


def test_policy_and_config_disagreeing_on_dns_are_each_found(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    dns_world = EXAMPLES / "dns-world"
    # The example's DNSBL at MTA-RX and network tests, under a policy that states neither...
    (own / "rx" / "thishost-rx.mc").write_text((dns_world / "rx" / "thishost-rx.mc").read_text())
    (own / "amavis").mkdir()
    (own / "amavis" / "60-network-tests").write_text((dns_world / "amavis" / "60-network-tests").read_text())
    (own / "policy.toml").write_text((SAMPLE / "policy.toml").read_text())
    assemble(own, tmp_path / "out")
    found = [str(f) for f in check_policy(tmp_path / "out", own, compiled(SAMPLE_RX_CF + DNSBL_LOOKUP))]
    assert len(found) == 2, found
    assert "amavis/60-network-tests:4: $sa_local_tests_only is 0, but " in found[0], found
    assert found[0].endswith("mine/policy.toml:44 says dns.sa_network_tests = false"), found
    assert "rx/thishost-rx.mc:16: MTA-RX refuses clients listed in dnsbl.testbed.test, but" in found[1], found
    # ... and a policy that names a DNSBL the sample's .mc does not use.
    (own / "rx" / "thishost-rx.mc").unlink()
    (own / "amavis" / "60-network-tests").unlink()
    policy = (SAMPLE / "policy.toml").read_text().replace('rx_dnsbl = ""', 'rx_dnsbl = "bl.example"')
    (own / "policy.toml").write_text(policy)
    assemble(own, tmp_path / "out")
    (finding,) = check_policy(tmp_path / "out", own, compiled())
    assert "dns.rx_dnsbl = 'bl.example', but config/sample/rx/thishost-rx.mc has no FEATURE(`dnsbl'" in str(finding)


def test_a_prebuilt_cf_is_checked_like_an_mc_naming_its_own_lines(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    prebuilt = SAMPLE_RX_CF.replace("MaxMessageSize=10485760", "MaxMessageSize=20971520").replace("R=2", "R=3")
    (own / "rx" / "sendmail-rx.cf").write_text(prebuilt)
    (own / "policy.toml").write_text((SAMPLE / "policy.toml").read_text())
    assemble(own, tmp_path / "out")
    # The image copies a prebuilt .cf as it is: what it holds is what was read from the image.
    found = [str(f) for f in check_policy(tmp_path / "out", own, compiled(prebuilt))]
    assert len(found) == 2, found
    assert found[0].startswith(f"{own}/rx/sendmail-rx.cf:1: MaxMessageSize is 20971520, but {own}/policy.toml:19 "
                               "says limits.max_message_size = 10485760"), found
    assert found[1].startswith(f"{own}/rx/sendmail-rx.cf:2: queue group mqueue has R=3, but "), found


def test_relay_domains_compiled_into_a_prebuilt_cf_count(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    (own / "rx" / "sendmail-rx.cf").write_text(SAMPLE_RX_CF + "C{R}relayed.example\n")
    policy = (SAMPLE / "policy.toml").read_text()
    policy = policy.replace("domains = []  # recipient", 'domains = ["relayed.example", "other.example"]  # recipient')
    (own / "policy.toml").write_text(policy)
    assemble(own, tmp_path / "out")
    (finding,) = check_policy(tmp_path / "out", own, compiled(SAMPLE_RX_CF + "C{R}relayed.example\n"))
    assert finding.message == (f"relay domain other.example has no \"To:other.example RELAY\" in "
                               f"config/sample/rx/access nor class R (relay domains) in {own}/rx/sendmail-rx.cf")


def test_a_mailer_or_mta_tx_below_the_size_limit_is_found(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    rx = SAMPLE_RX_CF.replace("m=10,", "m=10, M=5000000,")
    tx = "O MaxMessageSize=1000000\n" + SAMPLE_TX_CF.replace("S=EnvFromL", "M=2000000, S=EnvFromL")
    found = [str(f) for f in check_policy(tmp_path / "out", SAMPLE, compiled(rx, tx))]
    assert found == [
        "config/sample/rx/thishost-rx.mc: MTA-RX's mailer esmtp has M=5000000, but config/sample/policy.toml:19 says "
        "limits.max_message_size = 10485760: mail MTA-RX accepted could not leave through it",
        "config/sample/tx/thishost-tx.mc: MTA-TX's MaxMessageSize is 1000000, but config/sample/policy.toml:19 says "
        "limits.max_message_size = 10485760: MTA-TX would refuse mail MTA-RX accepted",
        "config/sample/tx/thishost-tx.mc: MTA-TX's mailer local has M=2000000, but config/sample/policy.toml:19 says "
        "limits.max_message_size = 10485760: mail MTA-RX accepted could not leave through it",
    ]


def test_every_policy_section_the_configuration_also_states_has_its_check() -> None:
    # [capacity] is a measurement target: no configuration file states it; [derived] says
    # where a derived policy came from.
    assert set(SECTION_CHECKS) | {"capacity", "derived"} == set(Policy.model_fields)


def test_mailers_given_one_size_by_one_setting_are_one_finding(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    rx = "".join(f"M{name},\tP=[IPC], F=mDFMuX,\n\t\tM={size}, m=10,\n"
                 for name, size in (("smtp", 5000000), ("esmtp", 5000000), ("relay", 4000000)))
    found = check_policy(tmp_path / "out", SAMPLE, compiled(SAMPLE_RX_CF.replace("Mesmtp", "Mold") + rx))
    assert [f.message.split(", but")[0] for f in found] == ["MTA-RX's mailers smtp, esmtp have M=5000000",
                                                            "MTA-RX's mailer relay has M=4000000"]


def test_a_policy_refusing_unknown_users_needs_a_way_for_mta_rx_to_know_them(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    without_rules = SAMPLE_RX_CF.replace("SLocal_check_rcpt\nR$*		$: <?> $&{rcpt_addr}\n", "SLocal_check_rcpt\n")
    found = [str(f) for f in check_policy(tmp_path / "out", SAMPLE, compiled(without_rules))]
    assert found == ["config/sample/policy.toml:10: the policy expects MTA-RX to refuse unknown users (nosuchuser, "
                     "nosuchuser+tag), but config/sample/rx/thishost-rx.mc has neither Local_check_rcpt rules (the "
                     "document's) nor a virtusertable: MTA-RX takes any local recipient and MTA-TX bounces it later"]
    with_virtuser = without_rules + "Kvirtuser hash -o /etc/mail/virtusertable\n"
    assert check_policy(tmp_path / "out", SAMPLE, compiled(with_virtuser)) == []
