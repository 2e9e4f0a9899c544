"""Load generator and capacity sweep for the dual-MTA chain, in five wings that follow the
mail, each importing only the wings before it (never one after: no import runs back up):

  send/         what is sent: workload, schedule, wire, delivery (what must arrive)
  measure/      what is observed and computed: arrivals, matching, stats, knee, breakdown
  experiments/  what is run on a chain: runner, steady, sweep, variants, counts, points,
                background, burst, bench, acceptrate, postfix_tools
  show/         how results are shown: report, summary, plots, compare, burst_report, live
  cli/          `python -m loadgen`: options, commands, sweep_command (entry: __main__.py)

measure imports send (the deliveries it watches for are those send planned); experiments
both; show renders what experiments return (with measure's legs and histograms); cli may
import any of them. A piece two wings need lives in the lower one.
"""
