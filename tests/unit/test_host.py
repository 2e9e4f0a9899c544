"""harness.host: what a fault row says about the machine, and when the loaded-host bound applies."""

from harness.host import HostGauge, HostLoad


def test_a_threshold_at_or_below_the_load_counts_as_reached_and_is_named() -> None:
    with HostGauge(threshold=0.0) as gauge:
        load = gauge.read()
    assert load.reached_threshold
    assert str(load).startswith(f"load <= {load.load_max:.1f} (>= 0 for ")
    assert load.threshold == 0.0 and load.seconds >= 0


def test_a_threshold_above_any_load_is_not_reached_and_not_named() -> None:
    load = HostGauge(threshold=1e9).read()
    assert not load.reached_threshold and load.seconds_above == 0.0
    assert ">=" not in str(load)


def test_shares_the_kernel_does_not_offer_are_left_out() -> None:
    text = str(HostLoad(seconds=10, load_max=3.25, cpu_wait=None, io_wait=0.5, steal=0.02))
    assert text == "load <= 3.2, io wait 50%, steal 2%"
