"""The one module that talks to Nomad: every python-nomad call lives here.

Owns the request for each endpoint the driver uses, TLS (verification ON unless
skip-verify), JSON decoding, and that every answer is checked (`answers`) and every
failure is a typed error with the token scrubbed (`failures`). Every path segment is a
plain ID, so nothing can make it request another endpoint.

It must not interpret Nomad data (that is `translate`) nor decide anything (driver).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import nomad.api  # type: ignore[import-untyped,unused-ignore]
import nomad.api.exceptions as nexc  # type: ignore[import-untyped,unused-ignore]
import orjson
import requests

from modelsched.drivers.nomad import answers
from modelsched.drivers.nomad.answers import Version
from modelsched.drivers.nomad.connection import DEFAULT_ADDRESS, Connection
from modelsched.drivers.nomad.failures import MAX_SHOWN, ConflictError, Failures, Forbidden
from modelsched.drivers.transport import Session
from modelsched.errors import DriverError, NotFoundError

__all__ = ["DEFAULT_ADDRESS", "MAX_SHOWN", "ConflictError", "Connection", "Forbidden", "NomadClient", "NotFoundError"]

T = TypeVar("T")
# IDs that go into a URL path: job IDs are `job_name_prefix` + a sanitised model name;
# node, allocation and evaluation IDs are UUIDs.
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,256}")


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value) or value in (".", ".."):
        raise DriverError(f"refusing to request {what} {value[:80]!r}: not a plain Nomad ID")
    return value


class NomadClient:
    """Thin, typed wrapper over python-nomad's endpoint classes.

    The endpoint classes are built directly (not through `nomad.Nomad`): `nomad.Nomad`
    reads NOMAD_ADDR/NOMAD_TOKEN/... from the process environment itself, which would
    bypass the precedence in `connection`. python-nomad's `verify` defaults to False:
    we always pass it.
    """

    def __init__(self, conn: Connection) -> None:
        conn.check()
        conn.check_files()
        self.conn = conn
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
            "session": Session(conn.timeout, conn.tls_server_name),
        }
        self._nodes = nomad.api.Nodes(**settings)
        self._jobs = nomad.api.Jobs(**settings)
        self._job = nomad.api.Job(**settings)
        self._allocations = nomad.api.Allocations(**settings)
        self._allocation = nomad.api.Allocation(**settings)
        self._evaluation = nomad.api.Evaluation(**settings)
        self._agent = nomad.api.Agent(**settings)
        self.requests_made = 0
        self.failures = Failures(conn)

    def scrub(self, text: str) -> str:
        """`text` without the token (in any form a server may echo it)."""
        return self.failures.scrub(text)

    # -- one request ---------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], requests.Response], *, write: bool = False) -> Any:
        """Send one request and return its JSON body; every failure is a DriverError.

        `write`: a timeout or a dropped connection does not mean nothing happened, so the
        message says the outcome is unknown instead of "unreachable"."""
        self.requests_made += 1
        addr = self.conn.address
        try:
            resp = fn()
        except (nexc.BaseNomadException, requests.RequestException, ValueError, UnicodeError) as exc:
            raise self.failures.of(what, exc, write) from None
        if 300 <= resp.status_code < 400:
            # The session never follows redirects (the token would go along): say so.
            where = self.failures.cut(str(resp.headers.get("Location") or "?"))[:200]
            raise self.failures.error(
                DriverError,
                f"Nomad at {addr} answered {what} with a redirect (HTTP {resp.status_code} to {where}); it was not "
                "followed, so the token was not sent there: set NOMAD_ADDR to the Nomad HTTP API address itself",
            )
        try:
            # orjson: 2-3x faster than requests' json on 10^4 node stubs; it also bounds the
            # nesting depth and integer size (a hostile answer cannot exhaust the stack).
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError:  # an HTML page, a proxy, not a Nomad API
            raise self.failures.error(
                DriverError,
                f"Nomad at {addr}: {what}: the response (HTTP {resp.status_code}) is not JSON; "
                "check NOMAD_ADDR points at the Nomad HTTP API",
            ) from None

    def _at(self, path: str) -> str:
        """An endpoint as malformed-answer messages name it."""
        return f"Nomad at {self.conn.address}: {path}"

    def _shaped(self, check: Callable[[], T]) -> T:
        """Run an `answers` check; its message is scrubbed like every other."""
        try:
            return check()
        except answers.MalformedAnswer as exc:
            raise self.failures.error(answers.MalformedAnswer, str(exc)) from None

    # -- reads -----------------------------------------------------------------------

    def server_version(self) -> Version:
        """The Nomad version, in one request: `GET /v1/agent/self` (ACL `agent:read`). A
        token without it (403) gets `GET /v1/agent/members` instead (ACL `node:read`, which
        observing needs anyway): the lowest version of the region's alive servers."""
        try:
            got = self._call("reading the Nomad version", lambda: self._agent.request("self", method="get"))
        except Forbidden:
            got = self._call("reading the Nomad version", lambda: self._agent.request("members", method="get"))
            at = self._at("GET /v1/agent/members")
            return self._shaped(lambda: answers.server_version(at, got, self.conn.region))
        at = self._at("GET /v1/agent/self")
        return self._shaped(lambda: answers.agent_version(at, got))

    def nodes(self, filter_expr: str | None = None) -> list[dict[str, Any]]:
        what = "listing nodes" + (f" (filter {filter_expr})" if filter_expr else "")
        params = {"filter": filter_expr} if filter_expr else {}
        got = self._call(what, lambda: self._nodes.request(method="get", params=dict(params)))
        shape = answers.NODE_ID if filter_expr else answers.NODE_STUB
        return self._shaped(lambda: answers.listing(self._at("GET /v1/nodes"), got, shape))

    def jobs(self, prefix: str) -> list[dict[str, Any]]:
        params = {"prefix": prefix, "meta": "true"}
        got = self._call("listing jobs", lambda: self._jobs.request(method="get", params=dict(params)))
        return self._shaped(lambda: answers.listing(self._at("GET /v1/jobs"), got, answers.JOB_STUB))

    def allocations(self, filter_expr: str) -> list[dict[str, Any]]:
        params = {"filter": filter_expr}
        got = self._call(
            "listing allocations", lambda: self._allocations.request(method="get", params=dict(params))
        )
        at = self._at("GET /v1/allocations")
        return self._shaped(lambda: answers.listing(at, got, answers.ALLOCATION))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The full job, or None when it does not exist (a 404, recognised by its status)."""
        _segment(job_id, "job")
        try:
            got = self._call(f"reading job {job_id}", lambda: self._job.request(job_id, method="get"))
        except NotFoundError:
            return None
        return self._shaped(lambda: answers.one(self._at(f"GET /v1/job/{job_id}"), got, answers.JOB))

    def evaluation(self, eval_id: str) -> dict[str, Any]:
        """One evaluation, asked in our namespace: Nomad authorises `GET /v1/evaluation/:id`
        against the request's namespace (python-nomad sends none for this endpoint)."""
        _segment(eval_id, "evaluation")
        params = self._namespace()
        got = self._call(
            f"reading evaluation {eval_id}",
            lambda: self._evaluation.request(eval_id, method="get", params=dict(params)),
        )
        at = self._at(f"GET /v1/evaluation/{eval_id}")
        return self._shaped(lambda: answers.one(at, got, answers.EVALUATION))

    def _namespace(self) -> dict[str, str]:
        return {"namespace": self.conn.namespace} if self.conn.namespace else {}

    # -- writes ----------------------------------------------------------------------

    def register(self, job: Mapping[str, Any], modify_index: int) -> dict[str, Any]:
        """Register with check-index: Nomad refuses it if the job's modify index is not
        `modify_index` (0 = only if new) — NOMAD.md "Check-index"."""
        body = {"Job": dict(job), "EnforceIndex": True, "JobModifyIndex": modify_index}
        job_id = _segment(str(job["ID"]), "job")
        got = self._call(
            f"registering job {job_id}", lambda: self._job.request(job_id, json=body, method="post"), write=True
        )
        return self._shaped(lambda: answers.one(self._at(f"POST /v1/job/{job_id}"), got, answers.WRITE))

    def purge(self, job_id: str) -> None:
        """Deregister and purge (deleting a missing job succeeds in Nomad)."""
        _segment(job_id, "job")
        self._call(
            f"purging job {job_id}",
            lambda: self._job.request(job_id, params={"purge": "true"}, method="delete"),
            write=True,
        )

    def evaluate(self, job_id: str) -> dict[str, Any]:
        _segment(job_id, "job")
        got = self._call(
            f"evaluating job {job_id}", lambda: self._job.request(job_id, "evaluate", method="post"), write=True
        )
        at = self._at(f"POST /v1/job/{job_id}/evaluate")
        return self._shaped(lambda: answers.one(at, got, answers.WRITE))

    def stop_allocation(self, alloc_id: str) -> dict[str, Any]:
        """`POST /v1/allocation/:id/stop`: stop exactly this allocation (the scheduler then
        places a replacement where the job's constraints allow)."""
        _segment(alloc_id, "allocation")
        got = self._call(
            f"stopping allocation {alloc_id}",
            lambda: self._allocation.request(alloc_id, "stop", method="post"),
            write=True,
        )
        at = self._at(f"POST /v1/allocation/{alloc_id}/stop")
        return self._shaped(lambda: answers.one(at, got, answers.WRITE))

    def plan(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side dry run (python-nomad's plan_job defaults diff=False: pass Diff ourselves)."""
        job_id = _segment(str(job["ID"]), "job")
        body = {"Job": dict(job), "Diff": True}
        got = self._call(f"planning job {job_id}", lambda: self._job.request(job_id, "plan", json=body, method="post"))
        endpoint = self._at(f"POST /v1/job/{job_id}/plan")
        return self._shaped(lambda: answers.plan_counts(endpoint, answers.one(endpoint, got, answers.PLAN)))
