"""Load generator and capacity sweep for the dual-MTA chain.

What to send (workload, schedule), how it is measured (stats, matching), how it is shown
(report, knee), and how it is run (runner, sweep, cli) live in separate modules.
"""
