"""Follow one message through the daemons' logs by its Message-ID.

sendmail names the Message-ID once (msgid=<...> on the from= line) and the queue ID on
every later line; amavisd-new names it on its summary line and a log ID "(00025-04-2)"
on every line of that task. The trail is every line that carries one of those keys.
"""

import re

__all__ = ["follow"]

# -L sm-mta-rx and sm-mta-tx in the dual chain; sm-mta in the milter topology
_SENDMAIL_QID = re.compile(r"sm-mta(?:-rx|-tx)?\[\d+\]: ([0-9A-Za-z]{14}):")
_AMAVIS_LOG_ID = re.compile(r"\((\d{5}-\d{2}(?:-\d+)?)\)")
_QUEUED_AS = re.compile(r"(?:queued_as:|250 2\.0\.0) ([0-9A-Za-z]{14})")


def follow(message_id: str, logs: dict[str, str]) -> str:
    """The lines of `logs` (service -> text) that belong to the message, per service."""
    keys = {message_id}
    for _ in range(3):  # a key found in one service's log can lead to more in another's
        for text in logs.values():
            for line in text.splitlines():
                if any(key in line for key in keys):
                    keys.update(_SENDMAIL_QID.findall(line))
                    keys.update(_AMAVIS_LOG_ID.findall(line))
                    keys.update(_QUEUED_AS.findall(line))
    sections = []
    for service, text in logs.items():
        lines = [line for line in text.splitlines() if any(key in line for key in keys) and "TIMING" not in line]
        sections.append(f"--- {service} ---\n" + ("\n".join(lines) if lines else "(nothing)"))
    return f"trail of <{message_id}>:\n" + "\n".join(sections)
