"""A fuzz pass over port 25: thousands of randomized SMTP sessions, grammar-aware (real
commands in a plausible order, their arguments mutated), bounded in time. Afterwards the
chain still delivers and no daemon restarted; a hang or a crash is reported with the
input that caused it."""

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field

import pytest

from harness import Stack
from harness.raw_smtp import RawSession
from harness.smtp import SMTPStatus
from siteconfig.policy import Policy
from tests.conftest import REMOTE_DOMAIN, assert_chain_still_delivers
from tests.run_report import HOSTILE

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SESSIONS = 3000  # at most; the time bound usually ends the pass first
SECONDS = 75
CONCURRENCY = 16
REPLY_TIMEOUT = 30  # no reply within this: a hang (sendmail's own timeouts are longer)

MUTANTS = [b"", b"%s%s%s%n", b"\x00", b"\xff\xfe", b"A" * 1100, b"<>", b"<<>>", b"\"", b"\\", b"@", b"@@", b":",
           b"[", b"[127.0.0.1]", b"[IPv6:::1]", b"\r", b"\n", b"\t", b" " * 300, b"\xc3\xa9\xe2\x82\xac", b"../" * 50,
           b"$(id)", b"`id`", b"-1", b"99999999999999999999", b"SIZE=-1", b"BODY=8BITMIME", b"SMTPUTF8", b"AUTH=<>",
           b"RET=FULL ENVID=" + b"x" * 600, b"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;" + b"y" * 300]


