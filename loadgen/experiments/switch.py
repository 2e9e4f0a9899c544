"""make switch: a chain running OLD's configuration, under steady load, switched to NEW's the way
a site deploys a change: NEW's files installed into the running daemons' containers (their
queues stay where they are), then each daemon restarted in turn, MTA-TX first, then
amavisd-new, then MTA-RX (the rolling order: each hop's new configuration is in place before
mail reaches it), or all at once (the document's plain restart of everything). The load runs
before, during and after; every acknowledged message must arrive, once, whole.

A switch in place cannot move a chain's ports or queues: where NEW's shape differs from
OLD's there, it is refused in one message (deploy it as a new chain instead)."""

import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

from harness import Stack
from harness.duplicates import duplicate_cause
from harness.smtp.probes import ehlo_keywords
from loadgen.experiments.background import BackgroundLoad
from loadgen.experiments.runner import RunResult
from loadgen.send.workload import Workload, pregenerate
from siteconfig.errors import SwitchError
from siteconfig.shape import SiteShape

__all__ = ["ORDERS", "SwitchError", "SwitchResult", "run_switch"]

ORDERS = {"rolling": ("tx", "amavis", "rx"), "oneshot": ("tx", "amavis", "rx")}
DAEMONS = ("rx", "amavis", "clamd", "tx")
# What a configuration's layer of each image holds (Dockerfile.rx/.tx/.amavis): the folder's
# files, what install-config made of them, and the mailbox users. Copied from NEW's image.
CONFIG_PATHS = {
    "rx": "etc/mail etc/testbed etc/passwd etc/group etc/shadow",
    "tx": "etc/mail etc/testbed etc/passwd etc/group etc/shadow",
    "amavis": "etc/amavis etc/spamassassin etc/passwd etc/group etc/shadow var/lib/clamav/testbed.*",
}
IMAGES = {"rx": "testbed-rx", "tx": "testbed-tx", "amavis": "testbed-amavis"}


@dataclass
class Step:
    service: str
    how: str
    started: float
    ended: float


@dataclass
class SwitchResult:
    order: str
    steps: list[Step]
    acknowledged: int
    delivered: int
    lost: int
    duplicated: int
    wrong: int
    refusals: dict[str, int]  # reply code -> how many, during the whole run
    longest_gap: float  # the longest time no message was accepted, around the switch
    switch_started: float
    switch_ended: float
    size_offered: tuple[str, str] = ("", "")  # MTA-RX's EHLO SIZE before and after: the running daemon's limit
    causes: dict[str, int] = field(default_factory=dict)  # why messages arrived twice
    evidence: str = ""  # the trails of lost messages

    @property
    def ok(self) -> bool:
        return not self.lost and not self.wrong and not any(c.startswith("unexplained") for c in self.causes)


def check_in_place(old: SiteShape, new: SiteShape) -> None:
    """Refuse a switch that would move ports or queues."""
    moved = []
    for role in ("rx", "tx"):
        a, b = getattr(old, role), getattr(new, role)
        if sorted(a.queue_dirs) != sorted(b.queue_dirs):
            moved.append(f"MTA-{role.upper()}'s queues ({', '.join(a.queue_dirs)} -> {', '.join(b.queue_dirs)})")
    if old.compose_env() != new.compose_env():
        changed = sorted(k for k in set(old.compose_env()) | set(new.compose_env())
                         if old.compose_env().get(k) != new.compose_env().get(k))
        moved.append(f"the chain's ports or wiring ({', '.join(changed)})")
    if moved:
        raise SwitchError(f"NEW moves {' and '.join(moved)}: a switch in place keeps the running containers' "
                          "ports and queues; deploy NEW as a chain of its own (make up CONFIG=NEW)")


