"""What the server said: one reply, and the whole dialogue of a transaction."""

import re
from dataclasses import dataclass, field

from aiosmtplib import SMTPStatus

__all__ = ["Reply", "SmtpResult"]

# sendmail's reply to DATA: "250 2.0.0 6APDVepT000046 Message accepted for delivery"
_QUEUE_ID = re.compile(r"^(?:\d\.\d\.\d\s+)?([0-9A-Za-z]{14})\s+Message accepted")


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass
class SmtpResult:
    """What the server said at each step. `data` is None when DATA was not reached."""

    banner: Reply | None = None
    mail: Reply | None = None
    rcpts: dict[str, Reply] = field(default_factory=dict)
    data: Reply | None = None
    transcript: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.data is not None and self.data.code == SMTPStatus.completed

    @property
    def queue_id(self) -> str | None:
        match = _QUEUE_ID.match(self.data.text) if self.data else None
        return match.group(1) if match else None

    def log(self, line: str) -> None:
        self.transcript.append(line)

    def __str__(self) -> str:
        return "SMTP transcript:\n  " + "\n  ".join(self.transcript)
