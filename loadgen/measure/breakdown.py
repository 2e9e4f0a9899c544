"""Where a message's time goes, leg by leg: waiting in MTA-RX's queue, then amavisd-new's
own stages as its TIMING log line reports them (receiving from MTA-RX, MIME decoding,
the virus scan, SpamAssassin, passing to MTA-TX), then MTA-TX to the arrival.

The milter topology has legs of its own: a message waits for amavisd-new inside the SMTP
session (end of DATA -> amavisd-new started; there is no MTA-RX queue), amavisd-new gets it
from amavisd-milter as a file and hands back a verdict (no SMTP in, no passing to MTA-TX),
then the 250 goes out and the one MTA delivers. A leg a topology does not have is absent
(None in a Point), not zero.

amavisd-new logs at $log_level 2, per message, a line
    (12345-01) TIMING [total 1234 ms, cpu 567 ms] - SMTP greeting: 3.1 (0%)0, ..., rundown: 0.4 (0%)100
and, from the same task "(12345-01)", the verdict line with the Message-ID. Docker stamps
each line when it reads it, so the TIMING line's stamp is when amavisd-new was done with
the message, and done minus its total is when it started.
"""

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ALL_LEGS", "LEGS", "LEG_NAMES", "MILTER_LEGS", "AmavisTiming", "Breakdown", "breakdown", "legs_of",
           "parse_timings", "stage_leg"]

# The legs in the order a message passes them; each is a column of the report and a bar
# segment of its plot. LEGS: the dual-MTA chain's; MILTER_LEGS: the milter topology's.
LEGS = ("rx_queue", "receive", "mime", "virus", "spam", "forward", "other", "tx")
MILTER_LEGS = ("session", "mime", "virus", "spam", "other", "reply", "mta")
ALL_LEGS = ("rx_queue", "session", "receive", "mime", "virus", "spam", "forward", "other", "reply", "tx", "mta")
_AMAVIS_LEGS = ("receive", "mime", "virus", "spam", "forward", "other")
LEG_NAMES = {
    "session": "in the SMTP session (end of DATA -> amavisd-new)",
    "rx_queue": "MTA-RX queue (accepted -> amavisd-new)",
    "receive": "amavisd-new: SMTP in from MTA-RX",
    "mime": "amavisd-new: MIME decoding, file types",
    "virus": "amavisd-new: virus scan (clamd)",
    "spam": "amavisd-new: SpamAssassin",
    "forward": "amavisd-new: passing to MTA-TX",
    "other": "amavisd-new: the rest (verdict, logging)",
    "tx": "MTA-TX and on (amavisd-new done -> arrival)",
    "reply": "amavisd-milter, sendmail (amavisd-new done -> 250)",
    "mta": "the MTA and on (250 -> arrival)",
}

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\s")
_TASK = re.compile(r"\((\d+-\d+(?:-\d+)?)\)")
_MESSAGE_ID = re.compile(r"Message-ID: <([^>]*)>")
_TIMING = re.compile(r"\bTIMING \[total (\d+) ms\b[^\]]*\] - (.*)$")
_STAGE = re.compile(r"\s*([^:,]+?): ([\d.]+) \(\d+%\)(\d+)")


def stage_leg(stage: str) -> str:
    """The leg an amavisd-new TIMING stage belongs to."""
    if stage.startswith("SMTP"):
        return "receive"
    if stage.startswith(("AV-scan", "av-scan", "virus")):
        return "virus"
    if stage.startswith(("SA ", "spam", "sa_", "SA-")):
        return "spam"
    if stage.startswith(("fwd-", "write-header")):
        return "forward"
    if stage.startswith(("mime_decode", "get-file-type", "parts_decode", "decompose", "digest", "collect_info",
                         "check_header", "check_init")):
        return "mime"
    return "other"


@dataclass(frozen=True)
class AmavisTiming:
    message_id: str
    done: float  # epoch seconds: when amavisd-new logged its TIMING line
    total_ms: float
    legs_ms: dict[str, float]  # receive, mime, virus, spam, forward, other

    @property
    def started(self) -> float:
        return self.done - self.total_ms / 1000


