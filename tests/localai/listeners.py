"""Tiny local HTTP servers for the LocalAI client tests: one that records every request's
headers (where would the key go?) and one that trickles its answer a byte at a time."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.server.daemon_threads = True
        self.server.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Recording(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        owner: HeaderRecorder = self.server.owner  # type: ignore[attr-defined]
        owner.seen.append((self.command, self.path, dict(self.headers.items())))
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer


class HeaderRecorder(_Server):
    """Answers `[]` to everything and records (method, path, headers) of each request."""

    handler = _Recording

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        super().__init__()


class _Trickling(BaseHTTPRequestHandler):
    # Keep-alive, as LocalAI (Go's net/http) answers: the connection stays open while the
    # body trickles, so only the client's deadline can end the request.
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: Trickler = self.server.owner  # type: ignore[attr-defined]
        body = b"[" + b" " * (owner.size - 2) + b"]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(owner.every)
        except OSError:  # the client hung up
            pass


class Trickler(_Server):
    """Sends its headers at once, then a `size`-byte JSON list one byte every `every` s."""

    handler = _Trickling

    def __init__(self, size: int, every: float) -> None:
        self.size, self.every = size, every
        super().__init__()
