"""Load generator and capacity sweep for the dual-MTA chain.

What to send (workload, schedule), how it is measured (stats, matching, steady, knee),
how it is shown (points, summary, report, plots), and how it is run (runner over the
harness's SMTP layer; sweep and variants per point; cli parses the options, commands and
sweep_command act on them) live in separate modules.
"""
