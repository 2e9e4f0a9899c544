"""Shared harness for the dual-MTA testbed: used by tests/ and loadgen/ alike.

Start the chain (Stack), send mail (send_message), build messages (make_message), read
what arrived (Stack.mailbox, SinkClient), list the queues (Stack.rx_queue, Stack.tx_queue),
follow a message through the daemons' logs (Stack.trail), and wait with a deadline
(poll_until).
"""

from harness.amavis import Verdict, parse_verdicts
from harness.messages import make_message, message_id_of
from harness.poll import PollTimeout, poll_until
from harness.queues import QueueEntry, parse_mailq
from harness.sink import SinkClient, SinkMessage
from harness.smtp import Reply, SmtpResult, send_message
from harness.stack import Stack, StackError

__all__ = [
    "PollTimeout",
    "QueueEntry",
    "Reply",
    "SinkClient",
    "SinkMessage",
    "SmtpResult",
    "Stack",
    "StackError",
    "Verdict",
    "make_message",
    "message_id_of",
    "parse_mailq",
    "parse_verdicts",
    "poll_until",
    "send_message",
]
