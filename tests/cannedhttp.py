"""A tiny HTTP server with a canned answer, for tests of what a client does with odd servers.

`reply` is either a tuple (status, headers, body) sent as is, or a callable given the
request handler: it returns such a tuple, or writes the answer itself (trickles, cut
connections) and returns None. Every request's path and X-Nomad-Token are recorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
Reply = Answer | Callable[[BaseHTTPRequestHandler], Answer | None]
JSON_EMPTY_LIST: Answer = (200, {"Content-Type": "application/json"}, b"[]")


def send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CannedServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        server = self.server
        server.seen.append(self.path)
        server.tokens.append(self.headers.get("X-Nomad-Token"))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = server.reply
        with contextlib.suppress(OSError):  # the client cut the connection off: expected for trickles
            answer = reply(self) if callable(reply) else reply
            if answer is not None:
                send(self, *answer)

    do_POST = do_DELETE = do_PUT = do_GET


class CannedServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, reply: Reply = JSON_EMPTY_LIST) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply: Reply = reply
        self.seen: list[str] = []
        self.tokens: list[str | None] = []
        self.address = f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def canned_server(reply: Reply = JSON_EMPTY_LIST) -> Iterator[CannedServer]:
    server = CannedServer(reply)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
