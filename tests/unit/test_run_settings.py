"""One chain run's settings (siteconfig/run_settings.py): R derived once, the compose variables
written only for what a run sets, the bounds stated once and held equal to the images'."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from siteconfig.policy import Limits
from siteconfig.run_settings import QUEUE_RUNNERS, WORKERS, Bound, ChainSettings, ChainSettingsError

REPO = Path(__file__).resolve().parents[2]


def test_r_equals_the_workers_unless_given_or_multiplied() -> None:
    assert ChainSettings(workers=4).queue_runners == 4
    assert ChainSettings(workers=3, runners_per_worker=2).queue_runners == 6
    assert ChainSettings(workers=3, fixed_queue_runners=5).queue_runners == 5
    assert ChainSettings(fixed_queue_runners=5).queue_runners == 5
    assert ChainSettings().queue_runners is None  # the .mc's R=
    assert ChainSettings(runners_per_worker=2).queue_runners is None  # a rule waiting for its workers


def test_r_follows_the_workers_a_copy_is_given() -> None:
    """R is derived, not copied: replace() derives it again for the new workers."""
    doubled = ChainSettings(workers=2, runners_per_worker=2)
    assert replace(doubled, workers=5).queue_runners == 10
    assert replace(ChainSettings(runners_per_worker=3), workers=2).queue_runners == 6


@pytest.mark.parametrize(("fields", "says"), [
    ({"workers": 0}, f"workers=0: expected 1 to {WORKERS.most} amavisd-new workers ($max_servers)"),
    ({"workers": WORKERS.most + 1}, f"workers={WORKERS.most + 1}: expected 1 to {WORKERS.most}"),
    ({"workers": "4"}, "workers=4: expected 1 to"),
    ({"fixed_queue_runners": 0}, f"R=0: expected 1 to {QUEUE_RUNNERS.most} MTA-RX queue runners (R=)"),
    ({"workers": 8, "runners_per_worker": 20}, f"R=160 (20 x 8 workers): expected 1 to {QUEUE_RUNNERS.most}"),
    ({"workers": 2, "runners_per_worker": 0}, "0 queue runners per worker: expected at least 1"),
    ({"fixed_queue_runners": 4, "runners_per_worker": 2}, "R=4 and 2 queue runners per worker: give one of them"),
])
def test_a_count_no_chain_can_have_is_refused_saying_what_would_do(fields: dict[str, object], says: str) -> None:
    with pytest.raises(ChainSettingsError, match=re.escape(says)):
        ChainSettings(**fields)  # type: ignore[arg-type]


def test_a_run_writes_only_the_variables_it_sets() -> None:
    """The rest stay the caller's environment's (make test AMAVIS_MAX_SERVERS=4), else compose's."""
    assert ChainSettings().env() == {}
    assert ChainSettings(sa_network=False).env() == {"AMAVIS_SA_NETWORK": ""}  # as the configuration has them
    assert ChainSettings(sa_network=True, dkim_signing=False, spam_checks=True).env() == {
        "AMAVIS_SA_NETWORK": "1", "TX_DKIM_SIGNING": "0", "AMAVIS_SPAM_CHECKS": "1"}
    assert ChainSettings(free_host_ports=True).env() == {
        "RX_SMTP_PORT": "", "RX_SUBMISSION_PORT": "", "OFFICE_SMTP_PORT": "", "SINK_API_PORT": ""}


def test_the_switches_that_are_compose_files_name_them() -> None:
    assert ChainSettings().compose_files() == ()
    assert ChainSettings(tmpfs=True).compose_files() == ("compose.tmpfs.yaml",)
    assert ChainSettings(rx_docker_dns=True).compose_files() == ("compose.docker-dns.yaml",)
    assert ChainSettings(tmpfs=True).env() == {}