def _epoch(line: str) -> float | None:
    stamp = _STAMP.match(line)
    if not stamp:
        return None
    whole = datetime.fromisoformat(stamp.group(1) + "+00:00").timestamp()
    fraction = stamp.group(2) or "0"
    return whole + int(fraction) / 10 ** len(fraction)


def parse_timings(log: str) -> dict[str, AmavisTiming]:
    """Message-ID -> amavisd-new's timing of it, from a log read with Docker's
    timestamps. A message amavisd-new handled twice (a retry) keeps its last timing; a
    TIMING line whose stages do not run to 100% (cut short) is left out."""
    message_of_task: dict[str, str] = {}
    timings = {}
    for line in log.splitlines():
        task = _TASK.search(line)
        if not task:
            continue
        if found := _MESSAGE_ID.search(line):
            message_of_task[task.group(1)] = found.group(1)
        if (timing := _TIMING.search(line)) and task.group(1) in message_of_task:
            done = _epoch(line)
            if done is None:
                continue
            stages = list(_STAGE.finditer(timing.group(2)))
            if not stages or stages[-1].group(3) != "100":  # cut short (a log line split): not a whole account
                continue
            legs = dict.fromkeys(_AMAVIS_LEGS, 0.0)
            for stage in stages:
                legs[stage_leg(stage.group(1).strip())] += float(stage.group(2))
            message_id = message_of_task[task.group(1)]
            timings[message_id] = AmavisTiming(message_id, done, float(timing.group(1)), legs)
    return timings


@dataclass(frozen=True)
class Breakdown:
    """Mean milliseconds per leg over `messages` messages."""

    legs_ms: dict[str, float]
    messages: int

    @property
    def total_ms(self) -> float:
        return sum(self.legs_ms.values())


def legs_of(topology: str) -> tuple[str, ...]:
    """The legs of a topology ("dual" or "milter")."""
    return MILTER_LEGS if topology == "milter" else LEGS


def _leg_ms(leg: str, timing: AmavisTiming, accepted: float, arrived: float, data_sent: float) -> float:
    """One message's milliseconds in a leg that is not one of amavisd-new's stages."""
    start, end = {"rx_queue": (accepted, timing.started), "session": (data_sent, timing.started),
                  "reply": (timing.done, accepted), "tx": (timing.done, arrived), "mta": (accepted, arrived)}[leg]
    return max(0.0, end - start) * 1000


def breakdown(message_ids: Iterable[str], accepted: dict[str, float], arrived: dict[str, float],
              timings: dict[str, AmavisTiming], *, data_sent: dict[str, float] | None = None,
              legs: tuple[str, ...] = LEGS) -> Breakdown:
    """Mean time per leg of the messages that were accepted, timed by amavisd-new and
    arrived. `accepted`: when MTA-RX said 250; `arrived`: first arrival; `data_sent`: when
    the client wrote the end of DATA (needed for the leg "session"). An amavisd-new stage
    whose leg is not in `legs` counts as "other", so the legs still add up."""
    per_leg: dict[str, list[float]] = {leg: [] for leg in legs}
    sent = data_sent or {}
    count = 0
    for message_id in message_ids:
        timing = timings.get(message_id)
        if timing is None or message_id not in accepted or message_id not in arrived:
            continue
        if "session" in legs and message_id not in sent:
            continue
        count += 1
        for leg in legs:
            if leg not in _AMAVIS_LEGS:
                per_leg[leg].append(_leg_ms(leg, timing, accepted[message_id], arrived[message_id],
                                            sent.get(message_id, 0.0)))
        folded = sum(ms for leg, ms in timing.legs_ms.items() if leg not in legs)
        for leg in (leg for leg in _AMAVIS_LEGS if leg in legs):
            per_leg[leg].append(timing.legs_ms.get(leg, 0.0) + (folded if leg == "other" else 0.0))
    return Breakdown({leg: statistics.fmean(v) if v else 0.0 for leg, v in per_leg.items()}, count)
