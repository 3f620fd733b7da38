"""The one module that talks to Nomad: every python-nomad call lives here.

It owns the connection settings (Nomad CLI conventions), TLS (verification ON unless
skip-verify), and the mapping of python-nomad's exceptions to `DriverError` with a
message that names the address and what to check. It never puts the token in a
message (`_scrub` removes it even from server text, belt and braces).

It must not interpret Nomad data (that is `translate`) nor decide anything (driver).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import nomad.api  # type: ignore[import-untyped,unused-ignore]
import nomad.api.exceptions as nexc  # type: ignore[import-untyped,unused-ignore]
import requests
from requests.adapters import HTTPAdapter

from modelsched.errors import DriverError

DEFAULT_ADDRESS = "http://127.0.0.1:4646"
CONFLICT_PREFIX = "Enforcing job modify index"
T = TypeVar("T")


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


class NomadClient:
    """Thin, typed wrapper over python-nomad's endpoint classes.

    The endpoint classes are built directly (not through `nomad.Nomad`): `nomad.Nomad`
    reads NOMAD_ADDR/NOMAD_TOKEN/... from the process environment itself, which would
    bypass our precedence rules (explicit option > plan file > env) — NOMAD.md
    "python-nomad quirks". python-nomad's `verify` defaults to False: we always pass it.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        session = requests.Session()
        if conn.tls_server_name:
            session.mount("https://", _ServerNameAdapter(conn.tls_server_name))
        verify: bool | str = False if conn.skip_verify else (conn.cacert or True)
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

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        self.requests_made += 1
        addr = self.conn.address
        try:
            return fn()
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
            raise self._map_base(what, exc) from None
        except requests.RequestException as exc:  # TimeoutNomadException derives from it
            raise DriverError(
                f"Nomad at {addr} is unreachable during {what} ({type(exc).__name__}): "
                "check NOMAD_ADDR / --nomad-addr and that the server is up"
            ) from None
        except ValueError:  # a non-JSON body: not a Nomad API
            raise DriverError(
                f"Nomad at {addr}: {what}: the response is not JSON; check NOMAD_ADDR points at the Nomad HTTP API"
            ) from None

    def _body(self, exc: Exception) -> str:
        resp = getattr(exc, "nomad_resp", None)
        text = resp.text if isinstance(resp, requests.Response) else str(resp)
        return self._scrub(text.strip()[:500])

    def _map_base(self, what: str, exc: Exception) -> DriverError:
        addr = self.conn.address
        resp = getattr(exc, "nomad_resp", None)
        # python-nomad: .nomad_resp is a Response or a requests exception (NOMAD.md).
        if not isinstance(resp, requests.Response):
            kind = type(resp).__name__
            hint = "check NOMAD_ADDR / --nomad-addr and that the server is up"
            if isinstance(resp, requests.exceptions.SSLError):
                hint = "check NOMAD_CACERT / NOMAD_TLS_SERVER_NAME (or NOMAD_SKIP_VERIFY for testing only)"
            elif isinstance(resp, requests.Timeout):
                hint += "; raise --nomad-timeout if it is slow"
            return DriverError(f"Nomad at {addr} is unreachable during {what} ({kind}): {hint}")
        body = self._body(exc)
        # Check-index conflict: HTTP 500 with this prefix; Nomad's CLI tests the same prefix.
        if resp.status_code == 500 and body.startswith(CONFLICT_PREFIX):
            return ConflictError(
                f"Nomad at {addr} refused {what}: the job changed since the plan was made ({body}); "
                "run `modelsched plan` again"
            )
        return DriverError(f"Nomad at {addr} failed {what} (HTTP {resp.status_code}): {body}")

    # -- reads -----------------------------------------------------------------------

    def nodes(self, filter_expr: str | None = None) -> list[dict[str, Any]]:
        what = "listing nodes" + (f" (filter {filter_expr})" if filter_expr else "")
        params = {"filter": filter_expr} if filter_expr else {}
        return _as_list(self._call(what, lambda: self._nodes.request(method="get", params=dict(params)).json()))

    def jobs(self, prefix: str) -> list[dict[str, Any]]:
        params = {"prefix": prefix, "meta": "true"}
        return _as_list(
            self._call("listing jobs", lambda: self._jobs.request(method="get", params=dict(params)).json())
        )

    def allocations(self, filter_expr: str) -> list[dict[str, Any]]:
        params = {"filter": filter_expr}
        return _as_list(
            self._call(
                "listing allocations", lambda: self._allocations.request(method="get", params=dict(params)).json()
            )
        )

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The full job, or None when it does not exist."""
        try:
            got = self._call(f"reading job {job_id}", lambda: self._job.request(job_id, method="get").json())
        except DriverError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        return got if isinstance(got, dict) else None

    def evaluation(self, eval_id: str) -> dict[str, Any]:
        got = self._call(
            f"reading evaluation {eval_id}", lambda: self._evaluation.request(eval_id, method="get").json()
        )
        return got if isinstance(got, dict) else {}

    # -- writes ----------------------------------------------------------------------

    def register(self, job: Mapping[str, Any], modify_index: int) -> dict[str, Any]:
        """Register with check-index: Nomad refuses it if the job's modify index is not
        `modify_index` (0 = only if new) — NOMAD.md "Check-index"."""
        body = {"Job": dict(job), "EnforceIndex": True, "JobModifyIndex": modify_index}
        job_id = str(job["ID"])
        got = self._call(
            f"registering job {job_id}", lambda: self._job.request(job_id, json=body, method="post").json()
        )
        return got if isinstance(got, dict) else {}

    def purge(self, job_id: str) -> None:
        """Deregister and purge (deleting a missing job succeeds in Nomad)."""
        self._call(
            f"purging job {job_id}",
            lambda: self._job.request(job_id, params={"purge": "true"}, method="delete").json(),
        )

    def evaluate(self, job_id: str) -> dict[str, Any]:
        got = self._call(
            f"evaluating job {job_id}", lambda: self._job.request(job_id, "evaluate", method="post").json()
        )
        return got if isinstance(got, dict) else {}

    def plan(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side dry run (python-nomad's plan_job defaults diff=False: pass Diff ourselves)."""
        job_id = str(job["ID"])
        body = {"Job": dict(job), "Diff": True}
        got = self._call(
            f"planning job {job_id}", lambda: self._job.request(job_id, "plan", json=body, method="post").json()
        )
        return got if isinstance(got, dict) else {}


def _as_list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]
