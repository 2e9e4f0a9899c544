"""Client of the sink's JSON API: what MTA-TX relayed to "the Internet", and when."""

import json
import urllib.request
from dataclasses import dataclass

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
    body_digest: str = ""  # of the body as received (loadgen.delivery.body_of, then body_digest)

    @classmethod
    def from_api(cls, item: dict) -> "SinkMessage":  # type: ignore[type-arg]
        return cls(item["ID"], item["MessageID"], item["From"], item["To"], item["Subject"], item["Size"],
                   item["Received"], item.get("BodyDigest", ""))


class SinkClient:
    def __init__(self, base_url: str, *, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

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
