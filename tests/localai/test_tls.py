"""TLS is verified by default: a frontend with a certificate from a private CA is refused
until its CA is given (--localai-cacert / LOCALAI_CACERT), or verification is turned off."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.clirun import Run

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=modelsched test CA", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return d


class _Empty(BaseHTTPRequestHandler):
    """A distributed frontend with no nodes, no replicas and no rows."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"[]\n")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def https(certs: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Empty)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / "srv.pem", certs / "srv.key")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def empty_config(tmp_path: Path) -> str:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    return str(path)


def test_a_certificate_from_an_unknown_ca_is_refused(run: Run, https: str, empty_config: str) -> None:
    got = run("plan", "--driver", "localai", "--config", empty_config, env={"LOCALAI_ADDR": https})
    assert got.code == 1 and "TLS failed: check LOCALAI_CACERT" in got.err


@pytest.mark.parametrize(
    "how",
    ["option", "environment", "skip"],
    ids=["--localai-cacert names the CA", "LOCALAI_CACERT names the CA", "LOCALAI_SKIP_VERIFY turns it off"],
)
def test_the_ca_can_be_given_or_verification_turned_off(
    run: Run, https: str, empty_config: str, certs: Path, how: str
) -> None:
    env = {"LOCALAI_ADDR": https}
    args: list[str] = []
    if how == "option":
        args = ["--localai-cacert", str(certs / "ca.pem")]
    elif how == "environment":
        env["LOCALAI_CACERT"] = str(certs / "ca.pem")
    else:
        env["LOCALAI_SKIP_VERIFY"] = "1"
    got = run("plan", "--driver", "localai", "--config", empty_config, *args, env=env)
    assert got.code == 0, got.err
    assert "No changes." in got.out
