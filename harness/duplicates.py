"""Why a message arrived twice, read from the daemons' logs.

sendmail and amavisd-new promise at-least-once: a sender that loses its connection, or
dies, after the next hop took the message but before it recorded the hand-off sends it
again. That is a cause only if the fault broke a process at that hop; any other duplicate
is "unexplained", and a test must not pass it off as one of those.
"""

import re
from collections.abc import Mapping, Set

__all__ = ["duplicate_cause"]

def duplicate_cause(logs: Mapping[str, str], message_id: str, touches: Set[str]) -> str:
    """Where a message was sent twice, from the daemons' logs (service -> text): the first hop
    that logged it twice names the sender that sent it again, and MTA-RX's deferral reason,
    if it logged one, says why. A resend is explained only if the fault broke that sender or
    a daemon after it (a sender resends when the hop after it, or any later one, fails before
    the acknowledgement gets back); otherwise, or if no hop logged it twice, "unexplained"."""
    quoted = re.escape(message_id)
    passes = len(re.findall(rf"(?:Passed|Blocked) .*Message-ID: <{quoted}>", logs["amavis"]))
    received_by_tx = len(re.findall(rf"sm-mta-tx\[\d+\]: \w+: from=.*msgid=<{quoted}>", logs["tx"]))
    rx_ids = re.findall(rf"sm-mta-rx\[\d+\]: (\w+): from=.*msgid=<{quoted}>", logs["rx"])
    deferred = [r for qid in rx_ids for r in re.findall(rf"{qid}: .*stat=Deferred: (.*)", logs["rx"])]
    if passes >= 2:
        hop, breakers = "MTA-RX sent it to amavisd-new again", {"rx", "amavis", "tx"}
    elif received_by_tx >= 2:  # one pass logged: the first amavisd-new child died before logging it
        hop, breakers = "amavisd-new sent it to MTA-TX again", {"amavis", "tx"}
    elif received_by_tx == 1:
        hop, breakers = "MTA-TX delivered it again", {"tx"}
    else:
        return "unexplained: no daemon logged it twice"
    if not breakers & touches:
        return f"unexplained: {hop}, but the fault broke {', '.join(sorted(touches))}"
    return f"{hop} ({'after: ' + deferred[0][:60] if deferred else 'its first send was not recorded'})"
