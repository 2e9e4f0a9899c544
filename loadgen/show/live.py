"""What a run shows while it runs: a live panel on a terminal, a line every few seconds
in a log (CI), both from the same figures."""

import time
from collections import deque
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadgen.experiments.runner import RunResult

__all__ = ["Progress"]


class Progress:
    """Callable as run_load's `progress`; use as a context manager around the run."""

    def __init__(self, console: Console, title: str = "load", *, every: float = 2.0) -> None:
        self.console = console
        self.title = title
        self.every = every
        self.history: deque[tuple[float, int, int]] = deque(maxlen=64)  # (time, accepted, arrived)
        self.live = Live(console=console, refresh_per_second=4, transient=False) if console.is_terminal else None
        self.last_line = 0.0

    def __enter__(self) -> "Progress":
        if self.live:
            self.live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.live:
            self.live.stop()

    def _rates(self, now: float, accepted: int, arrived: int) -> tuple[float, float]:
        """Accepted/s and arrived/s over the last few seconds (not since the start)."""
        self.history.append((now, accepted, arrived))
        while len(self.history) > 2 and now - self.history[0][0] > 5:
            self.history.popleft()
        then, accepted_then, arrived_then = self.history[0]
        span = max(now - then, 1e-9)
        return (accepted - accepted_then) / span, (arrived - arrived_then) / span

    def __call__(self, result: RunResult, arrived: int) -> None:
        now = time.time()
        delivered = sum(1 for m in result.scheduled if m in result.arrivals)
        accepted_rate, delivered_rate = self._rates(now, result.tally.accepted, delivered)
        figures = {
            "elapsed s": f"{now - result.started:.0f}",
            "sent": str(result.sent),
            "accepted": str(result.tally.accepted),
            "delivered": str(delivered),
            "in flight": str(len(result.scheduled) - delivered),
            "accepted/s": f"{accepted_rate:.1f}",
            "delivered/s": f"{delivered_rate:.1f}",
            "errors": f"{result.tally.errors} {dict(result.tally.replies) or ''}".strip(),
        }
        if self.live:
            table = Table(title=self.title, show_header=True)
            for name in figures:
                table.add_column(name, justify="right")
            table.add_row(*figures.values())
            self.live.update(table)
        elif now - self.last_line >= self.every:
            self.last_line = now
            self.console.print("  " + "  ".join(f"{name} {value}" for name, value in figures.items()),
                               highlight=False)
