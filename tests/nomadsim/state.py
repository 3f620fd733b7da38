"""The simulated Nomad server state: nodes, jobs, allocations, evaluations, raft index.

Owns every mutation and the index bookkeeping (each write bumps the index, like a raft
apply). It must not speak HTTP. All methods take the lock; `changed` is notified on
every write so blocking queries can wake up.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

from tests.nomadsim import jobspec, scheduler


class RegisterError(Exception):
    """A register refused by the server; Nomad answers these with HTTP 500 (NOMAD.md)."""


def _now_ns() -> int:
    return time.time_ns()


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.index = 1
        self.nodes: dict[str, dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.allocs: dict[str, dict[str, Any]] = {}
        self.evals: dict[str, dict[str, Any]] = {}
        self.alloc_start_delay = 0.0

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
    def register(self, raw: dict[str, Any], enforce: bool = False, modify_index: int = 0) -> dict[str, Any]:
        job = jobspec.normalize(raw)
        errors = jobspec.validate(job)
        if errors:
            raise RegisterError(jobspec.error_text(errors))
        with self.lock:
            key = (job["Namespace"], job["ID"])
            old = self.jobs.get(key)
            if enforce:
                self._check_index(old, modify_index)
            if old is not None and old["Type"] != job["Type"]:
                raise RegisterError(f'cannot update job from type "{old["Type"]}" to "{job["Type"]}"')
            index = self.bump()
            if jobspec.spec_changed(old, job):
                # JobModifyIndex and Version change only when the spec changes (NOMAD.md).
                job["Version"] = 0 if old is None else old["Version"] + 1
                job["CreateIndex"] = index if old is None else old["CreateIndex"]
                job["JobModifyIndex"] = job["ModifyIndex"] = index
                job["SubmitTime"] = _now_ns()
                job["Stable"] = False
                self.jobs[key] = job
                self.versions.setdefault(key, []).insert(0, copy.deepcopy(job))
            else:
                assert old is not None
                old["ModifyIndex"] = index
                job = old
            # Registering an unchanged job still creates an evaluation (NOMAD.md).
            evaluation = self.evaluate(key, "job-register")
            return {
                "EvalID": evaluation["ID"], "EvalCreateIndex": evaluation["CreateIndex"],
                "JobModifyIndex": job["JobModifyIndex"], "Warnings": "", "Index": self.index,
                "LastContact": 0, "KnownLeader": True,
            }

    @staticmethod
    def _check_index(old: dict[str, Any] | None, wanted: int) -> None:
        # Check-index semantics and texts (NOMAD.md; Nomad's RegisterEnforceIndexErrPrefix).
        prefix = f"Enforcing job modify index {wanted}"
        if wanted == 0 and old is not None:
            raise RegisterError(f"{prefix}: job already exists")
        if wanted != 0 and old is None:
            raise RegisterError(f"{prefix}: job does not exist")
        if old is not None and old["JobModifyIndex"] != wanted:
            raise RegisterError(f"{prefix}: job exists with conflicting job modify index: {old['JobModifyIndex']}")

    def deregister(self, namespace: str, job_id: str, purge: bool) -> dict[str, Any]:
        with self.lock:
            key = (namespace, job_id)
            job = self.jobs.get(key)
            if job is None:
                # Deleting a missing job succeeds (NOMAD.md).
                return {"EvalID": "", "EvalCreateIndex": 0, "JobModifyIndex": 0, "Index": self.index}
            if purge:
                self.bump()
                evaluation = self.evaluate(key, "job-deregister", gone=True)
                del self.jobs[key]
                self.versions.pop(key, None)
                modify = job["JobModifyIndex"]
            else:
                # Without purge the job stays with Stop=true: a spec change, so a new version.
                stopped = {k: v for k, v in job.items() if k not in jobspec.SERVER_KEYS} | {"Stop": True}
                self.register(stopped)
                modify = self.jobs[key]["JobModifyIndex"]
                evaluation = self.latest_eval(key) or {"ID": "", "CreateIndex": 0}
            return {"EvalID": evaluation["ID"], "EvalCreateIndex": evaluation["CreateIndex"],
                    "JobModifyIndex": modify, "Index": self.index}

    # -- scheduling -----------------------------------------------------------
    def job_allocs(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        return [a for a in self.allocs.values() if (a["Namespace"], a["JobID"]) == key]

    def node_load(self) -> dict[str, int]:
        load: dict[str, int] = {}
        for alloc in self.allocs.values():
            if scheduler.live(alloc):
                load[alloc["NodeID"]] = load.get(alloc["NodeID"], 0) + 1
        return load

    def decide(self, key: tuple[str, str], job: dict[str, Any] | None) -> scheduler.Decision:
        allocs = self.job_allocs(key)
        live = [a for a in allocs if scheduler.live(a)]
        old_version = min((a["JobVersion"] for a in live), default=None)
        old_job = next((v for v in self.versions.get(key, []) if v["Version"] == old_version), None)
        return scheduler.reconcile(job, old_job, self.nodes, allocs, self.node_load())

    def evaluate(self, key: tuple[str, str], trigger: str, gone: bool = False) -> dict[str, Any]:
        """Run the scheduler for a job and record the evaluation (and a blocked one if needed)."""
        job = None if gone else self.jobs.get(key)
        decision = self.decide(key, job)
        index = self.bump()
        evaluation = self._new_eval(key, job, trigger, index)
        self._apply(decision, key, job, evaluation["ID"], index)
        for old in self.evals.values():
            if (old["Namespace"], old["JobID"]) == key and old["Status"] == "blocked":
                old["Status"], old["ModifyIndex"] = "complete", index  # superseded by this evaluation
        if decision.failed:
            evaluation["FailedTGAllocs"] = decision.failed
            blocked = self._new_eval(key, job, "queued-allocs", index, status="blocked")
            blocked["PreviousEval"] = evaluation["ID"]
            evaluation["BlockedEval"] = blocked["ID"]
        return evaluation

    def _new_eval(self, key: tuple[str, str], job: dict[str, Any] | None, trigger: str, index: int,
                  status: str = "complete") -> dict[str, Any]:
        evaluation = {
            "ID": str(uuid.uuid4()), "Namespace": key[0], "JobID": key[1], "Priority": (job or {}).get("Priority", 50),
            "Type": (job or {}).get("Type", "service"), "TriggeredBy": trigger, "Status": status,
            "StatusDescription": "", "JobModifyIndex": (job or {}).get("JobModifyIndex", 0), "FailedTGAllocs": None,
            "BlockedEval": "", "PreviousEval": "", "NextEval": "", "CreateIndex": index, "ModifyIndex": index,
            "CreateTime": _now_ns(), "ModifyTime": _now_ns(),
        }
        self.evals[evaluation["ID"]] = evaluation
        return evaluation

    def _apply(self, decision: scheduler.Decision, key: tuple[str, str], job: dict[str, Any] | None,
               eval_id: str, index: int) -> None:
        for alloc_id, client_status, description in decision.stops:
            alloc = self.allocs[alloc_id]
            alloc.update(DesiredStatus="stop", ClientStatus=client_status, DesiredDescription=description,
                         ModifyIndex=index, ModifyTime=_now_ns())
        for alloc_id in decision.inplace:
            self.allocs[alloc_id].update(JobVersion=job["Version"] if job else 0, ModifyIndex=index)
        pending = self.alloc_start_delay > 0
        for group, name_index, node_id in decision.places:
            assert job is not None
            alloc_id = str(uuid.uuid4())
            self.allocs[alloc_id] = {
                "ID": alloc_id, "EvalID": eval_id, "Name": f"{job['ID']}.{group}[{name_index}]",
                "Namespace": key[0], "NodeID": node_id, "NodeName": self.nodes[node_id]["Name"],
                "JobID": job["ID"], "JobType": job["Type"], "TaskGroup": group, "DesiredStatus": "run",
                "DesiredDescription": "", "ClientStatus": "pending" if pending else "running",
                "ClientDescription": "", "JobVersion": job["Version"], "CreateIndex": index, "ModifyIndex": index,
                "CreateTime": _now_ns(), "ModifyTime": _now_ns(),
                "_start_at": time.monotonic() + self.alloc_start_delay,
            }

    def reschedule_all(self, trigger: str) -> None:
        """Node changes re-run the scheduler for every job; only jobs that change get an evaluation."""
        for key, job in sorted(self.jobs.items()):
            blocked = any((e["Namespace"], e["JobID"]) == key and e["Status"] == "blocked" for e in self.evals.values())
            if self.decide(key, job).changes_something or blocked:
                self.evaluate(key, trigger)

    def promote_pending(self) -> None:
        """Pending allocs become running once `alloc_start_delay` has passed (checked lazily)."""
        with self.lock:
            now = time.monotonic()
            due = [a for a in self.allocs.values() if a["ClientStatus"] == "pending" and a["_start_at"] <= now]
            if due:
                index = self.bump()
                for alloc in due:
                    alloc.update(ClientStatus="running", ModifyIndex=index, ModifyTime=_now_ns())

    def latest_eval(self, key: tuple[str, str]) -> dict[str, Any] | None:
        mine = [e for e in self.evals.values() if (e["Namespace"], e["JobID"]) == key and e["Status"] != "blocked"]
        return max(mine, key=lambda e: e["CreateIndex"], default=None)

    def job_status(self, key: tuple[str, str]) -> str:
        job = self.jobs[key]
        if any(scheduler.live(a) for a in self.job_allocs(key)):
            return "running"
        return "dead" if job["Stop"] else "pending"
