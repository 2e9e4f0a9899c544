"""The counts a sweep sets on each chain, as written on the command line: amavisd-new's
workers ($max_servers, from --workers) and the rule for MTA-RX's queue runners (R=, from
--queue-runners or the variant option runners=). Each text is checked here, once, where it
enters loadgen, against the bounds of siteconfig/run_settings.py (whose ChainSettings derives
R from the rule and checks it): the images' entrypoints would refuse a bad count too, but
only after a chain had been started for it."""

import re

from siteconfig.errors import CountError
from siteconfig.run_settings import QUEUE_RUNNERS, WORKERS

__all__ = ["CountError", "parse_counts", "parse_runners", "parse_workers"]

__all__ = ["CountError", "parse_counts", "parse_runners", "parse_workers"]


def parse_counts(text: str, *, most: int, what: str) -> list[int]:
    """'1,2,3' or '1 2 3' -> [1, 2, 3], each from 1 to `most` (`what` they count, for the
    message)."""
    parts = text.replace(",", " ").split()
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise CountError(f"expected positive integers like 1,2,3, got {text!r}")
    if any(int(part) > most for part in parts):
        raise CountError(f"expected at most {most} {what} each, got {text!r}")
    return [int(part) for part in parts]


def parse_workers(text: str) -> list[int]:
    """--workers (or LOADGEN_WORKERS): worker counts, at most what the images accept."""
    return parse_counts(text, most=WORKERS.most, what="workers (the images refuse more)")


def parse_runners(text: str) -> str:
    """The rule for R: 'N' (a fixed R) or 'Nx' (N times the workers), normalised."""
    match = re.fullmatch(r"(\d+)(x?)", text.strip())
    if not match or not QUEUE_RUNNERS.fewest <= int(match.group(1)) <= QUEUE_RUNNERS.most:
        raise CountError(f"expected a number of queue runners like 4 ({QUEUE_RUNNERS.fewest} to "
                         f"{QUEUE_RUNNERS.most}), or a multiple of the workers like 2x, got {text!r}")
    return f"{int(match.group(1))}{match.group(2)}"

