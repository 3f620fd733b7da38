"""NomadSim: a stateful Nomad HTTP API test server on 127.0.0.1 (ephemeral port).

Owns the HTTP plumbing (ThreadingHTTPServer), ACL token checks, blocking queries,
the request log and fault injection, plus the test-facing helpers that change the
cluster behind the API's back (nodes, direct job registration). It must not decide
placements (scheduler.py) or response shapes (api.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.nomadsim.api import Api
from tests.nomadsim.cluster import Cluster
from tests.nomadsim.state import State

# Blocking queries wait at most this long: Nomad's default is 5 min, but tests must stay fast.
MAX_BLOCKING_WAIT = 1.0


@dataclass
class Fault:
    kind: str  # "fail" | "delay" | "drop"
    times: int
    path_prefix: str | None
    method: str | None
    status: int = 500
    body: str = ""
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


def _parse_wait(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit):
            try:
                return float(text[: -len(unit)]) * units[unit]
            except ValueError:
                return MAX_BLOCKING_WAIT
    return MAX_BLOCKING_WAIT


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Nomad; requests reuses connections
    disable_nagle_algorithm = True  # headers and body go out separately: avoid 40 ms delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # No request logging: it would print headers/URLs and tokens must never be logged.
        return

    def do_GET(self) -> None:
        self.sim.serve(self)

    do_POST = do_PUT = do_DELETE = do_GET

    @property
    def sim(self) -> NomadSim:
        return self.server.sim


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a handler sleeping in delay()
    sim: NomadSim

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) makes our late write fail: expected, stay quiet.
        # Other errors are printed without request details (they could carry a token).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            traceback.print_exc()


class NomadSim(Cluster):
    """A fake Nomad agent; see the module docstring and tests/nomadsim/test_sim.py."""

    def __init__(self, acl_tokens: set[str] | None = None, namespace_tokens: dict[str, set[str]] | None = None,
                 version: str = "1.11.0", forwarded: bool = False) -> None:
        """`acl_tokens`: management tokens; `namespace_tokens`: token -> namespaces it may use (with node and
        agent read). Either one turns ACL on. `version`: what /v1/agent/self reports and which version-dependent
        answers the server gives. `forwarded`: answer as a client agent / non-leader server would (RPC errors
        prefixed `rpc error: `, helper/pool ConnPool.RPC)."""
        self.acl_tokens = acl_tokens
        self.namespace_tokens = namespace_tokens
        self.state = State()
        self.state.version = version
        self.api = Api(self.state)
        self.set_forwarded(forwarded)
        self._faults: list[Fault] = []
        self._requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._meta_lock = threading.Lock()
        self._stopping = threading.Event()
        self._down = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sim = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> NomadSim:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> str:
        assert self._server is not None, "NomadSim is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- request handling ------------------------------------------------------
    def serve(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        method, path, query = handler.command, url.path, parse_qs(url.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._meta_lock:
            self._requests.append((method, path, query))
            fault = self._take_fault(method, path)
            down = self._down
        if down or (fault is not None and fault.kind == "drop"):
            handler.close_connection = True  # close without any response
            return
        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.seconds)
        if fault is not None and fault.kind == "fail":
            self._send(handler, fault.status, fault.body)
            return
        allowed = self._authorized(handler)
        if allowed is None:
            self._send(handler, 403, "Permission denied")
            return
        self._block(query)
        self.state.promote_pending()
        try:
            status, payload = self.api.handle(method, path, query, body, allowed)
        except Exception as err:  # a simulator bug: answer like a failing server, not with a dead socket
            status, payload = 500, f"nomadsim internal error: {type(err).__name__}: {err}"
        self._send(handler, status, payload)

    def _authorized(self, handler: _Handler) -> Callable[[str], bool] | None:
        """None: refuse (403). Else: which namespaces the token may use."""
        if self.acl_tokens is None and self.namespace_tokens is None:
            return lambda namespace: True
        token = handler.headers.get("X-Nomad-Token") or ""
        auth = handler.headers.get("Authorization") or ""
        if not token and auth.startswith("Bearer "):
            token = auth[len("Bearer "):]
        if token and token in (self.acl_tokens or set()):
            return lambda namespace: True
        if token and token in (self.namespace_tokens or {}):
            scope = set((self.namespace_tokens or {})[token])
            return lambda namespace: namespace in scope
        return None

    def _block(self, query: dict[str, list[str]]) -> None:
        """Blocking query: with index >= current, wait (capped) for a write; index 0 returns at once."""
        try:
            wanted = int(query.get("index", ["0"])[0])
        except ValueError:
            return
        if wanted <= 0:
            return
        deadline = time.monotonic() + min(_parse_wait(query.get("wait", ["5m"])[0]), MAX_BLOCKING_WAIT)
        with self.state.changed:
            while self.state.index <= wanted and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # Short waits so lazily promoted pending allocations are noticed too.
                self.state.changed.wait(min(remaining, 0.05))
                self.state.promote_pending()

    def _send(self, handler: _Handler, status: int, payload: Any) -> None:
        if isinstance(payload, str) and status != 200:
            data, content_type = payload.encode(), "text/plain; charset=utf-8"  # Nomad errors are plain text
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Nomad-Index", str(self.state.index))
        handler.send_header("X-Nomad-KnownLeader", "true")
        handler.send_header("X-Nomad-LastContact", "0")
        handler.end_headers()
        handler.wfile.write(data)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # -- fault injection -----------------------------------------------------------
    def _add_fault(self, fault: Fault) -> None:
        with self._meta_lock:
            self._faults.append(fault)

    def fail(self, times: int = 1, status: int = 500, body: str = "internal error",
             path_prefix: str | None = None, method: str | None = None) -> None:
        self._add_fault(Fault("fail", times, path_prefix, method, status=status, body=body))

    def delay(self, seconds: float, times: int = 1, path_prefix: str | None = None, method: str | None = None) -> None:
        self._add_fault(Fault("delay", times, path_prefix, method, seconds=seconds))

    def drop(self, times: int = 1, path_prefix: str | None = None, method: str | None = None) -> None:
        self._add_fault(Fault("drop", times, path_prefix, method))

    def set_down(self, down: bool) -> None:
        """While down every request is dropped without a response (as if the agent were gone)."""
        with self._meta_lock:
            self._down = down

    @property
    def requests(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        with self._meta_lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._meta_lock:
            self._requests.clear()
