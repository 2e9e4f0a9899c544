"""The milter topology without Docker: lint's milter invariants on known .cf lines, the policy
as each topology keeps it, and the summary's claims and side-by-side table."""

from pathlib import Path
from types import SimpleNamespace

from siteconfig.check import check_document_invariants, check_policy
from siteconfig.compiled import parse_cf
from siteconfig.folder import assemble
from siteconfig.layout import SAMPLE
from siteconfig.policy import load_policy
from tests.topology_report import DIFFERS, NOT_BORNE_OUT, from_junit, from_reports, other_topology_junit, side_by_side

# The lines of the sample's milter .cf that lint reads (as compiled into testbed-milter).
MILTER_CF = """\
O MaxMessageSize=10485760
O DaemonPortOptions=Name=MTA, Listen=256
O DaemonPortOptions=Addr=127.0.0.1, Port=10025, Name=MTA-NOTIFY, InputMailFilters=
O DaemonPortOptions=Port=587, Name=MSA, M=E
O PrivacyOptions=noexpn,novrfy,authwarnings
O AuthOptions=A p y
O InputMailFilters=amavisd-milter
Xamavisd-milter, S=inet:9999@127.0.0.1, F=T, T=S:10m;R:10m;E:10m
SLocal_check_rcpt
R$*		$: <?> $&{rcpt_addr}
"""


def _findings(tmp_path: Path, cf: str) -> list[str]:
    assemble(SAMPLE, tmp_path / "out")
    compiled = {"rx": parse_cf(cf), "tx": parse_cf(cf)}
    return [str(f) for f in check_document_invariants(tmp_path / "out", SAMPLE, compiled, "milter")]


def test_the_sample_milter_topology_keeps_its_invariants(tmp_path: Path) -> None:
    assert _findings(tmp_path, MILTER_CF) == []


def test_an_mta_that_calls_no_amavisd_milter_is_found(tmp_path: Path) -> None:
    (finding,) = _findings(tmp_path, MILTER_CF.replace("O InputMailFilters=amavisd-milter\n", ""))
    assert finding.startswith("config/sample/milter/thishost-milter.mc:")
    assert "calls no milter at inet:9999@127.0.0.1 (amavisd-milter): mail would be delivered unchecked" in finding


def test_a_milter_that_lets_mail_through_while_down_is_found(tmp_path: Path) -> None:
    (finding,) = _findings(tmp_path, MILTER_CF.replace("F=T, T=S", "F=, T=S"))
    assert "with amavisd-milter down mail is taken unchecked" in finding and "content.scanner_failure" in finding


def test_notifications_into_a_filtered_or_missing_daemon_are_found(tmp_path: Path) -> None:
    (filtered,) = _findings(tmp_path, MILTER_CF.replace(", InputMailFilters=\n", "\n"))
    assert "calls the milters too: a virus alert would be checked again" in filtered
    (missing,) = _findings(tmp_path, MILTER_CF.replace("Port=10025", "Port=10026"))
    assert "sends its notifications to port 10025" in missing


def test_lint_of_the_milter_topology_checks_its_destinies_not_the_dual_chains(tmp_path: Path) -> None:
    assemble(SAMPLE, tmp_path / "out")
    compiled = {"rx": parse_cf(MILTER_CF), "tx": parse_cf(MILTER_CF)}
    assert check_policy(tmp_path / "out", SAMPLE, compiled, "milter") == []
    policy = load_policy(SAMPLE / "policy.toml")
    assert (policy.content.virus, policy.for_topology("milter").content.virus) == ("discard", "reject")
    assert policy.dkim is not None and policy.for_topology("milter").dkim is None


def _report(nodeid: str, outcome: str, when: str = "call", props: list[tuple[str, str]] | None = None) -> object:
    return SimpleNamespace(nodeid=nodeid, outcome=outcome, when=when, user_properties=props or [])


def test_the_summary_sets_both_topologies_side_by_side_with_their_claims(tmp_path: Path) -> None:
    milter = from_reports([
        _report("tests/test_topologies.py::test_split", "passed", props=[(NOT_BORNE_OUT, "removed one")]),
        _report("tests/test_topologies.py::test_root", "passed", props=[(DIFFERS, "runs as root")]),
        _report("tests/test_queue_only.py::test_q", "skipped", when="setup"),
        _report("tests/unit/test_topologies.py::test_lint", "passed"),  # a unit module of the same name
    ])
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="tests.test_queue_only" name="test_q"/>'
                     '<testcase classname="tests.test_topologies" name="test_root"><properties>'
                     f'<property name="{DIFFERS}" value="answered 250"/></properties></testcase>'
                     '</testsuite></testsuites>')
    assert other_topology_junit(tmp_path / "junit-milter.xml") == ("dual", junit)
    dual = from_junit(junit)
    table = side_by_side({"dual": dual, "milter": milter})
    assert "| test_queue_only.py | 1 passed | 1 n/a |" in table
    assert "| unit/test_topologies.py | (not run) | 1 passed |" in table
    assert "| test_topologies.py | 1 passed, 1 differs by design | 2 passed, 1 differs by design, 1 claim not " \
           "borne out |" in table
    assert [c[0] for c in milter.claims] == ["claim not borne out", "differs by design"]


def test_milter_destinies_the_snippets_do_not_set_are_found_where_the_milter_topology_runs(tmp_path: Path) -> None:
    own = tmp_path / "mine"
    own.mkdir()
    (own / "policy.toml").write_text((SAMPLE / "policy.toml").read_text().replace(
        'virus = "reject"  # 5xx', 'virus = "discard"  # 5xx'))
    assemble(own, tmp_path / "out")
    compiled = {"rx": parse_cf(MILTER_CF), "tx": parse_cf(MILTER_CF)}
    found = [str(f) for f in check_policy(tmp_path / "out", own, compiled, "milter")]
    milter = [f for f in found if "milter topology" in f]
    assert len(milter) == 1 and milter[0].startswith("config/sample/milter/amavis/60-milter:"), found
    assert "$final_virus_destiny is REJECT, but" in milter[0] and "milter.virus = 'discard'" in milter[0]
    # The dual chain's lint does not hold a site to a topology it does not run.
    assert not [f for f in map(str, check_policy(tmp_path / "out", own, compiled, "dual")) if "milter topology" in f]