def install(stack: Stack, service: str, tag: str) -> None:
    """NEW's configuration files into the running container, as a deploy copies them."""
    image = f"{IMAGES[service]}:{tag}"
    source = subprocess.Popen(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "sh",
                               image, "-c", f"cd / && tar -cf - $(ls -d {CONFIG_PATHS[service]} 2>/dev/null)"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    container = stack.container(service).name
    into = subprocess.run(["docker", "exec", "-i", container, "tar", "-C", "/", "-xf", "-"], stdin=source.stdout,
                          capture_output=True)
    _, said = source.communicate()
    if source.returncode or into.returncode:
        raise SwitchError(f"cannot install {image}'s configuration into {container}: "
                          f"{(said or into.stderr).decode().strip()[:500]}")


def _restart(stack: Stack, service: str, steps: list[Step], how: str = "restarted") -> None:
    started = time.time()
    stack.restart(service, timeout=180)
    steps.append(Step(service, how, started, time.time()))


def switch(stack: Stack, tag: str, order: str) -> list[Step]:
    """Install NEW and restart: one daemon after another, or all at once."""
    steps: list[Step] = []
    services = ORDERS[order]
    if order == "rolling":
        for service in services:
            install(stack, service, tag)
            _restart(stack, service, steps)
        return steps
    for service in services:
        install(stack, service, tag)
    with ThreadPoolExecutor(max_workers=len(services)) as pool:  # a restart that fails raises here
        for restarted in [pool.submit(_restart, stack, s, steps, "restarted at once") for s in services]:
            restarted.result()
    return steps


def _longest_gap(result: RunResult, start: float, end: float) -> float:
    """The longest stretch from shortly before the switch to shortly after it in which the
    chain accepted nothing: how long a client could not hand mail in."""
    times = sorted(t for t in result.accepted.values() if start - 30 <= t <= end + 30)
    marks = [start, *[t for t in times if t >= start], end] if times else [start, end]
    return round(max((b - a for a, b in pairwise(marks)), default=0.0), 1)


def _size_offered(stack: Stack) -> str:
    """MTA-RX's EHLO SIZE as its running daemon offers it: which configuration it runs."""
    sizes = [word for word in ehlo_keywords(port=stack.smtp_port) if word.startswith("SIZE")]
    return sizes[0].removeprefix("SIZE").strip() or "(no limit)" if sizes else "(no SIZE)"


def run_switch(stack: Stack, tag: str, order: str, *, rate: float, before: float, after: float,
               seed: int = 1) -> SwitchResult:
    """Load at `rate` msg/s for `before` seconds on OLD, the switch, `after` seconds on NEW,
    then the drain: what was acknowledged, delivered, lost, duplicated and refused."""
    plan = pregenerate(int(rate * (before + after + 300)) + 50,
                       Workload(local_share=0.3, submission_share=0.2, median_size=3000, seed=seed))
    size_before = _size_offered(stack)
    with BackgroundLoad(stack, plan, rate=rate, drain=600) as load:
        load.wait_accepted(max(5, int(rate * before)), timeout=before + 120)
        started = time.time()
        steps = switch(stack, tag, order)
        ended = time.time()
        load.wait_accepted(max(5, int(rate * after)), timeout=after + 180)
        result = load.result()
        load.settle(result, lambda: not stack.rx.queue() and not stack.tx.queue(), timeout=600)
    size_after = _size_offered(stack)
    matched = result.matched()
    logs = {service: stack.logs(service) for service in DAEMONS} if matched.duplicated else {}
    causes = Counter(duplicate_cause(logs, d.message_id, set(ORDERS[order])) for d in matched.duplicated)
    evidence = "\n".join(stack.trail(d.message_id) for d in matched.missing[:3])
    return SwitchResult(order=order, steps=steps, acknowledged=len(result.scheduled), delivered=matched.delivered,
                        lost=len(matched.missing), duplicated=sum(matched.duplicated.values()),
                        wrong=len(matched.wrong), refusals=dict(result.tally.replies),
                        longest_gap=_longest_gap(result, started, ended), switch_started=started,
                        switch_ended=ended, size_offered=(size_before, size_after), causes=dict(causes),
                        evidence=evidence)
