"""Sweep variants as written on the command line, and the options a topology refuses."""

import re

import pytest

from loadgen.experiments.variants import Variant


def test_variants_parse_to_the_chain_they_describe() -> None:
    assert Variant.parse("shipped") == Variant()
    both = Variant.parse("tmpfs+memory=700m")
    assert both.tmpfs and both.amavis_memory == "700m" and both.label == "tmpfs+memory=700m"
    assert Variant.parse("no-sa+no-clamav").env(3) == {
        "RX_QUEUE_RUNNERS": "3", "AMAVIS_MAX_SERVERS": "3", "AMAVIS_SPAM_CHECKS": "0", "AMAVIS_VIRUS_CHECKS": "0",
        "AMAVIS_MEM_LIMIT": "0", "AMAVIS_SA_NETWORK": "", "DNS_LATENCY": "0", "TX_DKIM_SIGNING": "1"}


def test_dns_variants_turn_on_network_tests_and_delay_answers() -> None:
    slow = Variant.parse("sa-network+dns=200ms")
    assert slow.label == "sa-network+dns=200ms"
    assert slow.env(2)["AMAVIS_SA_NETWORK"] == "1" and slow.env(2)["DNS_LATENCY"] == "200ms"
    assert Variant.parse("sa-network+dns=0ms") == Variant.parse("sa-network")


def test_queue_runners_follow_the_workers_unless_a_variant_says_otherwise() -> None:
    assert Variant().queue_runners(4) == 4
    assert Variant.parse("runners=2x").queue_runners(3) == 6
    assert Variant.parse("runners=5").queue_runners(3) == 5
    assert Variant.parse("runners=2x").env(3)["RX_QUEUE_RUNNERS"] == "6"


def test_the_no_dkim_variant_leaves_mta_txs_signing_milter_out() -> None:
    unsigned = Variant.parse("no-dkim")
    assert unsigned.label == "no-dkim" and unsigned.env(3)["TX_DKIM_SIGNING"] == "0"
    assert Variant.parse("shipped").env(3)["TX_DKIM_SIGNING"] == "1"


@pytest.mark.parametrize("text", ["tmpf", "memory=lots", "swap", "dns=fast"])
def test_an_unknown_variant_option_is_refused_with_the_list(text: str) -> None:
    with pytest.raises(ValueError, match="use shipped, tmpfs, no-sa, no-clamav"):
        Variant.parse(text)


@pytest.mark.parametrize("text", ["runners=0", "runners=x2", "runners=101", "runners=-3"])
def test_a_queue_runner_count_that_cannot_be_is_refused_saying_what_would_do(text: str) -> None:
    with pytest.raises(ValueError, match=f"variant option '{text}': expected a number of queue runners like 4 "
                                         r"\(1 to 100\), or a multiple of the workers like 2x"):
        Variant.parse(text)


def test_r_past_what_the_images_accept_is_refused_before_any_chain() -> None:
    with pytest.raises(ValueError, match="runners=20x at 8 workers is R=160: expected at most 100"):
        Variant.parse("runners=20x").queue_runners(8)


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
