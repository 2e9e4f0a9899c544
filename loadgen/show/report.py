"""How a sweep is kept: points.csv and points.json (every figure per point), summary.md
(loadgen.show.summary) and the plots (loadgen.show.plots) in one directory, and read back again."""

import csv
import json
from dataclasses import asdict
from pathlib import Path

from loadgen.experiments.points import COLUMNS, Point, combine, knee_of, variants
from loadgen.show.summary import summary

__all__ = ["read_report", "write_report"]


def write_report(points: list[Point], directory: Path, meta: dict[str, object], *, plots: bool = True) -> Path:
    """points.csv, points.json, summary.md (and the plots) in `directory`."""
    if not points:
        raise ValueError("no sweep points to report")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "points.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for point in points:
            writer.writerow(asdict(point))
    shown = combine(points)
    knees = {name: knee_of([p for p in shown if p.variant == name]) for name in variants(shown)}
    document = {"meta": meta, "knee_workers": knees, "columns": COLUMNS, "points": [asdict(p) for p in points]}
    if len(shown) < len(points):
        document["combined"] = [asdict(p) for p in shown]
    (directory / "points.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / "summary.md").write_text(summary(shown, meta))
    if plots:
        from loadgen.show.plots import draw

        draw(shown, directory)
    return directory


def read_report(directory: Path) -> tuple[list[Point], dict[str, object]]:
    """The points and the meta of a sweep's points.json, to write its report again."""
    try:
        document = json.loads((directory / "points.json").read_text())
        # max_servers: a column of earlier versions, always equal to workers
        points = [Point(**{k: v for k, v in row.items() if k != "max_servers"}) for row in document["points"]]
    except (OSError, ValueError, KeyError, TypeError) as bad:
        raise ValueError(f"{directory / 'points.json'} is not a sweep report of this version: {bad}") from None
    return points, document["meta"]
