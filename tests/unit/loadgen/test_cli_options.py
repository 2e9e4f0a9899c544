"""`python -m loadgen` at its edges: no chain up, bad options. No Docker needed."""

import socket

import pytest

from loadgen.cli.options import main, parser
from siteconfig.run_settings import QUEUE_RUNNERS, WORKERS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_without_a_chain_names_the_address_and_make_up(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert main(["run", "--port", str(port), "--messages", "5"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"nothing answers SMTP at 127.0.0.1:{port} (--port)" in said and "`make up` starts one" in said


def test_run_with_smtp_but_no_sink_names_the_sink_url(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        smtp_port, sink_port = listener.getsockname()[1], free_port()
        assert main(["run", "--port", str(smtp_port), "--sink-url", f"http://127.0.0.1:{sink_port}"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"the sink's API does not answer at http://127.0.0.1:{sink_port} (--sink-url)" in said


def test_a_sweep_with_an_unknown_variant_says_what_is_known(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--variants", "shipped,ramdisk", "--bench-messages", "0"]) == 2
    assert "unknown variant option 'ramdisk'" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["x", "0", "1,two", ""])
def test_workers_that_are_not_positive_integers_are_refused_naming_the_option(
    workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["sweep", "--workers", workers])
    assert refused.value.code == 2
    assert f"--workers: expected positive integers like 1,2,3, got {workers!r}" in capsys.readouterr().err


def test_a_bad_environment_twin_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOADGEN_WORKERS", "x")
    assert main(["sweep"]) == 2
    assert "LOADGEN_WORKERS: expected positive integers like 1,2,3, got 'x'" in capsys.readouterr().err
    monkeypatch.delenv("LOADGEN_WORKERS")
    monkeypatch.setenv("LOADGEN_SESSIONS", "many")
    assert main(["sweep"]) == 2
    assert "LOADGEN_SESSIONS: expected int, got 'many'" in capsys.readouterr().err


def test_a_runner_rule_past_what_the_images_accept_starts_no_chain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--workers", "1 8", "--queue-runners", "20x", "--bench-messages", "0"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"R=160 (20 x 8 workers): expected 1 to {QUEUE_RUNNERS.most} MTA-RX queue runners" in said


def test_a_burst_with_more_workers_than_the_images_accept_starts_no_chain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["burst", "--workers", str(WORKERS.most + 1), "--messages", "1"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"workers={WORKERS.most + 1}: expected 1 to {WORKERS.most} amavisd-new workers" in said


def test_the_sweeps_topology_comes_from_make_unless_its_twin_or_the_flag_says_otherwise(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOADGEN_TOPOLOGY", raising=False)
    monkeypatch.delenv("TESTBED_TOPOLOGY", raising=False)
    assert parser().parse_args(["sweep"]).topology == "dual"
    monkeypatch.setenv("TESTBED_TOPOLOGY", "milter")  # make capacity TOPOLOGY=milter
    assert parser().parse_args(["sweep"]).topology == "milter"
    assert parser().parse_args(["sweep", "--topology", "dual"]).topology == "dual"
    monkeypatch.setenv("LOADGEN_TOPOLOGY", "dual")
    assert parser().parse_args(["sweep"]).topology == "dual"


def test_a_topology_that_is_not_one_is_refused_naming_the_option_or_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--topology", "postfix"])
    assert "--topology: expected dual or milter, got 'postfix'" in capsys.readouterr().err
    monkeypatch.setenv("LOADGEN_TOPOLOGY", "single")
    assert main(["sweep"]) == 2
    assert "LOADGEN_TOPOLOGY: expected dual or milter, got 'single'" in capsys.readouterr().err


@pytest.mark.parametrize(("arguments", "says"), [
    (["--variants", "shipped,runners=2x"], "runners=2x has no meaning in the milter topology: one MTA, no queue"),
    (["--queue-runners", "4"], "--queue-runners 4: runners=4 has no meaning in the milter topology"),
])
def test_queue_runners_in_the_milter_topology_start_no_chain(
    arguments: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", "--topology", "milter", "--bench-messages", "0", *arguments]) == 2
    assert says in " ".join(capsys.readouterr().err.split())
