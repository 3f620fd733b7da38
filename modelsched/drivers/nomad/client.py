"""The one module that talks to Nomad: every python-nomad call lives here.

It owns the connection settings (Nomad CLI conventions; `conncheck` validates them),
TLS (verification ON unless skip-verify), and the mapping of python-nomad's exceptions
to `DriverError` with a message that names the address and what to check. It never
puts the token in a message (`_scrub` removes it even from server text, belt and
braces) and never follows a redirect (requests would forward X-Nomad-Token to the new
host; the Nomad API does not redirect).

It must not interpret Nomad data (that is `translate`) nor decide anything (driver).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import nomad.api  # type: ignore[import-untyped,unused-ignore]
import nomad.api.exceptions as nexc  # type: ignore[import-untyped,unused-ignore]
import requests
import urllib3
from requests.adapters import HTTPAdapter

from modelsched.drivers.nomad.conncheck import check_connection
from modelsched.errors import DriverError

DEFAULT_ADDRESS = "http://127.0.0.1:4646"
CONFLICT_PREFIX = "Enforcing job modify index"


class ConflictError(DriverError):
    """Nomad refused a register because the job's modify index moved (check-index)."""


@dataclass(frozen=True)
class Connection:
    """Where and how to reach Nomad. `token` never leaves this module in a message."""

    address: str = DEFAULT_ADDRESS
    token: str | None = None
    namespace: str | None = None
    region: str | None = None
    cacert: str | None = None
    capath: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls_server_name: str | None = None
    skip_verify: bool = False
    timeout: float = 5.0

    def __repr__(self) -> str:  # keep the token out of reprs and tracebacks
        return f"Connection(address={self.address!r}, namespace={self.namespace!r}, region={self.region!r})"


class _ServerNameAdapter(HTTPAdapter):
    """NOMAD_TLS_SERVER_NAME: verify the certificate (and send SNI) for this name, not the host."""

    def __init__(self, server_name: str) -> None:
        self._server_name = server_name
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._server_name
        kwargs["assert_hostname"] = self._server_name
        super().init_poolmanager(*args, **kwargs)


