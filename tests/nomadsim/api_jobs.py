"""Job endpoints of the simulated HTTP API (mixed into api.Api).

Follows command/agent/job_endpoint.go (`jobUpdate`, `apiJobAndRequestToStructs`,
`namespaceForJob`, `jobPlan`, `jobScaleAction`, `jobListRequest` with `meta`) and
nomad/job_endpoint.go (`Register`, `Plan`, `Scale`, `Evaluate`). Register and plan errors
from the server are RPC errors (HTTP 500); request-shape errors are 400.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.nomadsim import jobspec, scheduler
from tests.nomadsim.jsontypes import type_error
from tests.nomadsim.state import CodedError, RegisterError, reply_for
from tests.nomadsim.system import _ver

if TYPE_CHECKING:
    from tests.nomadsim.state import State

Query = dict[str, list[str]]
JOB_STUB_KEYS = (
    "ID", "ParentID", "Name", "Namespace", "Datacenters", "NodePool", "Type", "Priority", "Periodic",
    "ParameterizedJob", "Stop", "Status", "StatusDescription", "CreateIndex", "ModifyIndex", "JobModifyIndex",
    "SubmitTime", "Version",
)


def _param(query: Query, name: str) -> str:
    return query.get(name, [""])[0]


class JobsApi:
    state: State
    allowed: Callable[[str], bool]
    check: Callable[[str], None]
    namespace: Callable[[Query], str]
    scoped: Callable[[Query, list[dict[str, Any]]], list[dict[str, Any]]]
    sorted_allocs: Callable[[], list[dict[str, Any]]]

    def job_routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        return [
            ("GET", re.compile(r"/v1/jobs"), self.list_jobs),
            ("POST", re.compile(r"/v1/jobs"), self.register),
            ("PUT", re.compile(r"/v1/jobs"), self.register),
            ("POST", re.compile(r"/v1/validate/job"), self.validate),
            ("GET", re.compile(r"/v1/job/([^/]+)"), self.get_job),
            ("POST", re.compile(r"/v1/job/([^/]+)"), self.register),
            ("PUT", re.compile(r"/v1/job/([^/]+)"), self.register),
            ("DELETE", re.compile(r"/v1/job/([^/]+)"), self.deregister),
            ("GET", re.compile(r"/v1/job/([^/]+)/versions"), self.versions),
            ("GET", re.compile(r"/v1/job/([^/]+)/allocations"), self.job_allocs),
            ("GET", re.compile(r"/v1/job/([^/]+)/evaluations"), self.job_evals),
            ("POST", re.compile(r"/v1/job/([^/]+)/plan"), self.plan),
            ("PUT", re.compile(r"/v1/job/([^/]+)/plan"), self.plan),
            ("POST", re.compile(r"/v1/job/([^/]+)/evaluate"), self.force_evaluate),
            ("PUT", re.compile(r"/v1/job/([^/]+)/evaluate"), self.force_evaluate),
            ("POST", re.compile(r"/v1/job/([^/]+)/scale"), self.scale),
            ("PUT", re.compile(r"/v1/job/([^/]+)/scale"), self.scale),
        ]

    def _job(self, query: Query, job_id: str) -> tuple[tuple[str, str], dict[str, Any]]:
        key = (self.namespace(query), job_id)
        self.check(key[0])
        if key not in self.state.jobs:
            raise CodedError(404, "job not found")
        return key, self.state.jobs[key]

    def _full_job(self, key: tuple[str, str]) -> dict[str, Any]:
        return copy.deepcopy(self.state.jobs[key]) | {"Status": self.state.job_status(key)}

    def list_jobs(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        from tests.nomadsim.api import filtered, flag
        stubs = []
        for key in sorted(self.state.jobs):
            full = self._full_job(key)
            stub = {name: full.get(name) for name in JOB_STUB_KEYS}
            # JobListStub.Meta (omitempty) with meta=true exists since Nomad 1.5.0 (GH-14833).
            if flag(query, "meta") and _ver(self.state.version) >= (1, 5, 0) and full.get("Meta"):
                stub["Meta"] = full.get("Meta")
            stubs.append(stub)
        return filtered(self.scoped(query, stubs), query)

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        """decodeBody into api.JobRegisterRequest: a JSON syntax or type error is a 400."""
        if not body:
            raise CodedError(400, "Request body is empty")
        try:
            payload = json.loads(body)
        except json.JSONDecodeError as err:
            raise CodedError(400, f"invalid character at offset {err.pos}: {err.msg}") from None
        if not isinstance(payload, dict):
            raise CodedError(400, "json: cannot unmarshal array into Go value of type api.JobRegisterRequest")
        problem = type_error(payload)
        if problem:
            raise CodedError(400, problem)
        if payload.get("Job") is None:
            raise CodedError(400, "Job must be specified")
        return payload

    def _request_namespace(self, query: Query, payload: dict[str, Any]) -> str:
        """namespaceForJob: query param, then the request body's Namespace, then Job.Namespace."""
        return (_param(query, "namespace") or payload.get("Namespace") or payload["Job"].get("Namespace")
                or "default")

    def register(self, query: Query, body: bytes, job_id: str = "") -> dict[str, Any]:
        payload = self._body(body)
        job = payload["Job"]
        if job.get("ID") is None:
            raise CodedError(400, "Job ID hasn't been provided")
        if job_id and job["ID"] != job_id:
            raise CodedError(400, "Job ID does not match name")
        if job.get("Type") == "system" and any(g.get("Scaling") is not None for g in job.get("TaskGroups") or []):
            raise CodedError(400, "Task groups with job type system do not support scaling blocks")  # GH-8481
        namespace = self._request_namespace(query, payload)
        self.check(namespace)
        return self.state.register(job, bool(payload.get("EnforceIndex")), int(payload.get("JobModifyIndex") or 0),
                                   namespace=namespace)

    def validate(self, query: Query, body: bytes) -> dict[str, Any]:
        """Job.Validate RPC: 200 with ValidationErrors instead of failing."""
        payload = self._body(body)
        try:
            self.state.admit(payload["Job"], self._request_namespace(query, payload))
        except RegisterError as err:
            text = str(err)
            return {"DriverConfigValidated": True, "ValidationErrors": [text], "Error": text, "Warnings": ""}
        return {"DriverConfigValidated": True, "ValidationErrors": None, "Error": "", "Warnings": ""}

    def get_job(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        key, _ = self._job(query, job_id)
        return self._full_job(key)

    def deregister(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        from tests.nomadsim.api import flag
        self.check(self.namespace(query))
        return self.state.deregister(self.namespace(query), job_id, flag(query, "purge"))

    def versions(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        key, _ = self._job(query, job_id)
        return {"Versions": copy.deepcopy(self.state.versions.get(key, [])), "Diffs": None}

    def job_allocs(self, query: Query, body: bytes, job_id: str) -> list[dict[str, Any]]:
        from tests.nomadsim.api import clean
        key, _ = self._job(query, job_id)
        return [clean(a) for a in self.sorted_allocs() if (a["Namespace"], a["JobID"]) == key]

    def job_evals(self, query: Query, body: bytes, job_id: str) -> list[dict[str, Any]]:
        key, _ = self._job(query, job_id)
        evals = [e for e in self.state.evals.values() if (e["Namespace"], e["JobID"]) == key]
        return sorted(copy.deepcopy(evals), key=lambda e: -e["CreateIndex"])

    def force_evaluate(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        """Job.Evaluate: a new `job-register` evaluation of the unchanged job."""
        key, job = self._job(query, job_id)
        evaluation = self.state.evaluate(key, "job-register")
        return reply_for(evaluation, job["JobModifyIndex"], evaluation["CreateIndex"])

    def plan(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        """Job.Plan: run the scheduler on the would-be job and return counts only; changes nothing."""
        payload = self._body(body)
        if not payload["Job"].get("ID"):
            raise CodedError(400, "Job must have a valid ID")
        if payload["Job"]["ID"] != job_id:
            raise CodedError(400, "Job ID does not match")
        namespace = self._request_namespace(query, payload)
        self.check(namespace)
        job = self.state.admit(payload["Job"], namespace)
        key = (job["Namespace"], job["ID"])
        old = self.state.jobs.get(key)
        if old is not None and old["Type"] != job["Type"]:
            raise RegisterError(f'cannot update job from type "{old["Type"]}" to "{job["Type"]}"')
        changed = jobspec.spec_changed(old, job)
        job["Version"] = 0 if old is None else old["Version"] + (1 if changed else 0)
        job["JobModifyIndex"] = self.state.index + 1 if changed or old is None else old["JobModifyIndex"]
        decision = self.state.decide(key, job)
        diff_type = "Added" if old is None else ("Edited" if changed else "None")
        groups = {g["Name"] for g in job["TaskGroups"]} | {g["Name"] for g in (old or {}).get("TaskGroups", [])}
        updates = {name: decision.counts.get(name, dict.fromkeys(scheduler.COUNTERS, 0)) for name in sorted(groups)}
        return {
            "Annotations": {"DesiredTGUpdates": updates, "PreemptedAllocs": None},
            "FailedTGAllocs": decision.failed or None,
            "JobModifyIndex": old["JobModifyIndex"] if old else 0,  # 0 for a new job
            "Diff": {"Type": diff_type, "ID": job["ID"], "Fields": None, "Objects": None, "TaskGroups": None}
            if payload.get("Diff") else None,
            "Warnings": "", "NextPeriodicLaunch": "0001-01-01T00:00:00Z", "CreatedEvals": None,
            "Index": self.state.index,
        }

    def scale(self, query: Query, body: bytes, job_id: str) -> dict[str, Any]:
        """jobScaleAction + Job.Scale: a new job version with the group's Count and a `job-scaling` eval."""
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError as err:
            raise CodedError(400, err.msg) from None
        target = payload.get("Target") or {}
        if target.get("Job") and target["Job"] != job_id:
            raise CodedError(400, "job ID in payload did not match URL")
        if not target.get("Group"):
            raise CodedError(400, "missing task group name for scaling action")
        count = payload.get("Count")
        if count is not None and count < 0:
            raise CodedError(400, "scaling action count can't be negative")
        key = (self.namespace(query), job_id)
        self.check(key[0])
        return self.state_scale(key, target["Group"], count, int(payload.get("JobModifyIndex") or 0))

    def state_scale(self, key: tuple[str, str], group_name: str, count: int | None, modify_index: int = 0
                    ) -> dict[str, Any]:
        state = self.state
        job = state.jobs.get(key)
        if job is None:
            raise CodedError(404, f'job "{key[1]}" not found')
        if job["Type"] == "system" and count is not None and count > 1:
            raise CodedError(400, 'jobs of type "system" can only be scaled between 0 and 1')
        job = copy.deepcopy(job)
        group = jobspec.group_by_name(job, group_name)
        if group is None:
            raise CodedError(400, f'task group "{group_name}" specified for scaling does not exist in job')
        if count is None:
            return reply_for(None, job["ModifyIndex"], state.index)  # an event only
        scaling = group.get("Scaling")
        if scaling is not None and count < scaling["Min"]:
            raise CodedError(400, f"group count was less than scaling policy minimum: {count} < {scaling['Min']}")
        if scaling is not None and scaling["Max"] < count:
            raise CodedError(400, f"group count was greater than scaling policy maximum: {count} > {scaling['Max']}")
        deployment = state.deployments.get(key)
        if deployment is not None and deployment["Status"] == "running":
            raise CodedError(400, "job scaling blocked due to active deployment")
        if modify_index and modify_index != job["JobModifyIndex"]:
            raise RegisterError(f"Enforcing job modify index {modify_index}: job exists with conflicting job "
                                f"modify index: {job['JobModifyIndex']}")
        for stored in job["TaskGroups"]:
            if stored["Name"] == group_name:
                stored["Count"] = count
        state.upsert(key, job)  # JobRegisterRequestType: Version + 1 and a new JobModifyIndex
        evaluation = state.evaluate(key, "job-scaling")
        return reply_for(evaluation, state.jobs[key]["JobModifyIndex"], state.index)
