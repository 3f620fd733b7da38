"""The one module that talks HTTP to LocalAI's admin API (`/api/nodes*`).

Owns the session (`drivers.transport.Session`: TLS verified unless skip-verify; never
follows a redirect, which would carry the key to another host; a total deadline per
request, `--localai-timeout`, covering connect, headers and every byte of the body), the
answer-size bound, the path escaping LocalAI's router (Echo) needs, and the mapping of
every failure to a
`DriverError` naming LocalAI, the address and what to check. The admin key is sent as
`Authorization: Bearer` and never appears in a message (`Connection.scrub` also removes
it from server text). It must not interpret LocalAI data (`wire` does) nor decide
anything.

The size bound is checked once the body is read: the transport reads it whole, inside
the deadline, so what arrives in between is bounded by the deadline (and the link's
speed), and an answer over MAX_ANSWER_BYTES is refused before it is decoded.
"""

from __future__ import annotations

import json
import warnings
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from modelsched.drivers.localai.connection import KEY_VAR, Connection, check_connection
from modelsched.drivers.transport import Session
from modelsched.errors import DriverError

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a 10^4-node cluster's lists stay far below this
# Go's url.PathEscape-for-paths set (net/url shouldEscape, encodePath): what LocalAI's
# router leaves unescaped. Sending exactly this encoding keeps Go's RawPath empty, so Echo
# matches the decoded path; `%2F` for a slash would be looked up literally.
_PATH_SAFE = "$&+,/:;=@"


def path_segment(name: str) -> str:
    return quote(name, safe=_PATH_SAFE)


def addressable(name: str) -> bool:
    """Whether `name` can be put in a LocalAI URL path and arrive unchanged: Echo drops a
    trailing slash, and HTTP clients and proxies collapse `.`/`..` and empty segments."""
    parts = name.split("/")
    return bool(name) and not name.endswith("/") and all(p not in ("", ".", "..") for p in parts)