def mutate(rng: random.Random, value: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return rng.choice(MUTANTS)
    if choice < 0.5:
        return value + rng.choice(MUTANTS)
    if choice < 0.7 and value:
        cut = rng.randrange(len(value))
        return value[:cut] + rng.choice(MUTANTS) + value[cut:]
    if choice < 0.8:
        return rng.randbytes(rng.randrange(1, 64))
    return value


def session_script(rng: random.Random, policy: Policy) -> list[bytes]:
    """One session's commands: a plausible SMTP dialogue with mutated arguments. The
    recipients do not exist, so nothing reaches a queue."""
    lines = [rng.choice([b"EHLO ", b"HELO ", b"EHLO", b"ehlo "]) + mutate(rng, b"client.example")]
    if rng.random() < 0.2:
        user = policy.users.existing[0].encode()
        lines.append(rng.choice([b"STARTTLS", b"AUTH PLAIN " + mutate(rng, b"AGFsaWNlAHNlY3JldA=="), b"HELP",
                                 b"VRFY " + mutate(rng, user), b"EXPN " + mutate(rng, b"root"), b"NOOP", b"RSET"]))
    lines.append(b"MAIL FROM:<" + mutate(rng, f"fuzz@{REMOTE_DOMAIN}".encode()) + b">" +
                 (b" " + rng.choice(MUTANTS) if rng.random() < 0.3 else b""))
    for _ in range(rng.randrange(1, 4)):
        lines.append(b"RCPT TO:<" + mutate(rng, policy.address("fuzz-nobody").encode()) + b">")
    if rng.random() < 0.3:
        lines.append(b"DATA")
    lines.append(rng.choice([b"QUIT", b"QUIT", b"RSET", mutate(rng, b"QUIT")]))
    return lines


@dataclass
class FuzzOutcome:
    sessions: int = 0
    commands: int = 0
    replies: dict[int, int] = field(default_factory=dict)
    closed_early: int = 0  # the server hung up before QUIT
    closed_after_421: int = 0  # ... having said why (421, e.g. after too many errors)
    closed_after_starttls: int = 0  # ... having offered TLS that the fuzzer then did not speak
    closed_silently: list[str] = field(default_factory=list)  # transcripts of any other hang-up
    hangs: list[str] = field(default_factory=list)  # transcripts
    refused_connections: list[str] = field(default_factory=list)


def note_early_close(outcome: FuzzOutcome, session: RawSession) -> None:
    """Sort a hang-up before QUIT by the server's last reply before it."""
    outcome.closed_early += 1
    said = [line for line in session.transcript if line.startswith("S: ") and "<connection closed>" not in line]
    last = said[-1] if said else ""
    if last.startswith("S: 421 "):
        outcome.closed_after_421 += 1
    elif re.match(r"S: 220 .*TLS", last):
        outcome.closed_after_starttls += 1
    else:
        outcome.closed_silently.append(str(session))


def fuzz_seed() -> int:
    """FUZZ_SEED from the environment replays a pass's sessions; otherwise a new seed.
    (The sessions' interleaving, and so which ones the time bound cuts, may differ.)"""
    return int(os.environ.get("FUZZ_SEED") or time.time())


async def fuzz(port: int, seed: int, policy: Policy) -> FuzzOutcome:
    outcome, rng = FuzzOutcome(), random.Random(seed)
    deadline = time.monotonic() + SECONDS
    # Every session's commands and DATA bytes drawn up front, in order: FUZZ_SEED replays them
    # (the 16 concurrent workers would otherwise draw from the generator in a racy order).
    scripts = iter([(session_script(rng, policy), rng.randbytes(200)) for _ in range(SESSIONS)])

    async def worker() -> None:
        for script, data in scripts:
            if time.monotonic() > deadline:
                return
            try:
                session = await RawSession.open(port, timeout=REPLY_TIMEOUT)
            except (OSError, TimeoutError) as error:
                outcome.refused_connections.append(f"{type(error).__name__}: {error}")
                continue
            outcome.sessions += 1
            try:
                await session.reply()
                for line in script:
                    outcome.commands += 1
                    reply = await session.command(line)
                    if reply is None:  # even after the last command: QUIT is answered with 221
                        note_early_close(outcome, session)
                        break
                    outcome.replies[reply.code] = outcome.replies.get(reply.code, 0) + 1
                    if line == b"DATA" and reply.code == SMTPStatus.start_input:
                        await session.send(b"Subject: fuzz\r\n\r\n" + data + b"\r\n.\r\n")
                        await session.reply()
            except TimeoutError:
                outcome.hangs.append(str(session))
            finally:
                await session.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return outcome


def test_a_fuzz_pass_leaves_the_chain_delivering_with_no_daemon_restarted(stack: Stack, policy: Policy) -> None:
    before = {service: (stack.started_at(service), stack.restart_count(service)) for service in stack.topology.daemons}
    seed, started = fuzz_seed(), time.time()
    print(f"fuzz seed {seed} (replay: make test PYTEST_ARGS='tests/test_fuzz.py' FUZZ_SEED={seed})")
    outcome = asyncio.run(fuzz(stack.smtp_port, seed=seed, policy=policy))
    HOSTILE.append(f"fuzz pass (FUZZ_SEED={seed}): {outcome.sessions} sessions, {outcome.commands} commands in "
                   f"{SECONDS} s at most; replies {dict(sorted(outcome.replies.items()))}; closed early "
                   f"{outcome.closed_early} ({outcome.closed_after_421} after 421, {outcome.closed_after_starttls} "
                   f"after STARTTLS's 220); hangs {len(outcome.hangs)}; refused connections "
                   f"{len(outcome.refused_connections)}")
    print(HOSTILE[-1])
    replay = f"(replay with FUZZ_SEED={seed})"
    # The pass ran, not stalled: 500 sessions, or 150 where confBAD_RCPT_THROTTLE makes MTA-RX
    # sleep a second per refused recipient past it (the fuzzer's recipients are refused).
    throttled = (stack.rx.compiled().option("BadRcptThrottle") or "0") not in ("", "0")
    assert outcome.sessions >= (150 if throttled else 500), f"{outcome} {replay}"
    assert not outcome.hangs, f"sessions that hung {replay}:\n\n" + "\n\n".join(outcome.hangs[:5])
    assert not outcome.refused_connections, f"{outcome.refused_connections[:5]} {replay}"
    # A hang-up needs a reason: a 421 said, or a TLS handshake MTA-RX logged as failed.
    assert not outcome.closed_silently, (f"MTA-RX hung up without a 421 {replay}:\n\n"
                                         + "\n\n".join(outcome.closed_silently[:5]))
    tls_failures = len(re.findall(r"STARTTLS=server, error: accept failed", stack.logs("rx", since=started)))
    assert tls_failures >= outcome.closed_after_starttls, (
        f"{outcome.closed_after_starttls} hang-ups after STARTTLS, but MTA-RX logged only {tls_failures} failed "
        f"TLS handshakes {replay}")
    after = {service: (stack.started_at(service), stack.restart_count(service)) for service in stack.topology.daemons}
    assert after == before, f"a daemon restarted during the fuzz pass: {before} -> {after} {replay}"
    core = [line for line in stack.logs("rx").splitlines() if "dumped core" in line or "signal 11" in line]
    assert not core, f"{core} {replay}"
    assert_chain_still_delivers(stack, policy, "after-fuzz")
