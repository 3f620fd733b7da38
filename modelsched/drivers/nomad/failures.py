"""Which typed error, with which message, for each way a request to Nomad can fail.

`NotFoundError` for a 404 and `Forbidden` for a 403 (by status), `ConflictError` for a
check-index conflict (Nomad's text anywhere in the body: through a client agent it is
prefixed `rpc error: `, and Nomad's own CLI uses strings.Contains), `DriverError` for
the rest; each names the address and what to check. The token is scrubbed from every
message (also JSON-escaped or URL-encoded, as a server may echo it) before any server
text is cut short; then every control character in server text is shown escaped
(`plain`: a newline as `\\n`), so a body cannot forge output lines such as
"Apply complete". A write whose answer was lost says its outcome is unknown.
No I/O: the client calls `Failures.of` with what went wrong.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import nomad.api.exceptions as nexc  # type: ignore[import-untyped,unused-ignore]
import requests
import urllib3

from modelsched.drivers.nomad.connection import Connection
from modelsched.errors import DriverError, NotFoundError

CONFLICT_TEXT = "Enforcing job modify index"
MAX_SHOWN = 500  # characters of server text in a message
# C0 (newline and tab included) and C1 controls, zero-width and bidirectional marks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def plain(text: str) -> str:
    """Server text as one line of inert characters: each control character shown as its
    Python escape (`\\n`, `\\x1b`, `\\u202e`). Scrub the token before calling it."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class ConflictError(DriverError):
    """Nomad refused a register because the job's modify index moved (check-index)."""


class Forbidden(DriverError):
    """Nomad refused the token (HTTP 403, recognised by its status)."""


def sent(exc: BaseException) -> bool:
    """Whether a failed request may have reached the server (so a write may have been done).

    Only a connection that was never made (refused, connect timeout, TLS handshake) is
    known not to have sent anything; a read timeout or a connection dropped mid-answer
    may come after Nomad applied the write."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", None)
        return not isinstance(inner, urllib3.exceptions.ConnectTimeoutError)  # NewConnectionError derives from it
    return isinstance(exc, requests.exceptions.Timeout)


class Failures:
    """Builds the error for one connection's failures (it knows the token to scrub)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        token = conn.token or ""
        forms = {token, json.dumps(token)[1:-1], quote(token, safe=""), quote_plus(token)} if token else set()
        self._secrets = sorted((f for f in forms if f), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` without the token (in any form a server may echo it)."""
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def cut(self, text: str) -> str:
        """Scrubbed first, then escaped (`plain`), then cut short: a token straddling the
        cut never leaks a prefix, and no server text starts a line of its own."""
        text = plain(self.scrub(text.strip()))
        return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."

    def error(self, kind: type[DriverError], message: str) -> DriverError:
        return kind(self.scrub(message))

    def of(self, what: str, exc: BaseException, write: bool) -> DriverError:
        """The error for an exception raised while sending `what` (python-nomad or requests)."""
        addr = self.conn.address
        if isinstance(exc, nexc.URLNotAuthorizedNomadException):
            return self.error(
                Forbidden,
                f"Nomad at {addr} refused {what} (HTTP 403): check NOMAD_TOKEN / the token's ACL policy "
                f"(it needs read access to nodes and write access to jobs in namespace "
                f"{self.conn.namespace or 'default'})",
            )
        if isinstance(exc, nexc.URLNotFoundNomadException):
            return self.error(
                NotFoundError,
                f"Nomad at {addr}: {what}: not found (HTTP 404): {self._body(exc)}; "
                "check NOMAD_ADDR points at a Nomad HTTP API and the namespace/region exist",
            )
        if isinstance(exc, nexc.BadRequestNomadException):
            return self.error(DriverError, f"Nomad at {addr} rejected {what} (HTTP 400): {self._body(exc)}")
        if isinstance(exc, nexc.BaseNomadException):
            return self._base(what, exc, write)
        if isinstance(exc, requests.RequestException):  # TimeoutNomadException derives from it
            return self.unreachable(what, exc, write)
        # The request could not be encoded (a lone surrogate in a filter): nothing was sent.
        return self.error(DriverError, f"Nomad at {addr}: {what}: the request cannot be sent ({type(exc).__name__})")

    def unreachable(self, what: str, exc: BaseException, write: bool) -> DriverError:
        addr, kind = self.conn.address, type(exc).__name__
        if write and sent(exc):
            why = f"{kind} after {self.conn.timeout:g}s" if isinstance(exc, requests.Timeout) else kind
            return self.error(
                DriverError,
                f"Nomad at {addr} did not answer {what} ({why}): it may or may not have been done; "
                "run `modelsched plan` to see the cluster as it is now",
            )
        hint = "check NOMAD_ADDR / --nomad-addr and that the server is up"
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "TLS failed: check NOMAD_CACERT / NOMAD_TLS_SERVER_NAME (or NOMAD_SKIP_VERIFY for testing only)"
        elif isinstance(exc, requests.Timeout):
            hint = f"no complete answer within {self.conn.timeout:g}s; raise --nomad-timeout if it is slow"
        return self.error(DriverError, f"Nomad at {addr} is unreachable during {what} ({kind}): {hint}")

    def _body(self, exc: BaseException) -> str:
        resp = getattr(exc, "nomad_resp", None)
        text = resp.text if isinstance(resp, requests.Response) else str(resp)
        return self.cut(text)

    def _base(self, what: str, exc: BaseException, write: bool) -> DriverError:
        addr = self.conn.address
        resp = getattr(exc, "nomad_resp", None)
        # python-nomad: .nomad_resp is a Response or a requests exception (NOMAD.md).
        if not isinstance(resp, requests.Response):
            return self.unreachable(what, resp if isinstance(resp, BaseException) else exc, write)
        if resp.status_code == 404:
            return self.error(NotFoundError, f"Nomad at {addr}: {what}: not found (HTTP 404): {self._body(exc)}")
        body = self._body(exc)
        if resp.status_code == 500 and CONFLICT_TEXT in resp.text:
            return self.error(
                ConflictError,
                f"Nomad at {addr} refused {what}: the job changed since the plan was made ({body}); "
                "run `modelsched plan` again",
            )
        return self.error(DriverError, f"Nomad at {addr} failed {what} (HTTP {resp.status_code}): {body}")