class _NoRedirectSession(requests.Session):
    """A session that never follows redirects. requests strips only `Authorization` on a
    redirect to another host, not `X-Nomad-Token`, and python-nomad lets DELETE follow them."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def _sent(exc: BaseException) -> bool:
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


class NomadClient:
    """Thin, typed wrapper over python-nomad's endpoint classes.

    The endpoint classes are built directly (not through `nomad.Nomad`): `nomad.Nomad`
    reads NOMAD_ADDR/NOMAD_TOKEN/... from the process environment itself, which would
    bypass our precedence rules (explicit option > plan file > env) — NOMAD.md
    "python-nomad quirks". python-nomad's `verify` defaults to False: we always pass it.
    """

    def __init__(self, conn: Connection) -> None:
        check_connection(conn)
        self.conn = conn
        session = _NoRedirectSession()
        if conn.tls_server_name:
            session.mount("https://", _ServerNameAdapter(conn.tls_server_name))
        verify: bool | str = False if conn.skip_verify else (conn.cacert or conn.capath or True)
        cert: tuple[str, ...] = ()
        if conn.client_cert and conn.client_key:
            cert = (conn.client_cert, conn.client_key)
        elif conn.client_cert:
            cert = (conn.client_cert,)
        settings: dict[str, Any] = {
            "address": conn.address.rstrip("/"),
            "namespace": conn.namespace,
            "region": conn.region,
            # python-nomad: user_agent without a token raises TypeError, so never set it.
            "token": conn.token or None,
            "timeout": conn.timeout,
            "verify": verify,
            "cert": cert if len(cert) != 1 else cert[0],
            "session": session,
        }
        self._nodes = nomad.api.Nodes(**settings)
        self._jobs = nomad.api.Jobs(**settings)
        self._job = nomad.api.Job(**settings)
        self._allocations = nomad.api.Allocations(**settings)
        self._evaluation = nomad.api.Evaluation(**settings)
        self.requests_made = 0

    # -- error mapping ---------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self.conn.token:
            text = text.replace(self.conn.token, "<redacted>")
        return text

    def _call(self, what: str, fn: Callable[[], requests.Response], *, write: bool = False) -> Any:
        """Send one request and return its JSON body; every failure is a DriverError.

        `write`: a timeout or a dropped connection does not mean nothing happened, so the
        message says the outcome is unknown instead of "unreachable"."""
        self.requests_made += 1
        addr = self.conn.address
        try:
            resp = fn()
        except nexc.URLNotAuthorizedNomadException:
            raise DriverError(
                f"Nomad at {addr} refused {what} (HTTP 403): check NOMAD_TOKEN / the token's ACL policy "
                f"(it needs read access to nodes and write access to jobs in namespace "
                f"{self.conn.namespace or 'default'})"
            ) from None
        except nexc.URLNotFoundNomadException as exc:
            raise DriverError(
                f"Nomad at {addr}: {what}: not found (HTTP 404): {self._body(exc)}; "
                "check NOMAD_ADDR points at a Nomad HTTP API and the namespace/region exist"
            ) from None
        except nexc.BadRequestNomadException as exc:
            raise DriverError(f"Nomad at {addr} rejected {what} (HTTP 400): {self._body(exc)}") from None
        except nexc.BaseNomadException as exc:
            raise self._map_base(what, exc, write) from None
        except requests.RequestException as exc:  # TimeoutNomadException derives from it
            raise self._unreachable(what, exc, write) from None
        except ValueError as exc:  # the request could not be encoded (e.g. a lone surrogate): nothing sent
            raise DriverError(f"Nomad at {addr}: {what}: the request cannot be sent ({type(exc).__name__})") from None
        if 300 <= resp.status_code < 400:
            # The session never follows redirects (the token would go along): say so.
            where = self._scrub(str(resp.headers.get("Location") or "?"))[:200]
            raise DriverError(
                f"Nomad at {addr} answered {what} with a redirect (HTTP {resp.status_code} to {where}); it was not "
                "followed, so the token was not sent there: set NOMAD_ADDR to the Nomad HTTP API address itself"
            )
        try:
            return resp.json()
        except ValueError:  # requests' JSONDecodeError: an HTML page, a proxy, not a Nomad API
            raise DriverError(
                f"Nomad at {addr}: {what}: the response (HTTP {resp.status_code}) is not JSON; "
                "check NOMAD_ADDR points at the Nomad HTTP API"
            ) from None

    def _unreachable(self, what: str, exc: BaseException, write: bool) -> DriverError:
        addr, kind = self.conn.address, type(exc).__name__
        if write and _sent(exc):
            why = f"{kind} after {self.conn.timeout:g}s" if isinstance(exc, requests.Timeout) else kind
            return DriverError(
                f"Nomad at {addr} did not answer {what} ({why}): it may or may not have been done; "
                "run `modelsched plan` to see the cluster as it is now"
            )
        hint = "check NOMAD_ADDR / --nomad-addr and that the server is up"
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "TLS failed: check NOMAD_CACERT / NOMAD_TLS_SERVER_NAME (or NOMAD_SKIP_VERIFY for testing only)"
        elif isinstance(exc, requests.Timeout):
            hint += "; raise --nomad-timeout if it is slow"
        return DriverError(f"Nomad at {addr} is unreachable during {what} ({kind}): {hint}")

    def _body(self, exc: Exception) -> str:
        resp = getattr(exc, "nomad_resp", None)
        text = resp.text if isinstance(resp, requests.Response) else str(resp)
        return self._scrub(text.strip()[:500])

    def _map_base(self, what: str, exc: Exception, write: bool) -> DriverError:
        addr = self.conn.address
        resp = getattr(exc, "nomad_resp", None)
        # python-nomad: .nomad_resp is a Response or a requests exception (NOMAD.md).
        if not isinstance(resp, requests.Response):
            return self._unreachable(what, resp if isinstance(resp, BaseException) else exc, write)
        body = self._body(exc)
        # Check-index conflict: HTTP 500 with this prefix; Nomad's CLI tests the same prefix.
        if resp.status_code == 500 and body.startswith(CONFLICT_PREFIX):
            return ConflictError(
                f"Nomad at {addr} refused {what}: the job changed since the plan was made ({body}); "
                "run `modelsched plan` again"
            )
        return DriverError(f"Nomad at {addr} failed {what} (HTTP {resp.status_code}): {body}")

    def _list(self, what: str, fn: Callable[[], requests.Response]) -> list[dict[str, Any]]:
        got = self._call(what, fn)
        if not isinstance(got, list):
            # Never read a non-list as "no nodes / no jobs": that would plan removals.
            raise DriverError(
                f"Nomad at {self.conn.address}: {what}: the answer is not a list; this is not a Nomad HTTP API "
                "(check NOMAD_ADDR)"
            )
        return [v for v in got if isinstance(v, dict)]

    # -- reads -----------------------------------------------------------------------

    def nodes(self, filter_expr: str | None = None) -> list[dict[str, Any]]:
        what = "listing nodes" + (f" (filter {filter_expr})" if filter_expr else "")
        params = {"filter": filter_expr} if filter_expr else {}
        return self._list(what, lambda: self._nodes.request(method="get", params=dict(params)))

    def jobs(self, prefix: str) -> list[dict[str, Any]]:
        params = {"prefix": prefix, "meta": "true"}
        return self._list("listing jobs", lambda: self._jobs.request(method="get", params=dict(params)))

    def allocations(self, filter_expr: str) -> list[dict[str, Any]]:
        params = {"filter": filter_expr}
        return self._list("listing allocations", lambda: self._allocations.request(method="get", params=dict(params)))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The full job, or None when it does not exist."""
        try:
            got = self._call(f"reading job {job_id}", lambda: self._job.request(job_id, method="get"))
        except DriverError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        return got if isinstance(got, dict) else None

    def evaluation(self, eval_id: str) -> dict[str, Any]:
        got = self._call(f"reading evaluation {eval_id}", lambda: self._evaluation.request(eval_id, method="get"))
        return got if isinstance(got, dict) else {}

    # -- writes ----------------------------------------------------------------------

    def register(self, job: Mapping[str, Any], modify_index: int) -> dict[str, Any]:
        """Register with check-index: Nomad refuses it if the job's modify index is not
        `modify_index` (0 = only if new) — NOMAD.md "Check-index"."""
        body = {"Job": dict(job), "EnforceIndex": True, "JobModifyIndex": modify_index}
        job_id = str(job["ID"])
        got = self._call(
            f"registering job {job_id}", lambda: self._job.request(job_id, json=body, method="post"), write=True
        )
        return got if isinstance(got, dict) else {}

    def purge(self, job_id: str) -> None:
        """Deregister and purge (deleting a missing job succeeds in Nomad)."""
        self._call(
            f"purging job {job_id}",
            lambda: self._job.request(job_id, params={"purge": "true"}, method="delete"),
            write=True,
        )

    def evaluate(self, job_id: str) -> dict[str, Any]:
        got = self._call(
            f"evaluating job {job_id}", lambda: self._job.request(job_id, "evaluate", method="post"), write=True
        )
        return got if isinstance(got, dict) else {}

    def plan(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side dry run (python-nomad's plan_job defaults diff=False: pass Diff ourselves)."""
        job_id = str(job["ID"])
        body = {"Job": dict(job), "Diff": True}
        got = self._call(f"planning job {job_id}", lambda: self._job.request(job_id, "plan", json=body, method="post"))
        return got if isinstance(got, dict) else {}
