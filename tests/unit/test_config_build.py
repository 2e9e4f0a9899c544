"""A build the configuration breaks is explained in its own terms (siteconfig/build.py),
and a folder without a policy gets one derived from it (siteconfig/derive.py). No Docker:
the build log is a BuildKit excerpt as the images' install scripts write it."""

import tomllib
from pathlib import Path

from siteconfig.build import explain, refusals
from siteconfig.configfiles import ConfigFiles
from siteconfig.derive import derive_policy, write_policy
from siteconfig.folder import assemble, main
from siteconfig.layout import SAMPLE
from siteconfig.policy import load_policy

LOG = """\
#39 [rx 11/12] RUN /usr/local/lib/testbed/install-config
#39 0.211 testbed-config-error\tm4\trx/thishost-rx.mc\tm4:/etc/mail/thishost-rx.mc:3: cannot open \
`/opt/sm/m4/cf.m4': No such file or directory
#39 0.212 testbed-config-error\tmakemap\trx/virtusertable\tmakemap: /etc/mail/virtusertable: line 2: \
no RHS for LHS badline
#39 ERROR: executor failed running [/bin/sh -c /usr/local/lib/testbed/install-config]: exit code: 65
"""


def test_each_refusal_names_the_users_file_line_tool_and_fix(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    (own / "rx" / "virtusertable").write_text("alice@testbed.example alice\nbadline\n")
    assemble(own, tmp_path / "out")
    shown = [explain(refusal, ConfigFiles(tmp_path / "out", own)) for refusal in refusals(LOG)]
    assert shown[0].startswith("config/sample/rx/thishost-rx.mc:3: m4 refused it:\n    m4:/etc/mail/thishost-rx.mc:3:")
    assert "fix: cf.m4 is at /usr/share/sendmail/cf/m4/cf.m4 here" in shown[0]
    assert shown[1].startswith(f"{own}/rx/virtusertable:2: makemap refused it:")
    assert shown[1].endswith("fix: each line of a map is a key and a value separated by white space; this one has "
                             "no value")


def test_a_feature_after_mailer_is_found_at_its_line(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "tx").mkdir(parents=True)
    (own / "tx" / "thishost-tx.mc").write_text("OSTYPE(`debian')dnl\nMAILER(smtp)\nFEATURE(`nocanonify')dnl\n")
    assemble(own, tmp_path / "out")
    log = "#40 0.3 testbed-config-error\tm4\ttx/thishost-tx.mc\t*** ERROR: FEATURE() should be before MAILER()\n"
    (refusal,) = refusals(log)
    assert explain(refusal, ConfigFiles(tmp_path / "out", own)).startswith(f"{own}/tx/thishost-tx.mc:3: m4 refused")


def test_a_policy_derived_from_the_sample_config_states_what_the_sample_policy_states(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    write_policy(derive_policy(tmp_path / "out"), SAMPLE, tmp_path / "policy.toml")
    derived, stated = load_policy(tmp_path / "policy.toml"), load_policy(SAMPLE / "policy.toml")
    assert derived.derived is not None and derived.derived.unstated == []
    for section in ("domains", "users", "relay", "limits", "submission"):
        assert getattr(derived, section) == getattr(stated, section), section
    for key in ("virus", "banned", "spam", "bad_header", "scanner_failure", "admin"):
        assert getattr(derived.content, key) == getattr(stated.content, key), key
    assert "limits.max_message_size = 10485760   <- rx/thishost-rx.mc:" in (tmp_path / "policy.toml").read_text()


def test_without_the_documents_rcpt_rules_unknown_users_are_not_stated(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    mc = (SAMPLE / "rx" / "thishost-rx.mc").read_text()
    (own / "rx" / "thishost-rx.mc").write_text(mc[: mc.index("LOCAL_CONFIG")])
    (own / "rx" / "access").write_text("Connect:127.0.0.1 RELAY\n10.0 RELAY\nTo:partner.example RELAY\n")
    assemble(own, tmp_path / "out")
    derived = derive_policy(tmp_path / "out")
    assert derived.values["users"]["nonexistent"] == []
    assert derived.unstated[0].startswith("users.nonexistent: the configuration does not say")
    # A relayed-for network is never derived: lint then names the grant until a policy states it.
    assert derived.values["relay"] == {"lan": True, "domains": ["partner.example"], "clients": []}
    assert derived.unstated[1].startswith("relay.clients: rx/access grants RELAY to 10.0")
    write_policy(derived, own, tmp_path / "policy.toml")
    assert tomllib.loads((tmp_path / "policy.toml").read_text())["derived"]["source"] == str(own)


def test_a_folder_with_its_own_mc_and_no_policy_is_assembled_with_a_derived_one(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "tx").mkdir(parents=True)
    (own / "tx" / "thishost-tx.mc").write_text((SAMPLE / "tx" / "thishost-tx.mc").read_text())
    assert main([str(own), str(tmp_path / "out")]) == 0
    assert load_policy(tmp_path / "out" / "policy.toml").derived is not None


def test_an_unclosed_quote_is_found_at_its_line_not_at_the_end_of_the_file(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    mc = (SAMPLE / "rx" / "thishost-rx.mc").read_text().replace("`10485760')dnl", "`10485760)dnl")
    (own / "rx" / "thishost-rx.mc").write_text(mc)
    assemble(own, tmp_path / "out")
    last = len(mc.splitlines())
    log = (f"#39 0.2 testbed-config-error\tm4\trx/thishost-rx.mc\tm4:/etc/mail/thishost-rx.mc:{last}: "
           "ERROR: end of file in argument list\n")
    (refusal,) = refusals(log)
    line = next(n for n, text in enumerate(mc.splitlines(), 1) if "`10485760)dnl" in text)
    shown = explain(refusal, ConfigFiles(tmp_path / "out", own))
    assert shown.startswith(f"{own}/rx/thishost-rx.mc:{line}: m4 refused"), shown


def test_a_derived_policy_has_the_sites_runners_as_max_servers_where_it_sets_none(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    (own / "rx").mkdir(parents=True)
    (own / "rx" / "thishost-rx.mc").write_text((SAMPLE / "rx" / "thishost-rx.mc").read_text().replace("R=2", "R=5"))
    assemble(own, tmp_path / "out")
    limits = derive_policy(tmp_path / "out").values["limits"]
    assert (limits["queue_runners"], limits["max_servers"]) == (5, 5), limits
    (own / "amavis").mkdir()
    (own / "amavis" / "60-site").write_text("$max_servers = 3;\n1;\n")
    assemble(own, tmp_path / "own")
    assert derive_policy(tmp_path / "own").values["limits"]["max_servers"] == 3
