"""python -m loadgen switch: OLD's chain (the configuration under test, $TESTBED_CONFIG) under
steady load switched to NEW's (--to: its image tag and assembled folder, as make switch gives
them), in each order asked for, a fresh chain each; a table, reports/switch.md, exit 1 on any
loss."""

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import Stack
from harness.topology import topology_from_env
from loadgen.experiments.switch import ORDERS, SwitchError, check_in_place, run_switch
from siteconfig.shape import SiteShape, current_shape, shape_path

__all__ = ["cmd_switch"]

console = Console()


def cmd_switch(args: argparse.Namespace) -> int:
    topology = topology_from_env()
    if topology.name != "dual":
        raise ValueError("make switch restarts the dual chain's daemons in the document's order: TOPOLOGY=dual only")
    orders = [order.strip() for order in args.orders.split(",") if order.strip()]
    unknown = [order for order in orders if order not in ORDERS]
    if unknown or not orders:
        raise ValueError(f"--orders takes {', '.join(ORDERS)} (comma-separated), got {args.orders!r}")
    new_shape = shape_path("dual", args.to_config)
    if not new_shape.is_file():
        raise ValueError(f"{new_shape} is missing: make build CONFIG=NEW writes it (make switch does)")
    try:
        check_in_place(current_shape("dual"), SiteShape.from_json(new_shape.read_text()))
    except SwitchError as refused:
        console.print(f"[red]switch refused:[/] {refused}")
        return 2
    results = []
    for order in orders:
        console.print(f"switch ({order}): a chain on OLD, {args.rate} msg/s for {args.before:.0f} s, then NEW "
                      f"({args.to_tag}) installed and {' -> '.join(ORDERS[order]) if order == 'rolling' else 'all'} "
                      f"restarted, {args.after:.0f} s more, then the drain ...")
        with Stack() as stack:
            results.append(run_switch(stack, args.to_tag, order, rate=args.rate, before=args.before,
                                      after=args.after))
    table = Table(title="OLD -> NEW under load")
    for column in ("order", "switch", "acknowledged", "delivered", "lost", "duplicated", "refused (code: n)",
                   "longest gap in acceptance", "MTA-RX SIZE before -> after"):
        table.add_column(column)
    lines = ["# make switch", "", "| order | steps (s) | acknowledged | delivered | lost | duplicated | refused | "
             "longest gap (s) | MTA-RX SIZE before -> after |", "|---|---|---:|---:|---:|---:|---|---:|---|"]
    for r in results:
        steps = ", ".join(f"{s.service} {s.ended - s.started:.1f}" for s in r.steps)
        refused = ", ".join(f"{code}: {n}" for code, n in sorted(r.refusals.items())) or "none"
        duplicated = f"{r.duplicated}" + (f" ({'; '.join(f'{c}: {n}' for c, n in r.causes.items())})"
                                          if r.causes else "")
        sizes = " -> ".join(r.size_offered)
        table.add_row(r.order, steps, str(r.acknowledged), str(r.delivered), str(r.lost), duplicated, refused,
                      f"{r.longest_gap} s", sizes)
        lines.append(f"| {r.order} | {steps} | {r.acknowledged} | {r.delivered} | {r.lost} | {duplicated} | "
                     f"{refused} | {r.longest_gap} | {sizes} |")
    console.print(table)
    for r in results:
        if not r.ok:
            console.print(f"[red]{r.order}: {r.lost} lost, {r.wrong} wrong copies, duplicates {r.causes}[/]\n"
                          f"{r.evidence}")
    report = Path(args.reports) / "switch.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines) + "\n")
    console.print(f"report: {report}")
    return 0 if all(r.ok for r in results) else 1
