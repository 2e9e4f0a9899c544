"""The burst experiment's sampler: its shell loop, and its lines read back."""

from loadgen.experiments.burst import Sample, parse_samples, sampler_script


def test_sampler_lines_are_read_and_a_cut_line_is_skipped() -> None:
    text = "1000.25 3.10 2 40 2 0\n1000.50 3.20 1 41 2 0\nnot a line\n1000.75 3.3 2 4"
    assert parse_samples(text) == [Sample(1000.25, 3.1, 2, 40, 2, 0), Sample(1000.5, 3.2, 1, 41, 2, 0)]


def test_sampler_counts_the_dual_filter_port_from_loopback_only_and_the_milter_port() -> None:
    dual = sampler_script("dual", seconds=10, smtp_port=2525, filter_port=10034)
    milter = sampler_script("milter", seconds=10, smtp_port=25, filter_port=9999)
    assert "dport = :10034 and src 127.0.0.1" in dual and "sport = :2525" in dual
    assert "dport = :9999" in milter and "10034" not in milter and "sport = :25 " in milter
