"""The HTTP session the drivers' requests go through (Nomad and LocalAI).

Shared by the drivers, not a driver itself. Owns three guarantees requests (and
python-nomad on top of it) do not give:

- **No redirects.** requests strips only `Authorization` on a redirect to another host,
  not `X-Nomad-Token`, and python-nomad lets DELETE follow them; neither API redirects,
  so a redirect is answered as is (the client turns it into an error).
- **A total deadline per request.** requests' timeout bounds each socket operation, so
  a server that trickles one byte at a time keeps a request alive forever. A watchdog
  shuts the request's socket down when its deadline passes (connect, send, headers and
  every byte of the body); the request then fails as a `requests.ReadTimeout`.
- **NOMAD_TLS_SERVER_NAME**: the certificate (and SNI) is checked against that name.

It never reads Nomad data and never builds messages (the client does).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class _Slot:
    """The connection one request is using, shared with that request's watchdog."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: Any = None
        self.sock: Any = None  # kept: http.client drops conn.sock once a closing answer's headers are read
        self.done = False
        self.expired = False

    def expire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            sock = getattr(self.conn, "sock", None) or self.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # wakes the recv/send blocked in the requesting thread
                    sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.lock:
            self.done = True


# The slot of the request the current thread is making (set by Session.request).
_CURRENT = threading.local()


class _Tracked:
    """Mixin: publish the connection a request uses into that request's slot."""

    def _publish(self) -> None:
        slot = getattr(_CURRENT, "slot", None)
        if slot is not None:
            with slot.lock:
                slot.conn = self

    def connect(self) -> None:
        self._publish()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._publish()
        super().request(*args, **kwargs)  # type: ignore[misc]
        slot = getattr(_CURRENT, "slot", None)
        if slot is not None:  # the socket the answer will come on, new or reused
            with slot.lock:
                slot.sock = getattr(self, "sock", None)


class _HTTPConnection(_Tracked, HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class Adapter(HTTPAdapter):
    """Pools whose connections the watchdog can cut off; optional TLS server name."""

    def __init__(self, server_name: str | None = None) -> None:
        self.server_name = server_name
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self.server_name:
            kwargs["server_hostname"] = self.server_name
            kwargs["assert_hostname"] = self.server_name
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Session(requests.Session):
    """A requests session that never follows redirects and gives each request at most
    `deadline` seconds in total."""

    def __init__(self, deadline: float, server_name: str | None = None) -> None:
        super().__init__()
        self.deadline = deadline
        self.mount("http://", Adapter())
        self.mount("https://", Adapter(server_name))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        kwargs["stream"] = False  # the body is read inside this call, under the deadline
        slot = _Slot()
        timer = threading.Timer(self.deadline, slot.expire)
        timer.daemon = True
        _CURRENT.slot = slot
        timer.start()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            if slot.expired:
                raise self._late(exc.request) from None
            raise
        finally:
            slot.finish()
            timer.cancel()
            _CURRENT.slot = None
        if slot.expired:  # cut off after the last byte arrived: the answer is whole, but late
            response.close()
            raise self._late(response.request)
        return response

    def _late(self, request: Any) -> requests.exceptions.ReadTimeout:
        return requests.exceptions.ReadTimeout(f"no complete answer within {self.deadline:g}s", request=request)
