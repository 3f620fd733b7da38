"""Deployments (rolling updates) and the node drainer, as steps over the simulated state.

Deployments follow reconcile_cluster.go `computeUnderProvisionedBy` (max_parallel minus
the deployment's not-yet-healthy allocations) and the deployment watcher, which creates a
`deployment-watcher` evaluation once the placed allocations are healthy. Health is
simulated: an allocation is healthy `alloc_healthy_delay` seconds after it runs (the job's
`min_healthy_time` is not waited for, to keep tests fast). Steps happen lazily on every
request, like `alloc_start_delay`; with both delays 0 a whole rollout completes inside
the register call.

The drainer follows nomad/drainer (draining_node.go `IsDone`/`RemainingAllocs`,
watch_nodes.go): service and batch allocations are marked for migration first; once none
remain, system allocations are marked too (unless `ignore_system_jobs`), then the drain
completes: Drain is unset and the node stays ineligible.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.nomadsim import scheduler

if TYPE_CHECKING:
    from tests.nomadsim.state import State


def healthy(state: State, alloc: dict[str, Any]) -> bool:
    started = alloc.get("_running_at")
    return (alloc["ClientStatus"] == "running" and started is not None
            and time.monotonic() >= started + state.alloc_healthy_delay)


def _rolling(job: dict[str, Any]) -> bool:
    return any(scheduler.max_parallel(job, group) > 0 for group in job["TaskGroups"])


def record(state: State, key: tuple[str, str], job: dict[str, Any], decision: scheduler.Decision) -> None:
    """After an evaluation: track the allocations it placed in the job version's deployment."""
    if job["Stop"] or not _rolling(job):
        return
    deployment = state.deployments.get(key)
    if deployment is None or deployment["JobVersion"] != job["Version"]:
        if not (decision.places or decision.rollout_left):
            return
        if deployment is not None and deployment["Status"] == "running":
            deployment["Status"] = "cancelled"  # cancelUnneededServiceDeployments: newer version
        deployment = {"ID": str(uuid.uuid4()), "JobVersion": job["Version"], "Status": "running",
                      "Allocs": set(), "Left": False}
        state.deployments[key] = deployment
    for alloc in state.job_allocs(key):
        if alloc["EvalID"] and alloc["JobVersion"] == job["Version"] and alloc["CreateIndex"] == state.index:
            deployment["Allocs"].add(alloc["ID"])
            alloc["DeploymentID"] = deployment["ID"]
    deployment["Left"] = decision.rollout_left


def advance(state: State) -> None:
    """The deployment watcher: continue rollouts whose placed allocations are all healthy."""
    for _ in range(100):  # bounded: each pass either finishes a deployment or replaces a batch
        progressed = False
        for key, deployment in sorted(state.deployments.items()):
            if deployment["Status"] != "running" or key not in state.jobs:
                continue
            waiting = [a for a in state.job_allocs(key)
                       if a["ID"] in deployment["Allocs"] and scheduler.live(a) and not healthy(state, a)]
            if waiting:
                continue
            if deployment["Left"]:
                before = state.index
                state.evaluate(key, "deployment-watcher")
                progressed = state.index != before
            else:
                deployment["Status"] = "successful"
                state.bump()
                progressed = True
        if not progressed:
            return


def drain(state: State) -> None:
    """One drainer pass over every draining node."""
    for node in sorted(state.nodes.values(), key=lambda n: n["Name"]):
        if not node["Drain"]:
            continue
        on_node = [a for a in state.allocs.values() if a["NodeID"] == node["ID"] and scheduler.live(a)]
        others = [a for a in on_node if a.get("JobType") != "system"]
        if others:
            _migrate(state, others)
            on_node = [a for a in state.allocs.values() if a["NodeID"] == node["ID"] and scheduler.live(a)]
            if any(a.get("JobType") != "system" for a in on_node):
                continue  # IsDone: not yet (a replacement could not be placed)
        if not node.get("_ignore_system"):
            _migrate(state, [a for a in on_node if a.get("JobType") == "system"])
        node.update(Drain=False, DrainStrategy=None, ModifyIndex=state.bump())  # NodesDrainComplete


def _migrate(state: State, allocs: list[dict[str, Any]]) -> None:
    """drainAllocs: DesiredTransition.Migrate = true, then one evaluation per job."""
    if not allocs:
        return
    index = state.bump()
    for alloc in allocs:
        alloc.update(_migrate=True, ModifyIndex=index)
    for key in sorted({(a["Namespace"], a["JobID"]) for a in allocs}):
        if key in state.jobs:
            state.evaluate(key, "node-drain")
