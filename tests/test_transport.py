"""The drivers' HTTP session: every request ends by its deadline, however the server answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from modelsched.drivers.transport import Session


def _trickle(conn: socket.socket, closing: bool) -> None:
    with conn:
        conn.recv(65536)
        head = b"HTTP/1.0 200 OK\r\n" if closing else b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
        conn.sendall(head + b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n")
        try:
            for _ in range(40):  # one byte every 0.1 s: 4 s in all
                conn.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass  # the client cut the connection: what the deadline is for


@pytest.fixture(params=[True, False], ids=["a closing HTTP/1.0 answer", "a keep-alive HTTP/1.1 answer"])
def trickling(request: pytest.FixtureRequest) -> Iterator[str]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            worker = threading.Thread(target=_trickle, args=(conn, request.param), daemon=True)
            workers.append(worker)
            worker.start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join(timeout=2)
    server.close()
    for worker in workers:  # no socket of ours left open for the next test to count
        worker.join(timeout=5)


def test_a_server_that_trickles_its_body_is_cut_off_at_the_deadline(trickling: str) -> None:
    session = Session(deadline=0.5)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(trickling, timeout=(5, 5))
    assert time.monotonic() - started < 2.0  # the body alone takes 4 s
