"""The simulated Nomad server state: nodes, jobs, allocations, evaluations, raft index.

Owns every mutation and the index bookkeeping (each write bumps the index, like a raft
apply). It must not speak HTTP. All methods take the lock; `changed` is notified on
every write so blocking queries can wake up. Deployments and the drainer live in
rollout.py; job status follows nomad/state/state_store.go getJobStatus.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

from tests.nomadsim import jobspec, rollout, scheduler, system
from tests.nomadsim.validate import admission_errors, multierror


class RegisterError(Exception):
    """An error the server's RPC layer returns as plain text; the HTTP layer answers 500."""


class CodedError(Exception):
    """structs.NewErrRPCCoded / HTTP CodedError: a status and a text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def now_ns() -> int:
    return time.time_ns()


def reply_for(evaluation: dict[str, Any] | None, job_modify_index: int, index: int) -> dict[str, Any]:
    return {"EvalID": (evaluation or {}).get("ID", ""), "EvalCreateIndex": (evaluation or {}).get("CreateIndex", 0),
            "JobModifyIndex": job_modify_index, "Warnings": "", "Index": index, "LastContact": 0,
            "KnownLeader": True}


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.index = 1
        self.version = "1.11.0"
        self.namespaces: set[str] = {"default"}
        self.node_pools: set[str] = {"default", "all"}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.allocs: dict[str, dict[str, Any]] = {}
        self.evals: dict[str, dict[str, Any]] = {}
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.alloc_start_delay = 0.0
        self.alloc_healthy_delay = 0.0

    def bump(self) -> int:
        self.index += 1
        self.changed.notify_all()
        return self.index

    # -- nodes ---------------------------------------------------------------
    def add_node(self, node: dict[str, Any]) -> str:
        with self.lock:
            node["CreateIndex"] = node["ModifyIndex"] = self.bump()
            self.nodes[node["ID"]] = node
            self.reschedule_all("node-register")
            return str(node["ID"])

    def update_node(self, node_id: str, **fields: Any) -> None:
        with self.lock:
            node = self.nodes[node_id]
            node.update(fields)
            node["ModifyIndex"] = self.bump()
            self.reschedule_all("node-update")

    def remove_node(self, node_id: str) -> None:
        with self.lock:
            del self.nodes[node_id]
            self.bump()
            self.reschedule_all("node-update")

    # -- jobs ----------------------------------------------------------------
    def admit(self, raw: dict[str, Any], namespace: str) -> dict[str, Any]:
        """admissionControllers: mutators (canonicalize, implied constraints), then validators."""
        job = jobspec.normalize(raw, namespace)
        errors = admission_errors(job, self.namespaces, self.node_pools)
        if errors:
            raise RegisterError(multierror(errors))
        return job

    def register(self, raw: dict[str, Any], enforce: bool = False, modify_index: int = 0,
                 namespace: str | None = None) -> dict[str, Any]:
        with self.lock:
            job = self.admit(raw, namespace or raw.get("Namespace") or "default")
            key = (job["Namespace"], job["ID"])
            old = self.jobs.get(key)
            if enforce:
                self.check_index(old, modify_index)
            if old is not None and old["Type"] != job["Type"]:  # validateJobUpdate
                raise RegisterError(f'cannot update job from type "{old["Type"]}" to "{job["Type"]}"')
            if jobspec.spec_changed(old, job):
                self.upsert(key, job)
            # Registering an unchanged job still creates an evaluation (Job.Register: !specChanged).
            evaluation = self.evaluate(key, "job-register")
            rollout.advance(self)  # with no start/health delay a rollout finishes right away
            return reply_for(evaluation, self.jobs[key]["JobModifyIndex"], self.index)

    def upsert(self, key: tuple[str, str], job: dict[str, Any]) -> None:
        """upsertJobImpl: every upsert is a new version with JobModifyIndex = the raft index."""
        old = self.jobs.get(key)
        index = self.bump()
        job["Version"] = 0 if old is None else old["Version"] + 1
        job["CreateIndex"] = index if old is None else old["CreateIndex"]
        job["JobModifyIndex"] = job["ModifyIndex"] = index
        job["SubmitTime"] = now_ns()
        job["Stable"] = False
        self.jobs[key] = job
        self.versions.setdefault(key, []).insert(0, copy.deepcopy(job))

    @staticmethod
    def check_index(old: dict[str, Any] | None, wanted: int) -> None:
        """structs.Job.EnforceIndex (nomad/structs/job.go), RegisterEnforceIndexErrPrefix."""
        prefix = f"Enforcing job modify index {wanted}"
        if old is not None and wanted == 0:
            raise RegisterError(f"{prefix}: job already exists")
        if old is not None and old["JobModifyIndex"] != wanted:
            raise RegisterError(f"{prefix}: job exists with conflicting job modify index: {old['JobModifyIndex']}")
        if old is None and wanted != 0:
            raise RegisterError(f"{prefix}: job does not exist")

    def deregister(self, namespace: str, job_id: str, purge: bool) -> dict[str, Any]:
        with self.lock:
            key = (namespace, job_id)
            job = self.jobs.get(key)
            if job is None:
                # Deleting a missing job succeeds.
                return {"EvalID": "", "EvalCreateIndex": 0, "JobModifyIndex": 0, "Index": self.index}
            if purge:
                self.bump()
                evaluation = self.evaluate(key, "job-deregister", gone=True)
                del self.jobs[key]
                self.versions.pop(key, None)
                self.deployments.pop(key, None)
                modify = job["JobModifyIndex"]
            else:
                self.upsert(key, copy.deepcopy(job) | {"Stop": True})  # a stopped job is a new version
                evaluation = self.evaluate(key, "job-deregister")
                modify = self.jobs[key]["JobModifyIndex"]
            return {"EvalID": evaluation["ID"], "EvalCreateIndex": evaluation["CreateIndex"],
                    "JobModifyIndex": modify, "Index": self.index}

    # -- scheduling -----------------------------------------------------------
    def job_allocs(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        return [a for a in self.allocs.values() if (a["Namespace"], a["JobID"]) == key]

    def alloc_job(self, alloc: dict[str, Any]) -> dict[str, Any] | None:
        versions = self.versions.get((alloc["Namespace"], alloc["JobID"]), [])
        return next((v for v in versions if v["Version"] == alloc["JobVersion"]), None)

    def context(self, key: tuple[str, str], job: dict[str, Any] | None) -> scheduler.Context:
        load: dict[str, int] = {}
        for alloc in self.allocs.values():
            if scheduler.live(alloc):
                load[alloc["NodeID"]] = load.get(alloc["NodeID"], 0) + 1
        deployment = self.deployments.get(key)
        active = bool(deployment and deployment["Status"] == "running" and job is not None
                      and deployment["JobVersion"] == job.get("Version"))
        return scheduler.Context(
            nodes=self.nodes, load=load, alloc_job=self.alloc_job, deployment_active=active,
            in_rollout=lambda a: active and a["ID"] in deployment["Allocs"],  # type: ignore[index]
            healthy=lambda a: rollout.healthy(self, a),
        )

    def decide(self, key: tuple[str, str], job: dict[str, Any] | None) -> scheduler.Decision:
        kind = (job or self.jobs.get(key) or {}).get("Type", "service")
        ctx = self.context(key, job)
        if kind in ("system", "sysbatch"):
            return system.reconcile(job, self.job_allocs(key), ctx, self.version)
        return scheduler.reconcile(job, self.job_allocs(key), ctx)

    def evaluate(self, key: tuple[str, str], trigger: str, gone: bool = False) -> dict[str, Any]:
        """Run the scheduler for a job and record the evaluation (and a blocked one if needed)."""
        job = None if gone else self.jobs.get(key)
        decision = self.decide(key, job)
        index = self.bump()
        evaluation = self._new_eval(key, job, trigger, index)
        self._apply(decision, key, job, evaluation["ID"], index)
        for old in self.evals.values():
            if (old["Namespace"], old["JobID"]) == key and old["Status"] == "blocked":
                old["Status"], old["ModifyIndex"] = "cancelled", index  # superseded by this evaluation
        if decision.failed:
            evaluation["FailedTGAllocs"] = decision.failed
        if decision.blocked:
            blocked = self._new_eval(key, job, "queued-allocs", index, status="blocked")
            blocked["PreviousEval"] = evaluation["ID"]
            evaluation["BlockedEval"] = blocked["ID"]
        if job is not None:
            rollout.record(self, key, job, decision)
        return evaluation

    def _new_eval(self, key: tuple[str, str], job: dict[str, Any] | None, trigger: str, index: int,
                  status: str = "complete") -> dict[str, Any]:
        evaluation = {
            "ID": str(uuid.uuid4()), "Namespace": key[0], "JobID": key[1], "Priority": (job or {}).get("Priority", 50),
            "Type": (job or {}).get("Type", "service"), "TriggeredBy": trigger, "Status": status,
            "StatusDescription": "", "JobModifyIndex": (job or {}).get("JobModifyIndex", 0), "FailedTGAllocs": None,
            "BlockedEval": "", "PreviousEval": "", "NextEval": "", "CreateIndex": index, "ModifyIndex": index,
            "CreateTime": now_ns(), "ModifyTime": now_ns(),
        }
        self.evals[evaluation["ID"]] = evaluation
        return evaluation

    def _apply(self, decision: scheduler.Decision, key: tuple[str, str], job: dict[str, Any] | None,
               eval_id: str, index: int) -> None:
        for alloc_id, client_status, description in decision.stops:
            alloc = self.allocs[alloc_id]
            alloc.update(DesiredStatus="stop", ClientStatus=client_status, DesiredDescription=description,
                         ModifyIndex=index, ModifyTime=now_ns())
        for alloc_id in decision.inplace:
            self.allocs[alloc_id].update(JobVersion=job["Version"] if job else 0, ModifyIndex=index, EvalID=eval_id)
        pending = self.alloc_start_delay > 0
        for group, name_index, node_id, previous in decision.places:
            assert job is not None
            alloc_id = str(uuid.uuid4())
            self.allocs[alloc_id] = {
                "ID": alloc_id, "EvalID": eval_id, "Name": f"{job['ID']}.{group}[{name_index}]",
                "Namespace": key[0], "NodeID": node_id, "NodeName": self.nodes[node_id]["Name"],
                "JobID": job["ID"], "JobType": job["Type"], "TaskGroup": group, "DesiredStatus": "run",
                "DesiredDescription": "", "ClientStatus": "pending" if pending else "running",
                "ClientDescription": "", "JobVersion": job["Version"], "PreviousAllocation": previous,
                "DeploymentID": "", "CreateIndex": index, "ModifyIndex": index,
                "CreateTime": now_ns(), "ModifyTime": now_ns(),
                "_start_at": time.monotonic() + self.alloc_start_delay,
            }
            if not pending:
                self.allocs[alloc_id]["_running_at"] = time.monotonic()

    def reschedule_all(self, trigger: str) -> None:
        """Node changes re-run the scheduler for every job; only jobs that change get an evaluation.
        Then the drainer gets a pass (a new node may let a drain finish)."""
        for key, job in sorted(self.jobs.items()):
            blocked = any((e["Namespace"], e["JobID"]) == key and e["Status"] == "blocked" for e in self.evals.values())
            if self.decide(key, job).changes_something or blocked:
                self.evaluate(key, trigger)
        rollout.drain(self)
        rollout.advance(self)

    def promote_pending(self) -> None:
        """Pending allocs become running once `alloc_start_delay` has passed (checked lazily)."""
        with self.lock:
            now = time.monotonic()
            due = [a for a in self.allocs.values() if a["ClientStatus"] == "pending" and a["_start_at"] <= now]
            if due:
                index = self.bump()
                for alloc in due:
                    alloc.update(ClientStatus="running", ModifyIndex=index, ModifyTime=now_ns(), _running_at=now)
            rollout.advance(self)

    def latest_eval(self, key: tuple[str, str]) -> dict[str, Any] | None:
        mine = [e for e in self.evals.values() if (e["Namespace"], e["JobID"]) == key and e["Status"] != "blocked"]
        return max(mine, key=lambda e: e["CreateIndex"], default=None)

    def job_status(self, key: tuple[str, str]) -> str:
        """state_store.go getJobStatus."""
        job = self.jobs[key]
        if job["Type"] == "system" or job.get("Periodic") or job.get("ParameterizedJob"):
            return "dead" if job["Stop"] else "running"
        deployment = self.deployments.get(key)
        if deployment is not None and deployment["Status"] == "running":
            return "running"
        if any(scheduler.live(a) for a in self.job_allocs(key)):
            return "running"
        evals = [e for e in self.evals.values() if (e["Namespace"], e["JobID"]) == key]
        if any(e["Status"] in ("pending", "blocked") for e in evals):
            return "pending"
        return "dead" if evals or job["Stop"] else "pending"