def test_every_variable_a_run_writes_is_one_compose_reads() -> None:
    """A name spelt wrong here would set nothing, silently."""
    read = set(re.findall(r"\$\{([A-Z_0-9]+)", "".join(p.read_text() for p in REPO.glob("compose*.yaml"))))
    everything = ChainSettings(
        workers=2, spam_checks=True, virus_checks=True, sa_network=True, amavis_memory="1g", amavis_child_timeout=60,
        rx_sendmail_options="-OTimeout.helo=20s", dkim_signing=True, tx_queue_interval="10s", dns_latency="200ms",
        dns_jitter="20ms", free_host_ports=True)
    assert set(everything.env()) <= read, set(everything.env()) - read
    assert all((REPO / name).is_file() for name in ChainSettings(tmpfs=True, rx_docker_dns=True).compose_files())


@pytest.mark.parametrize(("script", "variable", "bound"), [
    ("images/amavis/entrypoint", "AMAVIS_MAX_SERVERS", WORKERS),
    ("images/amavis/amavisd-milter", "AMAVIS_MAX_SERVERS", WORKERS),
    ("images/rx/entrypoint", "RX_QUEUE_RUNNERS", QUEUE_RUNNERS),
])
def test_the_images_accept_what_a_run_may_ask_for(script: str, variable: str, bound: Bound) -> None:
    """Shell cannot import the bounds: its numbers are held equal to them here."""
    said = re.findall(rf'require_count {variable} "\${variable}" (\d+)', (REPO / script).read_text())
    assert said == [str(bound.most)], said


def test_the_policy_states_the_same_bounds() -> None:
    assert Limits(max_message_size=0, queue_runners=QUEUE_RUNNERS.most, max_servers=WORKERS.most)
    with pytest.raises(ValueError, match=f"less than or equal to {WORKERS.most}"):
        Limits(max_message_size=0, queue_runners=1, max_servers=WORKERS.most + 1)
    with pytest.raises(ValueError, match=f"greater than or equal to {QUEUE_RUNNERS.fewest}"):
        Limits(max_message_size=0, queue_runners=QUEUE_RUNNERS.fewest - 1, max_servers=1)


# What the writers ChainSettings replaced wrote, read off their code at 5453667 (the sweep's
# variants: tests/unit/loadgen/test_experiments_variants.py), beside the settings their callers
# now make: the same inputs, the same variables.
FAULT_TIMEOUTS = "-OTimeout.initial=20s -OTimeout.datafinal=30s"


@pytest.mark.parametrize(("settings", "before"), [
    # loadgen/experiments/burst.py, run_burst(..., workers=4, ...)
    (ChainSettings(workers=4), {"AMAVIS_MAX_SERVERS": "4", "RX_QUEUE_RUNNERS": "4"}),
    (ChainSettings(workers=1), {"AMAVIS_MAX_SERVERS": "1", "RX_QUEUE_RUNNERS": "1"}),
    # tests/test_queue_only.py, the wider chain
    (ChainSettings(workers=4), {"RX_QUEUE_RUNNERS": "4", "AMAVIS_MAX_SERVERS": "4"}),
    # tests/test_faults.py, FAULT_ENV (its RX_TIMEOUTS shortened here) and the low-disk recreate
    (ChainSettings(rx_sendmail_options=FAULT_TIMEOUTS, tx_queue_interval="10s", amavis_child_timeout=60),
     {"RX_SENDMAIL_OPTIONS": FAULT_TIMEOUTS, "TX_QUEUE_INTERVAL": "10s", "AMAVIS_CHILD_TIMEOUT": "60"}),
    (ChainSettings(rx_sendmail_options=f"{FAULT_TIMEOUTS} -OMinFreeBlocks=2000000000"),
     {"RX_SENDMAIL_OPTIONS": f"{FAULT_TIMEOUTS} -OMinFreeBlocks=2000000000"}),
    # tests/test_dns.py, the slow DNS recreated and then restored (recreate(service, {}))
    (ChainSettings(dns_latency="300ms", dns_jitter="20ms"), {"DNS_LATENCY": "300ms", "DNS_JITTER": "20ms"}),
    (ChainSettings(), {}),
])
def test_each_replaced_writer_gets_the_variables_it_wrote(settings: ChainSettings, before: dict[str, str]) -> None:
    assert settings.env() == before
