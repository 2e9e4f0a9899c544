"""Sweep variants as written on the command line, and the options a topology refuses."""

import re

import pytest

from loadgen.experiments.variants import Variant
from siteconfig.run_settings import QUEUE_RUNNERS

# What Variant.env(workers) wrote before the settings were one object (loadgen/experiments/
# variants.py at 5453667), read off that code: a point's chain gets the same variables now.
SHIPPED_AT_3 = {"RX_QUEUE_RUNNERS": "3", "AMAVIS_MAX_SERVERS": "3", "AMAVIS_SPAM_CHECKS": "1",
                "AMAVIS_VIRUS_CHECKS": "1", "AMAVIS_MEM_LIMIT": "0", "AMAVIS_SA_NETWORK": "", "DNS_LATENCY": "0",
                "TX_DKIM_SIGNING": "1"}
BEFORE = [
    ("shipped", 3, SHIPPED_AT_3),
    ("no-sa+no-clamav", 3, {**SHIPPED_AT_3, "AMAVIS_SPAM_CHECKS": "0", "AMAVIS_VIRUS_CHECKS": "0"}),
    ("shipped", 1, {**SHIPPED_AT_3, "RX_QUEUE_RUNNERS": "1", "AMAVIS_MAX_SERVERS": "1"}),
    ("runners=2x", 3, {**SHIPPED_AT_3, "RX_QUEUE_RUNNERS": "6"}),
    ("runners=5", 3, {**SHIPPED_AT_3, "RX_QUEUE_RUNNERS": "5"}),
    ("tmpfs+memory=700m", 2, {**SHIPPED_AT_3, "RX_QUEUE_RUNNERS": "2", "AMAVIS_MAX_SERVERS": "2",
                              "AMAVIS_MEM_LIMIT": "700m"}),
    ("sa-network+dns=200ms+no-dkim", 8, {**SHIPPED_AT_3, "RX_QUEUE_RUNNERS": "8", "AMAVIS_MAX_SERVERS": "8",
                                         "AMAVIS_SA_NETWORK": "1", "DNS_LATENCY": "200ms", "TX_DKIM_SIGNING": "0"}),
    ("dns=0ms", 3, SHIPPED_AT_3),
]


@pytest.mark.parametrize(("text", "workers", "env"), BEFORE)
def test_a_points_chain_gets_the_variables_it_got_before(text: str, workers: int, env: dict[str, str]) -> None:
    assert Variant.parse(text).settings(workers).env() == env


def test_variants_parse_to_the_chain_they_describe() -> None:
    assert Variant.parse("shipped") == Variant()
    both = Variant.parse("tmpfs+memory=700m")
    assert both.chain.tmpfs and both.chain.amavis_memory == "700m" and both.label == "tmpfs+memory=700m"
    assert both.settings(2).compose_files() == ("compose.tmpfs.yaml",)
    assert Variant().settings(2).compose_files() == ()


def test_dns_variants_turn_on_network_tests_and_delay_answers() -> None:
    slow = Variant.parse("sa-network+dns=200ms")
    assert slow.label == "sa-network+dns=200ms"
    assert slow.settings(2).env()["AMAVIS_SA_NETWORK"] == "1" and slow.settings(2).env()["DNS_LATENCY"] == "200ms"
    assert Variant.parse("sa-network+dns=0ms") == Variant.parse("sa-network")


def test_queue_runners_follow_the_workers_unless_a_variant_says_otherwise() -> None:
    assert Variant().settings(4).queue_runners == 4
    assert Variant.parse("runners=2x").settings(3).queue_runners == 6
    assert Variant.parse("runners=5").settings(3).queue_runners == 5
    assert Variant.parse("runners=2x+runners=5").settings(3).queue_runners == 5  # the last rule stands
    assert [Variant.parse(f"runners={rule}").label for rule in ("2x", "05", "1x")] == [
        "runners=2x", "runners=5", "runners=1x"]


def test_the_no_dkim_variant_leaves_mta_txs_signing_milter_out() -> None:
    unsigned = Variant.parse("no-dkim")
    assert unsigned.label == "no-dkim" and unsigned.settings(3).env()["TX_DKIM_SIGNING"] == "0"
    assert Variant.parse("shipped").settings(3).env()["TX_DKIM_SIGNING"] == "1"


@pytest.mark.parametrize("text", ["tmpf", "memory=lots", "swap", "dns=fast"])
def test_an_unknown_variant_option_is_refused_with_the_list(text: str) -> None:
    with pytest.raises(ValueError, match="use shipped, tmpfs, no-sa, no-clamav"):
        Variant.parse(text)


@pytest.mark.parametrize("text", ["runners=0", "runners=x2", f"runners={QUEUE_RUNNERS.most + 1}", "runners=-3"])
def test_a_queue_runner_count_that_cannot_be_is_refused_saying_what_would_do(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"variant option '{text}': expected a number of queue runners like "
                                                   f"4 (1 to {QUEUE_RUNNERS.most}), or a multiple of the workers "
                                                   "like 2x")):
        Variant.parse(text)


def test_r_past_what_the_images_accept_is_refused_before_any_chain() -> None:
    with pytest.raises(ValueError, match=re.escape(f"R=160 (20 x 8 workers): expected 1 to {QUEUE_RUNNERS.most} "
                                                   "MTA-RX queue runners")):
        Variant.parse("runners=20x").settings(8)


@pytest.mark.parametrize(("text", "says"), [
    ("runners=2x", "runners=2x has no meaning in the milter topology: one MTA, no queue runners"),
    ("tmpfs+runners=4", "runners=4 has no meaning in the milter topology: one MTA, no queue runners"),
    ("no-dkim", "no-dkim has no meaning in the milter topology: its MTA calls no DKIM milter"),
])
def test_options_without_meaning_in_the_milter_topology_are_refused(text: str, says: str) -> None:
    variant = Variant.parse(text)
    variant.check("dual")
    with pytest.raises(ValueError, match=re.escape(says)):
        variant.check("milter")


def test_the_content_filters_variants_apply_to_the_milter_topology_too() -> None:
    for text in ("shipped", "tmpfs", "no-sa+no-clamav", "memory=700m", "sa-network+dns=200ms"):
        Variant.parse(text).check("milter")
