"""Client of the sink's JSON API: what MTA-TX relayed to "the Internet", and when
(`stack.sink`, or standalone for a chain the load generator did not start)."""

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from harness.poll import poll_until

__all__ = ["SinkClient", "SinkMessage"]


@dataclass(frozen=True)
class SinkMessage:
    id: int
    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    size: int
    received: float  # epoch seconds at the end of DATA
    content_digest: str = ""  # of the message as received (loadgen.send.delivery.content_digest)

    @classmethod
    def from_api(cls, item: dict) -> "SinkMessage":  # type: ignore[type-arg]
        return cls(item["ID"], item["MessageID"], item["From"], item["To"], item["Subject"], item["Size"],
                   item["Received"], item.get("ContentDigest", ""))


class SinkClient:
    def __init__(self, base_url: str, *, timeout: float = 10, trail: Callable[[str], str] | None = None,
                 hasten: Callable[[], None] | None = None) -> None:
        """`trail(message_id)`: the message's way through the chain, for a wait that fails;
        `hasten`: as for MtaTx, asks MTA-RX to pass queued mail on now."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.trail = trail
        self._hasten = hasten

    def _request(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(self.base_url + path, method=method)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read()

    def messages(self, *, since: int = 0) -> list[SinkMessage]:
        payload = json.loads(self._request("GET", f"/api/v1/messages?since={since}"))
        return [SinkMessage.from_api(item) for item in payload["messages"]]

    def by_message_id(self, message_id: str) -> list[SinkMessage]:
        return [m for m in self.messages() if m.message_id == message_id]

    def raw(self, sink_id: int) -> bytes:
        return self._request("GET", f"/api/v1/message/{sink_id}/raw")

    def clear(self) -> None:
        self._request("DELETE", "/api/v1/messages")

    def wait_for(self, message_id: str, *, timeout: float = 60, ask_queue_run: bool = True) -> list[SinkMessage]:
        """The sink's records of the message once at least one has arrived.
        `ask_queue_run=False`: wait for MTA-RX's persistent runners to move it."""
        trail = self.trail
        return poll_until(lambda: self.by_message_id(message_id), timeout=timeout,
                          what=f"<{message_id}> at the sink", interval=0.5,
                          evidence=(lambda: trail(message_id)) if trail else None,
                          nudge=self._hasten if ask_queue_run else None)
