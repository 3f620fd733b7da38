"""Nomad HTTP API endpoints over the simulated state: routing and JSON shapes.

Owns which path answers what, the stub vs full shapes (PascalCase keys), list
filters (`namespace`, `prefix`, `filter`) and the plan dry run. It must not deal with
sockets, ACL or fault injection (see server.py). Errors are plain text, as Nomad's.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.nomadsim import jobspec, scheduler
from tests.nomadsim.bexpr import FilterError, compile_filter
from tests.nomadsim.state import RegisterError, State

Query = dict[str, list[str]]
Reply = tuple[int, Any]  # (status, JSON body or plain-text str for errors)

NODE_STUB_KEYS = (
    "ID", "Name", "Datacenter", "NodeClass", "NodePool", "Status", "StatusDescription", "SchedulingEligibility",
    "Drain", "Address", "Version", "CreateIndex", "ModifyIndex",
)
JOB_STUB_KEYS = (
    "ID", "ParentID", "Name", "Namespace", "Datacenters", "NodePool", "Type", "Priority", "Periodic",
    "ParameterizedJob", "Stop", "Status", "StatusDescription", "CreateIndex", "ModifyIndex", "JobModifyIndex",
    "SubmitTime", "Version",
)


class ApiError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def _param(query: Query, name: str, default: str = "") -> str:
    return query.get(name, [default])[0]


def _flag(query: Query, name: str) -> bool:
    # Nomad parses booleans with Go's strconv.ParseBool; python-nomad sends "True".
    return _param(query, name) in ("1", "t", "T", "true", "TRUE", "True")


def _filtered(items: list[dict[str, Any]], query: Query, full: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Any]:
    prefix = _param(query, "prefix")
    items = [item for item in items if str(item.get("ID", "")).startswith(prefix)]
    text = _param(query, "filter")
    if text:
        try:
            predicate = compile_filter(text)
        except FilterError as err:
            raise ApiError(400, str(err)) from None
        items = [item for item in items if predicate(full(item))]
    return items


def _clean(alloc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in alloc.items() if not key.startswith("_")}


class Api:
    def __init__(self, state: State) -> None:
        self.state = state
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("GET", re.compile(r"/v1/nodes"), self.list_nodes),
            ("GET", re.compile(r"/v1/node/([^/]+)"), self.get_node),
            ("GET", re.compile(r"/v1/node/([^/]+)/allocations"), self.node_allocs),
            ("GET", re.compile(r"/v1/jobs"), self.list_jobs),
            ("POST", re.compile(r"/v1/jobs"), self.register),
            ("POST", re.compile(r"/v1/validate/job"), self.validate),
            ("GET", re.compile(r"/v1/job/([^/]+)"), self.get_job),
            ("POST", re.compile(r"/v1/job/([^/]+)"), self.register_id),
            ("DELETE", re.compile(r"/v1/job/([^/]+)"), self.deregister),
            ("GET", re.compile(r"/v1/job/([^/]+)/versions"), self.versions),
            ("GET", re.compile(r"/v1/job/([^/]+)/allocations"), self.job_allocs),
            ("GET", re.compile(r"/v1/job/([^/]+)/evaluations"), self.job_evals),
            ("POST", re.compile(r"/v1/job/([^/]+)/plan"), self.plan),
            ("POST", re.compile(r"/v1/job/([^/]+)/evaluate"), self.force_evaluate),
            ("GET", re.compile(r"/v1/allocations"), self.list_allocs),
            ("GET", re.compile(r"/v1/allocation/([^/]+)"), self.get_alloc),
            ("GET", re.compile(r"/v1/evaluations"), self.list_evals),
            ("GET", re.compile(r"/v1/evaluation/([^/]+)"), self.get_eval),
            ("GET", re.compile(r"/v1/status/leader"), lambda q, b: "127.0.0.1:4647"),
        ]

    def handle(self, method: str, path: str, query: Query, body: bytes) -> Reply:
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                args = [unquote(group) for group in match.groups()]
                try:
                    with self.state.lock:
                        return 200, handler(query, body, *args)
                except ApiError as err:
                    return err.status, err.text
                except RegisterError as err:
                    return 500, str(err)  # validation and check-index errors are HTTP 500 (NOMAD.md)
        if any(pattern.fullmatch(path) for _, pattern, _ in self.routes):
            return 405, "Invalid method"
        return 404, "404 page not found"

    # -- nodes -----------------------------------------------------------------
    def list_nodes(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        nodes = sorted(self.state.nodes.values(), key=lambda n: n["ID"])
        # `filter` runs on the full node; the stub has no Meta (NOMAD.md).
        nodes = _filtered(nodes, query, lambda n: n)
        return [{key: node[key] for key in NODE_STUB_KEYS} for node in nodes]

    def _node(self, node_id: str) -> dict[str, Any]:
        if node_id not in self.state.nodes:
            raise ApiError(404, "node not found")
        return self.state.nodes[node_id]

    def get_node(self, query: Query, body: bytes, node_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._node(node_id))

    def node_allocs(self, query: Query, body: bytes, node_id: str) -> list[dict[str, Any]]:
        self._node(node_id)
        return [_clean(a) for a in self._sorted_allocs() if a["NodeID"] == node_id]

    # -- jobs ------------------------------------------------------------------
    def _namespace(self, query: Query) -> str:
        return _param(query, "namespace", "default") or "default"

    def _job(self, query: Query, job_id: str) -> tuple[tuple[str, str], dict[str, Any]]:
        key = (self._namespace(query), job_id)
        if key not in self.state.jobs:
            raise ApiError(404, "job not found")
        return key, self.state.jobs[key]

    def _full_job(self, key: tuple[str, str]) -> dict[str, Any]:
        return copy.deepcopy(self.state.jobs[key]) | {"Status": self.state.job_status(key)}

    def list_jobs(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        namespace = self._namespace(query)
        keys = sorted(key for key in self.state.jobs if namespace in ("*", key[0]))
        stubs = []
        for key in keys:
            full = self._full_job(key)
            stub = {name: full.get(name) for name in JOB_STUB_KEYS}
            if _flag(query, "meta"):
                stub["Meta"] = full.get("Meta")  # the stub has Meta only with meta=true (Nomad 1.3+)
            stubs.append(stub)
        return _filtered(stubs, query, lambda s: s)

    def _with_namespace(self, query: Query, job: dict[str, Any]) -> dict[str, Any]:
        # The job's own Namespace wins; else the `namespace` query param; else "default".
        if job.get("Namespace") or not _param(query, "namespace"):
            return job
        return job | {"Namespace": _param(query, "namespace")}

    def _register_body(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError as err:
            raise ApiError(400, f"Failed to decode request body: {err}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("Job"), dict):
            raise ApiError(400, "Job must be specified")
        return payload

    def register(self, query: Query, body: bytes, job_id: str | None = None) -> dict[str, Any]:
        payload = self._register_body(body)
        job = self._with_namespace(query, payload["Job"])
        if job_id is not None and job.get("ID") != job_id:
            raise ApiError(400, "Job ID does not match name")
        return self.state.register(job, bool(payload.get("EnforceIndex")), int(payload.get("JobModifyIndex") or 0))

    def register_id(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        return self.register(query, body, job_id)

    def validate(self, query: Query, body: bytes) -> dict[str, Any]:
        # 200 with ValidationErrors instead of failing (NOMAD.md).
        errors = jobspec.validate(jobspec.normalize(self._register_body(body)["Job"]))
        return {"DriverConfigValidated": True, "ValidationErrors": errors or None,
                "Error": jobspec.error_text(errors) if errors else "", "Warnings": ""}

    def get_job(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        key, _ = self._job(query, job_id)
        return self._full_job(key)

    def deregister(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        return self.state.deregister(self._namespace(query), job_id, _flag(query, "purge"))

    def versions(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        key, _ = self._job(query, job_id)
        return {"Versions": copy.deepcopy(self.state.versions.get(key, [])), "Diffs": None}

    def job_allocs(self, query: Query, body: bytes, job_id: str) -> list[dict[str, Any]]:
        key, _ = self._job(query, job_id)
        return [_clean(a) for a in self._sorted_allocs() if (a["Namespace"], a["JobID"]) == key]

    def job_evals(self, query: Query, body: bytes, job_id: str) -> list[dict[str, Any]]:
        key, _ = self._job(query, job_id)
        evals = [e for e in self.state.evals.values() if (e["Namespace"], e["JobID"]) == key]
        return sorted(copy.deepcopy(evals), key=lambda e: -e["CreateIndex"])

    def force_evaluate(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        """`POST /v1/job/:id/evaluate`: re-run the scheduler for the job, answer with the eval."""
        key, _ = self._job(query, job_id)
        evaluation = self.state.evaluate(key, "job-register")
        return {"EvalID": evaluation["ID"], "EvalCreateIndex": evaluation["CreateIndex"],
                "JobModifyIndex": self.state.jobs[key]["JobModifyIndex"], "Index": evaluation["CreateIndex"]}

    def plan(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        """Run the scheduler on a copy and return counts only (NOMAD.md "Plan"); changes nothing."""
        payload = self._register_body(body)
        job = jobspec.normalize(self._with_namespace(query, payload["Job"]))
        errors = jobspec.validate(job)
        if errors:
            raise RegisterError(jobspec.error_text(errors))
        key = (job["Namespace"], job["ID"])
        old = self.state.jobs.get(key)
        if old is not None and old["Type"] != job["Type"]:
            raise RegisterError(f'cannot update job from type "{old["Type"]}" to "{job["Type"]}"')  # as register
        changed = jobspec.spec_changed(old, job)
        job["Version"] = 0 if old is None else old["Version"] + (1 if changed else 0)
        decision = self.state.decide(key, job)
        diff_type = "Added" if old is None else ("Edited" if changed else "None")
        groups = {g["Name"] for g in job["TaskGroups"]} | {g["Name"] for g in (old or {}).get("TaskGroups", [])}
        updates = {name: decision.counts.get(name, dict.fromkeys(scheduler.COUNTERS, 0)) for name in sorted(groups)}
        return {
            "Annotations": {"DesiredTGUpdates": updates, "PreemptedAllocs": None},
            "FailedTGAllocs": decision.failed or None,
            "JobModifyIndex": old["JobModifyIndex"] if old else 0,  # 0 for a new job
            "Diff": {"Type": diff_type, "ID": job["ID"], "Fields": None, "Objects": None, "TaskGroups": None}
            if _diff_wanted(payload) else None,
            "Warnings": "", "NextPeriodicLaunch": "0001-01-01T00:00:00Z", "CreatedEvals": None,
            "Index": self.state.index,
        }

    # -- allocations and evaluations -------------------------------------------
    def _sorted_allocs(self) -> list[dict[str, Any]]:
        return sorted(self.state.allocs.values(), key=lambda a: (a["CreateIndex"], a["Name"], a["ID"]))

    def list_allocs(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        namespace = self._namespace(query)
        allocs = [_clean(a) for a in self._sorted_allocs() if namespace in ("*", a["Namespace"])]
        return _filtered(allocs, query, lambda a: a)

    def get_alloc(self, query: Query, body: bytes, alloc_id: str) -> dict[str, Any]:
        if alloc_id not in self.state.allocs:
            raise ApiError(404, "alloc not found")
        alloc = _clean(self.state.allocs[alloc_id])
        versions = self.state.versions.get((alloc["Namespace"], alloc["JobID"]), [])
        alloc["Job"] = next((copy.deepcopy(v) for v in versions if v["Version"] == alloc["JobVersion"]), None)
        return alloc

    def list_evals(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        namespace = self._namespace(query)
        evals = [e for e in self.state.evals.values() if namespace in ("*", e["Namespace"])]
        return _filtered(sorted(copy.deepcopy(evals), key=lambda e: -e["CreateIndex"]), query, lambda e: e)

    def get_eval(self, query: Query, body: bytes, eval_id: str) -> dict[str, Any]:
        if eval_id not in self.state.evals:
            raise ApiError(404, "eval not found")
        return copy.deepcopy(self.state.evals[eval_id])


def _diff_wanted(payload: dict[str, Any]) -> bool:
    return bool(payload.get("Diff"))
