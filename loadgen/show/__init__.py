"""How results are shown: a sweep's report files (report, summary, plots), several sweeps
side by side (compare), a burst's report (burst_report), and a run while it runs (live).
Reads what experiments return; runs nothing."""
