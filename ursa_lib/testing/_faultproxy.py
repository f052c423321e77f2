"""A fault-injecting HTTP reverse proxy for S3 traffic, on loopback.

It forwards requests byte-for-byte (the Host header is kept, so SigV4 signatures
stay valid) and, on a schedule the test sets, answers with an error status,
resets the connection, stalls, cuts a body short or throttles it. Standard
library only.
"""

from __future__ import annotations

import email.message
import http.client
import http.server
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

FaultAction = Literal["status", "reset", "stall", "truncate", "throttle"]
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class Fault:
    """One scheduled fault. Matching requests (by method and path substring) are
    counted; the fault applies to matches number ``skip + 1`` .. ``skip + times``."""

    action: FaultAction
    method: str | None = None
    path_contains: str | None = None
    query_contains: str | None = None
    skip: int = 0
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    stall_s: float = 0.0
    after_bytes: int = 0
    rate_bps: int = 0
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, method: str, target: str) -> bool:
        path, _, query = target.partition("?")
        if self.method and method != self.method:
            return False
        if self.path_contains and self.path_contains not in path:
            return False
        return not (self.query_contains and self.query_contains not in query)


@dataclass
class ProxyEvent:
    """One request the proxy saw, and what it did with it (``forward`` or a fault)."""

    at: float
    method: str
    target: str
    action: str
    body_bytes: int = 0
    """Request body size (recorded once the whole body has arrived)."""


class FaultProxy:
    """A reverse proxy to ``upstream_url`` on a free loopback port (`url`).

    Faults added with `add` apply to the requests they match, in order; every
    request is recorded (`requests`, `fired`) until `clear`.
    """

    def __init__(self, upstream_url: str) -> None:
        """Long because the HTTP handler class is defined in it, closing over this proxy."""
        hostport = upstream_url.split("://", 1)[1]
        host, port = hostport.split(":")
        self.upstream = (host, int(port))
        self.faults: list[Fault] = []
        self.events: list[ProxyEvent] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        line = self.rfile.readline()
                        n = int(line.split(b";")[0], 16)
                        if n == 0:
                            self.rfile.readline()
                            return bytes(out)
                        out += self.rfile.read(n)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                fault = proxy._pick(self.command, self.path)
                proxy._record(
                    self.command, self.path, fault.action if fault else "forward", len(body)
                )
                if fault and fault.action == "status":
                    payload = (
                        f"<Error><Code>Injected</Code><Message>status {fault.status}</Message>"
                        "</Error>"
                    ).encode()
                    self.send_response(fault.status)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", f"{fault.retry_after:g}")
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault and fault.action == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.action == "stall" and fault.after_bytes == 0:
                    time.sleep(fault.stall_s)
                status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
                self.send_response_only(status)
                for name, value in headers:
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                upstream_length = dict((k.lower(), v) for k, v in headers).get("content-length")
                length = upstream_length if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command == "HEAD" or not data:
                    return
                if fault and fault.action == "truncate":
                    self.wfile.write(data[: fault.after_bytes])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault and fault.action == "stall":
                    self.wfile.write(data[: fault.after_bytes])
                    self.wfile.flush()
                    time.sleep(fault.stall_s)
                    self.wfile.write(data[fault.after_bytes :])
                    return
                if fault and fault.action == "throttle":
                    step = max(1, fault.rate_bps // 10)
                    for start in range(0, len(data), step):
                        self.wfile.write(data[start : start + step])
                        self.wfile.flush()
                        time.sleep(0.1)
                    return
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.events.clear()

    def fired(self) -> list[ProxyEvent]:
        with self._lock:
            return [e for e in self.events if e.action != "forward"]

    def _pick(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, target):
                    continue
                fault.seen += 1
                if fault.skip < fault.seen <= fault.skip + fault.times:
                    fault.fired += 1
                    return fault
        return None

    def _record(self, method: str, target: str, action: str, body_bytes: int = 0) -> None:
        with self._lock:
            self.events.append(ProxyEvent(time.monotonic(), method, target, action, body_bytes))

    def requests(self) -> list[ProxyEvent]:
        with self._lock:
            return list(self.events)

    def _forward(
        self, method: str, target: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                if name.lower() in _HOP or name.lower() == "content-length":
                    continue
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            conn.close()