def _sent(exc: BaseException) -> bool:
    """Whether a failed request may have reached the server (so a write may have been done)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", None)
        return not isinstance(inner, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)
    return True


class LocalAIClient:
    def __init__(self, conn: Connection) -> None:
        check_connection(conn)
        self.conn = conn
        self.session = Session(deadline=conn.timeout)
        # No proxy or .netrc from the environment: a .netrc entry would replace the Bearer key,
        # a proxy would see it. The key goes only where LOCALAI_ADDR says.
        self.session.trust_env = False
        self.verify: bool | str = False if conn.skip_verify else (conn.cacert or True)
        self.requests_made = 0

    def close(self) -> None:
        self.session.close()

    # -- plumbing ----------------------------------------------------------------------------------
    def _headers(self, body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        if self.conn.api_key:
            headers["Authorization"] = f"Bearer {self.conn.api_key}"
        return headers

    def _bounded(self, resp: requests.Response, what: str) -> bytes:
        raw = resp.content
        if len(raw) > MAX_ANSWER_BYTES:
            raise DriverError(
                f"LocalAI at {self.conn.address}: {what}: the answer is larger than "
                f"{MAX_ANSWER_BYTES // (1024 * 1024)} MiB; refused"
            )
        return raw

    def call(self, method: str, path: str, what: str, *, body: Any = None, write: bool = False) -> Any:
        """Send one request and return its decoded JSON answer (None for an empty one).

        Every failure is a DriverError. `write`: a timeout or a dropped connection does not
        mean nothing happened, so the message says the outcome is unknown."""
        self.requests_made += 1
        addr = self.conn.address
        data = None
        if body is not None:
            try:
                data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (ValueError, UnicodeEncodeError):
                raise DriverError(
                    f"LocalAI at {addr}: {what}: the request cannot be encoded; nothing was sent"
                ) from None
        try:
            resp, raw = self._send(method, addr + path, data, what)
        except DriverError:
            raise
        except requests.RequestException as exc:
            raise self._unreachable(what, exc, write) from None
        except (ValueError, UnicodeError) as exc:  # the URL or a header cannot be encoded: nothing sent
            raise DriverError(f"LocalAI at {addr}: {what}: the request cannot be sent ({type(exc).__name__})") from None
        return self._answer(resp, raw, what)

    def _send(self, method: str, url: str, data: bytes | None, what: str) -> tuple[requests.Response, bytes]:
        with warnings.catch_warnings():
            if self.conn.skip_verify:  # the user chose it (--localai-skip-verify): no warning per request
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            resp = self.session.request(
                method,
                url,
                data=data,
                headers=self._headers(data is not None),
                timeout=(self.conn.timeout, self.conn.timeout),
                verify=self.verify,
            )  # the transport never follows a redirect and reads the body under the deadline
            with resp:
                return resp, self._bounded(resp, what)

    def _answer(self, resp: requests.Response, raw: bytes, what: str) -> Any:
        addr, status = self.conn.address, resp.status_code
        if 300 <= status < 400:
            where = self.conn.scrub(str(resp.headers.get("Location") or "?"))[:200]
            raise DriverError(
                f"LocalAI at {addr} answered {what} with a redirect (HTTP {status} to {where}); it was not "
                f"followed, so {KEY_VAR} was not sent there: set LOCALAI_ADDR to the LocalAI frontend itself"
            )
        if status == 401:
            key = "the key in LOCALAI_API_KEY" if self.conn.api_key else "no key (LOCALAI_API_KEY is not set)"
            raise DriverError(
                f"LocalAI at {addr} refused {what} (HTTP 401): it does not accept {key}; every /api/nodes route "
                f"needs an admin API key of this LocalAI in {KEY_VAR}"
            )
        if status == 403:
            raise DriverError(
                f"LocalAI at {addr} refused {what} (HTTP 403 {self._message(raw) or 'Admin access required'}): "
                f"the key in {KEY_VAR} is not an admin key; the /api/nodes routes are admin-only"
            )
        if status == 404 or (status == 503 and "distributed" in self._message(raw).lower()):
            raise DriverError(
                f"LocalAI at {addr} has no node admin API ({what}: HTTP {status}): distributed mode is off on this "
                "frontend (start it with --distributed and its node registry), or LOCALAI_ADDR does not point at a "
                "LocalAI frontend"
            )
        if status >= 400:
            message = self._message(raw) or self.conn.scrub(raw.decode("utf-8", "replace").strip())[:300]
            raise DriverError(f"LocalAI at {addr} failed {what} (HTTP {status}): {message or 'no message'}")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise DriverError(
                f"LocalAI at {addr}: {what}: the answer (HTTP {status}) is not JSON; check LOCALAI_ADDR points "
                "at a LocalAI frontend"
            ) from None

    def _message(self, raw: bytes) -> str:
        """LocalAI's error text: `{"error":{"message":...}}` or `{"error":"..."}`, scrubbed and cut."""
        try:
            doc = json.loads(raw)
        except ValueError:
            return ""
        err = doc.get("error") if isinstance(doc, dict) else None
        text = err.get("message") if isinstance(err, dict) else err
        if not isinstance(text, str):
            return ""
        return self.conn.scrub(" ".join(text.split()))[:300]

    def _unreachable(self, what: str, exc: BaseException, write: bool) -> DriverError:
        addr, kind = self.conn.address, type(exc).__name__
        if write and _sent(exc):
            return DriverError(
                f"LocalAI at {addr} did not answer {what} ({kind}, timeout {self.conn.timeout:g}s): it may or may "
                "not have been done; run `modelsched plan` to see the cluster as it is now"
            )
        hint = "check LOCALAI_ADDR / --localai-addr and that the frontend is up"
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "TLS failed: check LOCALAI_CACERT / --localai-cacert (or --localai-skip-verify for testing only)"
        elif isinstance(exc, requests.Timeout):
            hint += f"; it did not answer within {self.conn.timeout:g}s (raise --localai-timeout if it is slow)"
        return DriverError(f"LocalAI at {addr} is unreachable during {what} ({kind}): {hint}")

    def _list(self, path: str, what: str) -> list[Any]:
        got = self.call("GET", path, what)
        if not isinstance(got, list):
            # Never read a non-list as "no nodes / no rows": that would plan removals.
            raise DriverError(
                f"LocalAI at {self.conn.address}: {what}: the answer is not a list; check LOCALAI_ADDR points at "
                "a distributed LocalAI frontend"
            )
        return got

    # -- reads -------------------------------------------------------------------------------------
    def nodes(self) -> list[Any]:
        return self._list("/api/nodes", "listing nodes")

    def loaded_models(self) -> list[Any]:
        return self._list("/api/nodes/models", "listing loaded models")

    def rows(self) -> list[Any]:
        return self._list("/api/nodes/scheduling", "listing scheduling rows")

    # -- writes ------------------------------------------------------------------------------------
    def set_row(self, body: dict[str, Any]) -> Any:
        return self.call(
            "POST", "/api/nodes/scheduling", f"writing the scheduling row of {body['model_name']}", body=body,
            write=True,
        )

    def delete_row(self, model: str) -> None:
        self.call(
            "DELETE", "/api/nodes/scheduling/" + path_segment(model), f"deleting the scheduling row of {model}",
            write=True,
        )

    def unload(self, node_id: str, model: str, node_name: str) -> None:
        self.call(
            "POST", f"/api/nodes/{path_segment(node_id)}/models/unload", f"unloading {model} on node {node_name}",
            body={"model_name": model}, write=True,
        )
