"""What to send: realistic messages, generated before the clock starts."""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from statistics import NormalDist

from harness import make_message, message_id_of
from harness.payloads import EICAR, GTUBE
from loadgen.send.delivery import BODY_HEADER, Delivery, content_digest
from loadgen.send.wire import on_the_wire
from siteconfig.policy import REMOTE_DOMAIN, current_policy

__all__ = ["BLOCK", "Mix", "Planned", "Workload", "pregenerate"]

POLICY = current_policy()
LOCAL_DOMAIN = POLICY.local_domain
LOCAL_RECIPIENTS = POLICY.mailboxes  # spam lovers left out: they would get the spam share
# A user of the policy: a configuration may refuse local senders it does not know (a
# virtusertable with a catch-all error does).
LOCAL_SENDER = POLICY.address(POLICY.users.existing[0])


@dataclass(frozen=True)
class Mix:
    """Shares of message kinds; the rest is ham. Spam and viruses are blocked by design,
    so only ham is expected to arrive."""

    spam: float = 0.0
    virus: float = 0.0

    def __post_init__(self) -> None:
        if min(self.spam, self.virus) < 0 or self.spam + self.virus > 1:
            raise ValueError(f"spam ({self.spam}) and virus ({self.virus}) shares must be >= 0 and sum to <= 1")


@dataclass(frozen=True)
class Workload:
    mix: Mix = field(default_factory=Mix)
    median_size: int = 4_000  # bytes; sizes are log-normal, most well under 30 KB
    max_size: int = 1_000_000
    attachment_share: float = 0.1
    local_share: float = 0.0  # to MTA-TX's mailboxes; the rest to remote recipients (the sink)
    submission_share: float = 0.0  # injected on 587 with STARTTLS and AUTH; the rest on 25
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("attachment_share", "local_share", "submission_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Planned:
    seq: int
    kind: str  # ham | spam | virus
    message_id: str
    sender: str
    recipient: str
    data: bytes
    via: str = "smtp"  # smtp (port 25) | submission (587)
    wire: bytes = b""  # data as DATA sends it (on_the_wire), made by pregenerate
    digest: str = ""  # content_digest, made by pregenerate (not per send: messages reach 1 MB)

    @property
    def expect_delivery(self) -> bool:
        return self.kind == "ham"

    @property
    def delivery(self) -> Delivery:
        """What its arrival must be: this Message-ID, at its recipient, with its body."""
        return Delivery(self.message_id, self.recipient, self.digest)

    @property
    def mailbox(self) -> str | None:
        """The local user whose mailbox receives it; None for a remote recipient."""
        user, _, domain = self.recipient.partition("@")
        return user if domain == LOCAL_DOMAIN else None


# Sizes and attachments are drawn in blocks of this many messages, one size from each
# twentieth of the log-normal distribution and the attachment share exactly, shuffled
# within the block (stratified sampling). The distribution is the same as independent
# draws, but any few dozen consecutive messages carry nearly the same mix: a 5-second
# window of a sweep then measures the chain, not which big messages happened to fall in it.
BLOCK = 20


def _blocks(rng: random.Random, workload: Workload) -> Iterator[tuple[int, bool]]:
    """(size, with an attachment) for each message, block after block."""
    normal = NormalDist()
    attached = round(workload.attachment_share * BLOCK)
    while True:
        sizes = [min(workload.max_size, int(math.exp(normal.inv_cdf((i + rng.random()) / BLOCK))
                                            * workload.median_size) + 200) for i in range(BLOCK)]
        rng.shuffle(sizes)
        with_attachment = set(rng.sample(range(BLOCK), attached))
        yield from ((size, i in with_attachment) for i, size in enumerate(sizes))


def _message(rng: random.Random, seq: int, kind: str, rcpt: str, size: int, attachment: bool) -> EmailMessage:
    marker = {"ham": "", "spam": GTUBE + "\n", "virus": EICAR + "\n"}[kind]
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     \n") for _ in range(min(size, 2000)))
    body = marker + (filler * (size // max(len(filler), 1) + 1))[:size] + "\n"
    message = make_message(sender=LOCAL_SENDER, to=rcpt, subject=f"loadgen {kind} {seq}", body=body,
                           tag=f"loadgen-{seq}", headers={"X-Loadgen-Seq": str(seq)})
    if attachment:
        message.add_attachment(rng.randbytes(min(size, 200_000)), maintype="application", subtype="octet-stream",
                               filename=f"data-{seq}.bin")
    return message


def pregenerate(count: int, workload: Workload) -> list[Planned]:
    """`count` messages, tagged with their sequence number and a unique Message-ID, to
    remote recipients (they arrive at the sink) or local ones (MTA-TX's mailboxes)."""
    rng = random.Random(workload.seed)
    shapes = _blocks(random.Random(f"shapes-{workload.seed}"), workload)
    planned = []
    for seq, (size, attachment) in zip(range(count), shapes, strict=False):
        roll = rng.random()
        spam, virus = workload.mix.spam, workload.mix.virus
        kind = "spam" if roll < spam else "virus" if roll < spam + virus else "ham"
        if rng.random() < workload.local_share:
            rcpt = f"{LOCAL_RECIPIENTS[seq % len(LOCAL_RECIPIENTS)]}@{LOCAL_DOMAIN}"
        else:
            rcpt = f"user{seq % 50}@{REMOTE_DOMAIN}"
        via = "submission" if rng.random() < workload.submission_share else "smtp"
        message = _message(rng, seq, kind, rcpt, size, attachment)
        digest = content_digest(message.as_bytes())
        message[BODY_HEADER] = digest
        data = message.as_bytes()
        planned.append(Planned(seq, kind, message_id_of(message), LOCAL_SENDER, rcpt, data, via, on_the_wire(data),
                               digest))
    return planned
