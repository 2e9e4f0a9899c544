"""The testbed's "Internet": an SMTP sink that keeps what MTA-TX relays for remote domains.

SMTP on port 25 accepts any envelope. An HTTP JSON API on port 8025, shaped after
Mailpit's /api/v1, lets tests and the load generator see what arrived and when:

    GET    /api/v1/messages             list (oldest first): ID, MessageID, From, To,
                                        Subject, Size, ContentDigest, Created (RFC 3339),
                                        Received (epoch s)
    GET    /api/v1/messages?since=N     only messages with ID > N
    GET    /api/v1/message/<ID>/raw     the message as received (bytes)
    DELETE /api/v1/messages             forget everything
    GET    /healthz                     "ok"
"""

import hashlib
import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("sink")


def content_digest(raw: bytes) -> str:
    """SHA-256 (first 20 hex digits) of every leaf part's decoded payload, line ends as LF
    and without trailing empty lines: the load generator computes the same of what it sent
    (loadgen/send/delivery.py) to tell a whole copy from a cut or altered one, and
    tests/unit/test_sink_digest.py checks that the two agree."""
    digest = hashlib.sha256()
    for part in BytesParser(policy=compat32).parsebytes(raw).walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            digest.update(payload.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\0")
    return digest.hexdigest()[:20]


class Store:
    """Messages in arrival order; guarded by one lock (SMTP and HTTP run in two threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._summaries: list[dict] = []
        self._raw: dict[int, bytes] = {}

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> dict:
        received = time.time()
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        with self._lock:
            summary = {
                "ID": self._next_id,
                "MessageID": str(headers.get("Message-ID", "")).strip().strip("<>"),
                "From": mail_from,
                "To": list(rcpt_tos),
                "Subject": str(headers.get("Subject", "")),
                "Size": len(raw),
                "ContentDigest": content_digest(raw),
                "Created": datetime.fromtimestamp(received, UTC).isoformat(),
                "Received": received,
            }
            self._next_id += 1
            self._summaries.append(summary)
            self._raw[summary["ID"]] = raw
        return summary

    def list(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [s for s in self._summaries if s["ID"] > since]

    def raw(self, message_id: int) -> bytes | None:
        with self._lock:
            return self._raw.get(message_id)

    def clear(self) -> None:
        with self._lock:
            self._summaries.clear()
            self._raw.clear()


class SinkHandler:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        summary = self.store.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        log.info("received ID=%s from=<%s> to=%s msgid=<%s> size=%s",
                 summary["ID"], summary["From"], summary["To"], summary["MessageID"], summary["Size"])
        return "250 2.0.0 Ok: stored in the testbed sink"


def make_api(store: Store) -> type[BaseHTTPRequestHandler]:
    class Api(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: object) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            if path == "/healthz":
                self._send(200, b"ok", "text/plain")
            elif path == "/api/v1/messages":
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                try:
                    since = int(params.get("since", "0"))
                except ValueError:
                    return self._json(400, {"error": "since must be an integer message ID"})
                messages = store.list(since)
                self._json(200, {"total": len(messages), "messages": messages})
            elif len(parts) == 5 and parts[:3] == ["api", "v1", "message"] and parts[4] == "raw":
                raw = store.raw(int(parts[3])) if parts[3].isdigit() else None
                if raw is None:
                    return self._json(404, {"error": f"no message {parts[3]}"})
                self._send(200, raw, "message/rfc822")
            else:
                self._json(404, {"error": f"no such endpoint: {path}"})

        def do_DELETE(self) -> None:  # noqa: N802
            if self.path == "/api/v1/messages":
                store.clear()
                self._json(200, {"deleted": True})
            else:
                self._json(404, {"error": f"no such endpoint: {self.path}"})

        def log_message(self, format: str, *args: object) -> None:  # quiet: tests poll often
            pass

    return Api


def main() -> None:
    # Here, not at the top: the unit tests load this file for content_digest (tests/unit/test_sink_digest.py)
    # where aiosmtpd, which only the sink's image installs, is absent.
    from aiosmtpd.controller import Controller

    logging.basicConfig(level=logging.INFO, format="%(asctime)s sink: %(message)s")
    store = Store()
    smtp = Controller(SinkHandler(store), hostname="0.0.0.0", port=int(os.environ.get("SINK_SMTP_PORT", "25")),
                      server_hostname="internet.sink", data_size_limit=0, decode_data=False)
    smtp.start()
    api = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("SINK_API_PORT", "8025"))), make_api(store))
    log.info("SMTP on :%s, API on :%s", smtp.port, api.server_port)
    api.serve_forever()


if __name__ == "__main__":
    main()
