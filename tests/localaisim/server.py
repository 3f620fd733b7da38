"""LocalAISim: a LocalAI frontend's admin API (/api/nodes*) on 127.0.0.1 (ephemeral port).

Owns the HTTP plumbing, Echo's pre-routing steps (RawPath, RemoveTrailingSlash), auth
(auth.py), the request log and fault injection, plus the test-facing helpers that act for
workers, the reconciler (reconciler.py) and the clock. Response shapes live in render.py,
handlers in api.py. It does not import modelsched.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.localaisim import render, scheduling
from tests.localaisim.api import NO_CONTENT, Api
from tests.localaisim.auth import FORBIDDEN, UNAUTHORIZED, Auth
from tests.localaisim.golang import echo_path, go_marshal
from tests.localaisim.helpers import Helpers
from tests.localaisim.reconciler import Reconciler
from tests.localaisim.state import State


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
            self.path_prefix is None or path.startswith(self.path_prefix))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # never log: headers carry API keys

    def do_GET(self) -> None:
        self.server.sim.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sim: LocalAISim

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            traceback.print_exc()


class LocalAISim(Helpers):
    """A fake distributed LocalAI frontend; see README.md and the tests next to this file."""

    def __init__(self, admin_keys: set[str] | None = None, user_keys: set[str] | None = None,
                 distributed: bool = True, registry: bool = True, auto_approve: bool = True) -> None:
        self.state = State()
        self.reconciler = Reconciler(self.state)
        self.auto_approve = auto_approve
        # Distributed mode cannot start without --auth (initDistributed): the auth DB is on.
        self.auth = Auth(frozenset(admin_keys or ()), frozenset(user_keys or ()), distributed or bool(user_keys))
        # RegisterNodeAdminRoutes returns early when the registry is nil: no /api/nodes at all.
        self.routes_registered = distributed and registry
        self.api = Api(self.state, self._worker_alive)
        self._faults: list[Fault] = []
        self._requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._meta_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.sim = self
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LocalAISim:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> str:
        assert self._port, "LocalAISim is not started"
        return f"http://127.0.0.1:{self._port}"

    # -- request handling --------------------------------------------------------------------
    def serve(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        method, query = handler.command, parse_qs(url.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._meta_lock:
            self._requests.append((method, url.path, query))
            fault = self._take_fault(method, url.path)
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True  # close without any response
            return
        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.seconds)
        if fault is not None and fault.kind == "fail":
            self._send(handler, fault.status, fault.body, raw=True)
            return
        try:
            status, payload, headers = self._dispatch(method, url.path, handler.headers, body)
        except Exception as err:  # a simulator bug: answer like a failing server
            status, payload, headers = 500, render.api_error(500, f"localaisim: {err!r}", ""), {}
        self._send(handler, status, payload, headers=headers)

    def _dispatch(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        path = echo_path(raw_path)
        if path != "/" and path.endswith("/"):
            path = path[:-1]  # e.Pre(middleware.RemoveTrailingSlash())
        role = self.auth.role(headers)
        if role is None:  # middleware.go authError
            return 401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"}
        if self.routes_registered and (path == "/api/nodes" or path.startswith("/api/nodes/")):
            if self.auth.admin_required() and role != "admin":
                return 403, FORBIDDEN, {}
            status, payload = self.api.handle(method, path[len("/api/nodes/"):], body, headers.get("Content-Type"))
            return status, payload, {}
        accept, ctype = headers.get("Accept") or "", headers.get("Content-Type") or ""
        if "application/json" in ctype or "text/html" not in accept:  # render.go notFoundHandler
            return 404, render.api_error(404, "Resource not found", ""), {}
        return 404, "<html><body>404 Not Found</body></html>", {"Content-Type": "text/html; charset=UTF-8"}

    def _send(self, handler: _Handler, status: int, payload: Any, headers: dict[str, str] | None = None,
              raw: bool = False) -> None:
        headers = dict(headers or {})
        if payload is NO_CONTENT:
            data = b""
        elif raw or isinstance(payload, str):
            data = payload.encode()
            headers.setdefault("Content-Type", _guess_type(payload))
        else:
            data = (go_marshal(payload) + "\n").encode()  # json.Encoder.Encode adds a newline
            headers.setdefault("Content-Type", "application/json")
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if status != 204:
            handler.send_header("Content-Length", str(len(data)))
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

    # -- fault injection -------------------------------------------------------------------------
    def _add_fault(self, fault: Fault) -> None:
        with self._meta_lock:
            self._faults.append(fault)

    def fail(self, times: int = 1, status: int = 500, body: str | None = None,
             path_prefix: str | None = None, method: str | None = None) -> None:
        """Answer `status` with `body` (default: a LocalAI node_error JSON for that status)."""
        text = body if body is not None else go_marshal(render.node_error(status, "simulated failure"))
        self._add_fault(Fault("fail", times, path_prefix, method, status=status, body=text))

    def delay(self, seconds: float, times: int = 1, path_prefix: str | None = None, method: str | None = None) -> None:
        self._add_fault(Fault("delay", times, path_prefix, method, seconds=seconds))

    def drop(self, times: int = 1, path_prefix: str | None = None, method: str | None = None) -> None:
        """Read the request, then close the connection without any answer."""
        self._add_fault(Fault("drop", times, path_prefix, method))

    def set_down(self, down: bool) -> None:
        """Down: the listening socket is closed (connection refused); up again on the same port."""
        if down and self._server is not None:
            self.stop()
        elif not down and self._server is None:
            self.start()

    @property
    def requests(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        with self._meta_lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._meta_lock:
            self._requests.clear()

    # -- scheduling rows (test side) ---------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """Every stored column of every row, by model_name (node_selector: the stored JSON string)."""
        with self.state.lock:
            return [asdict(r) for _, r in sorted(self.state.rows.items())]

    def seed(self, entries: list[dict[str, Any]]) -> None:
        """A frontend boot with LOCALAI_MODEL_SCHEDULING=<entries> (ValueError: the boot fails)."""
        scheduling.seed(self.state, entries)


def _guess_type(text: str) -> str:
    try:
        json.loads(text)
    except ValueError:
        return "text/plain; charset=UTF-8"
    return "application/json"
