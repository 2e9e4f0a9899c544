"""Shared harness for the dual-MTA testbed: used by tests/ and loadgen/ alike.

Start the chain (Stack; a run other than the configuration's, e.g. more amavisd-new workers,
is a siteconfig.run_settings.ChainSettings), send mail (send_message), build messages
(make_message), and wait with a deadline (poll_until). The Stack handle runs commands in the
daemons' containers, breaks and heals them, and follows a message through their logs
(stack.trail); what each daemon holds is on its face:

  stack.rx      MTA-RX: queue(), queued_message_ids(), queue_runners, sample_connections()
  stack.amavis  amavisd-new: verdicts(), wait_for_verdicts(), quarantine(), release(), children()
  stack.tx      MTA-TX: queue(), mailbox(user), copies(user, id), wait_for_mailbox(), read_mailboxes()
  stack.sink    the Internet (SinkClient): messages(), by_message_id(), raw(), wait_for()

harness.dkim (for the tests; needs dkimpy) signs and verifies against the testbed's DNS and
stops and starts the OpenDKIM milters inside the MTAs' containers.
"""

from harness.amavis import Verdict, parse_verdicts
from harness.messages import make_message, message_id_of
from harness.poll import PollTimeout, poll_until
from harness.queues import QueueEntry, parse_mailq
from harness.sink import SinkClient, SinkMessage
from harness.smtp import Reply, SmtpResult, send_message
from harness.stack import ChainDownError, Stack, StackError

__all__ = [
    "ChainDownError",
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
