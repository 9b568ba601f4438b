"""A tiny threaded HTTP server base: records requests, serves scripted answers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    form: dict[str, str]
    json: Any
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    status: int = 0  # what the fake answered


@dataclass
class FakeServer:
    """Subclasses implement ``answer(call) -> (status, body dict)``."""

    calls: list[Call] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs offer
            disable_nagle_algorithm = True  # answer at once (no 40 ms delayed-ACK stalls)

            def do_POST(self) -> None:
                self._handle("POST")

            def do_GET(self) -> None:
                self._handle("GET")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data_in = self.rfile.read(length) if length else b""
                if len(data_in) < length:  # the client died mid-request: nothing arrived
                    self.close_connection = True
                    return
                raw = data_in.decode("utf-8")
                ctype = self.headers.get("Content-Type", "")
                form: dict[str, str] = {}
                body: Any = None
                if "application/json" in ctype and raw:
                    body = json.loads(raw)
                elif raw:
                    form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                call = Call(method, parts.path, form, body, dict(self.headers), query)
                with fake._lock:
                    fake.calls.append(call)
                    scripted = fake.fail_next.pop(0) if fake.fail_next else None
                status, answer = scripted or fake.answer(call)
                call.status = status
                data = b"" if status == 204 else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def sent(self, path_part: str) -> list[Call]:
        """Calls to a path that the fake accepted (2xx); refused ones stay in ``calls``."""
        with self._lock:
            return [c for c in self.calls if path_part in c.path and 200 <= c.status < 300]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.fail_next.clear()
