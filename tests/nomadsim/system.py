"""The simulated system scheduler: one allocation per targeted node that meets the constraints.

Follows scheduler/scheduler_system.go `computeJobAllocs` / `computePlacements` /
`evictAndPlace`, scheduler/reconciler/reconcile_node.go `computeForNode` and
scheduler/util.go `taintedNodes`, `readyNodesInDCsAndPool`, `inplaceUpdate`,
`desiredUpdates`. The Place counter depends on the server version: Nomad >= 1.11 counts
every candidate node (ignored + in-place + destructive + new), older ones only new
placements.
"""

from __future__ import annotations

from typing import Any

from tests.nomadsim import constraints as cons
from tests.nomadsim.scheduler import (
    COUNTERS,
    LOST,
    NOT_NEEDED,
    TAINTED,
    UPDATING,
    Context,
    Decision,
    alloc_update,
    failure_metrics,
    live,
    max_parallel,
    targeted,
)


def _tainted(node: dict[str, Any] | None) -> bool:
    """taintedNodes: missing, down (ShouldDrainNode), disconnected or draining."""
    return node is None or node["Status"] in ("down", "disconnected") or bool(node["Drain"])


def _ver(version: str) -> tuple[int, ...]:
    parsed = cons._version(version)
    return parsed[0] if parsed else (0, 0, 0)


def reconcile(job: dict[str, Any] | None, allocs: list[dict[str, Any]], ctx: Context, version: str) -> Decision:
    decision = Decision()
    current = [alloc for alloc in allocs if live(alloc)]
    groups = {g["Name"]: g for g in (job or {}).get("TaskGroups", [])}
    if job is None or job["Stop"]:
        for alloc in current:
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))
            decision.bump(alloc["TaskGroup"], "Stop")
        return decision
    nodes = sorted(ctx.nodes.values(), key=lambda n: n["Name"])
    for name, group in groups.items():
        decision.counts.setdefault(name, dict.fromkeys(COUNTERS, 0))
        _group(decision, job, group, [a for a in current if a["TaskGroup"] == name], nodes, ctx, version)
    for alloc in current:
        if alloc["TaskGroup"] not in groups:
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))  # not in the required set
            decision.bump(alloc["TaskGroup"], "Stop")
    return decision


def _group(decision: Decision, job: dict[str, Any], group: dict[str, Any], mine: list[dict[str, Any]],
           nodes: list[dict[str, Any]], ctx: Context, version: str) -> None:
    name = group["Name"]
    rules = cons.node_constraints(job, group)
    candidates = 0
    updates: list[dict[str, Any]] = []
    has_node = {alloc["NodeID"] for alloc in mine}
    for alloc in mine:
        node = ctx.nodes.get(alloc["NodeID"])
        if alloc.get("_migrate"):
            decision.stops.append((alloc["ID"], "complete", TAINTED))  # Migrate bucket: stopped, not replaced
            decision.bump(name, "Migrate")
        elif node is None or _tainted(node):
            if node is None or node["Status"] == "down":
                decision.stops.append((alloc["ID"], "lost", LOST))  # Lost: not counted in DesiredTGUpdates
            else:
                decision.bump(name, "Ignore")  # draining node: IGNORE, even on a job update
                candidates += 1
        elif not (node["Status"] == "ready" and node["SchedulingEligibility"] == "eligible"):
            running = ctx.alloc_job(alloc)
            if running is not None and running["JobModifyIndex"] != job["JobModifyIndex"]:
                decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))  # notReady + job updated: stop
                decision.bump(name, "Stop")
            else:
                decision.bump(name, "Ignore")  # notReady, job unchanged: ignore
                candidates += 1
        elif not targeted(node, job):
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))  # no longer in DCs/pool
            decision.bump(name, "Stop")
        else:
            kind = alloc_update(ctx, alloc, job, group)
            candidates += 1
            if kind == "destructive":
                updates.append(alloc)
                decision.bump(name, "DestructiveUpdate")  # desiredUpdates counts every destructive one
            else:
                decision.bump(name, "Ignore" if kind == "ignore" else "InPlaceUpdate")
                if kind == "inplace":
                    decision.inplace.append(alloc["ID"])
    # evictAndPlace: max_parallel (group, else job, else all), minus unhealthy allocs of the deployment.
    limit = max_parallel(job, group) or len(updates)
    if ctx.deployment_active:
        limit -= sum(1 for a in mine if ctx.in_rollout(a) and not ctx.healthy(a))
    batch = sorted(updates, key=lambda a: ctx.nodes[a["NodeID"]]["Name"])[:max(limit, 0)]
    decision.rollout_left = decision.rollout_left or len(batch) < len(updates)
    new_places = 0
    filtered = False
    for alloc in batch:
        decision.stops.append((alloc["ID"], "complete", UPDATING))
        if cons.first_failure(ctx.nodes[alloc["NodeID"]], rules) is None:
            decision.places.append((name, 0, alloc["NodeID"], alloc["ID"]))
        else:
            candidates -= 1  # infeasible on its node: stopped, not replaced
    for node in nodes:
        if node["ID"] in has_node or not targeted(node, job):
            continue
        if cons.first_failure(node, rules) is None:
            decision.places.append((name, 0, node["ID"], ""))  # system allocs are all named [0]
            new_places += 1
            candidates += 1
        else:
            filtered = True
    if filtered and candidates == 0:
        decision.failed[name] = failure_metrics(nodes, job, group)  # no blocked eval for system jobs
    decision.bump(name, "Place", candidates if _ver(version) >= (1, 11, 0) else new_places)
