"""The simulated service scheduler: decide what happens to one job's allocations.

Follows scheduler/reconciler/reconcile_cluster.go (`computeGroup`, `computeStop`,
`computeUnderProvisionedBy`, `placeAllocs`, `computeDestructiveUpdates`,
`computeMigrations`) with scheduler/util.go `genericAllocUpdateFn` deciding ignore /
in-place / destructive; system jobs are in system.py. It is pure: it reads nodes and
allocations and returns a `Decision`; the state applies it (or, for the plan endpoint,
only counts it). Simplifications are listed in tests/nomadsim/README.md (no resources,
no canaries, no reschedule of failed allocs; placement = least-loaded feasible node).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.nomadsim import constraints as cons
from tests.nomadsim.jobspec import tasks_updated

COUNTERS = (
    "Place", "Stop", "Ignore", "Migrate", "InPlaceUpdate", "DestructiveUpdate", "Canary", "Preemptions",
    "Disconnect", "Reconnect", "RescheduleNow", "RescheduleLater",
)
_INDEX = re.compile(r"\[(\d+)\]$")
UPDATING = "alloc is being updated due to job update"  # sstructs.StatusAllocUpdating
MIGRATING = "alloc is being migrated"  # sstructs.StatusAllocMigrating
NOT_NEEDED = "alloc not needed due to job update"  # sstructs.StatusAllocNotNeeded
LOST = "alloc is lost since its node is down"  # sstructs.StatusAllocLost
TAINTED = "alloc not needed as node is tainted"  # sstructs.StatusAllocNodeTainted


@dataclass
class Decision:
    stops: list[tuple[str, str, str]] = field(default_factory=list)  # (alloc ID, ClientStatus, description)
    inplace: list[str] = field(default_factory=list)  # alloc IDs moved to the new job version
    places: list[tuple[str, int, str, str]] = field(default_factory=list)  # (group, index, node ID, previous alloc)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)  # FailedTGAllocs
    blocked: bool = False  # the generic scheduler creates a blocked eval for failed placements
    rollout_left: bool = False  # destructive updates held back by max_parallel

    def bump(self, group: str, counter: str, by: int = 1) -> None:
        self.counts.setdefault(group, dict.fromkeys(COUNTERS, 0))[counter] += by

    @property
    def changes_something(self) -> bool:
        return bool(self.stops or self.inplace or self.places)


@dataclass
class Context:
    """What the reconciler may read: nodes, per-node load, the job each alloc runs, the rollout."""
    nodes: dict[str, dict[str, Any]]
    load: dict[str, int]
    alloc_job: Callable[[dict[str, Any]], dict[str, Any] | None]
    in_rollout: Callable[[dict[str, Any]], bool] = lambda alloc: False  # placed by the current deployment
    healthy: Callable[[dict[str, Any]], bool] = lambda alloc: True
    deployment_active: bool = False


def name_index(alloc: dict[str, Any]) -> int:
    match = _INDEX.search(alloc["Name"])
    return int(match.group(1)) if match else 0


def live(alloc: dict[str, Any]) -> bool:
    """Not Allocation.TerminalStatus(): desired run and client pending/running."""
    return alloc["DesiredStatus"] == "run" and alloc["ClientStatus"] in ("pending", "running")


def ready(node: dict[str, Any]) -> bool:
    """Node.Ready(): status ready, not draining, eligible."""
    return node["Status"] == "ready" and not node["Drain"] and node["SchedulingEligibility"] == "eligible"


def targeted(node: dict[str, Any], job: dict[str, Any]) -> bool:
    """readyNodesInDCsAndPool: ready, in one of the job's datacenters (go-glob) and its pool."""
    return ready(node) and cons.in_any_dc(node, job["Datacenters"]) and cons.in_pool(node, job["NodePool"])


def max_parallel(job: dict[str, Any], group: dict[str, Any]) -> int:
    """UpdateStrategy.MaxParallel; 0 (or no Update) means IsEmpty(): no rolling limit."""
    return int(((group.get("Update") or job.get("Update")) or {}).get("MaxParallel") or 0)


def failure_metrics(nodes: list[dict[str, Any]], job: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    evaluated, filtered = 0, 0
    constraint_filtered: dict[str, int] = {}
    available: dict[str, int] = {}
    for node in nodes:
        if not targeted(node, job):
            continue
        available[node["Datacenter"]] = available.get(node["Datacenter"], 0) + 1
        evaluated += 1
        reason = cons.first_failure(node, cons.node_constraints(job, group))
        if reason is not None:
            filtered += 1
            constraint_filtered[reason] = constraint_filtered.get(reason, 0) + 1
    return {
        "NodesEvaluated": evaluated, "NodesFiltered": filtered, "NodesInPool": len(nodes),
        "NodesAvailable": available, "ClassFiltered": None, "ConstraintFiltered": constraint_filtered or None,
        "NodesExhausted": evaluated - filtered, "ClassExhausted": None, "DimensionExhausted": None,
        "QuotaExhausted": None, "Scores": None, "AllocationTime": 0, "CoalescedFailures": 0,
    }


def alloc_update(ctx: Context, alloc: dict[str, Any], job: dict[str, Any], group: dict[str, Any]) -> str:
    """genericAllocUpdateFn: "ignore", "inplace" or "destructive" for an alloc on a usable node."""
    running = ctx.alloc_job(alloc)
    if running is None or running["JobModifyIndex"] == job["JobModifyIndex"]:
        return "ignore"  # same job modify index: nothing to do, constraints are not re-checked
    if tasks_updated(job, running, group["Name"]):
        return "destructive"
    node = ctx.nodes.get(alloc["NodeID"])
    if node is None or not cons.in_any_dc(node, job["Datacenters"]) or not cons.in_pool(node, job["NodePool"]):
        return "destructive"
    # stack.Select on the alloc's own node: feasibility (constraints), not readiness.
    if cons.first_failure(node, cons.node_constraints(job, group)) is not None:
        return "destructive"
    return "inplace"


def reconcile(job: dict[str, Any] | None, allocs: list[dict[str, Any]], ctx: Context) -> Decision:
    """AllocReconciler.Compute for service/batch jobs (one pass, i.e. one evaluation)."""
    decision = Decision()
    current = [alloc for alloc in allocs if live(alloc)]
    names = {group["Name"] for group in (job or {}).get("TaskGroups", [])}
    for alloc in current:
        if job is None or job["Stop"] or alloc["TaskGroup"] not in names:
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))  # handleStop / filterAndStopAll
            decision.bump(alloc["TaskGroup"], "Stop")
    if job is None or job["Stop"]:
        return decision
    node_list = sorted(ctx.nodes.values(), key=lambda n: n["Name"])
    for group in job["TaskGroups"]:
        decision.counts.setdefault(group["Name"], dict.fromkeys(COUNTERS, 0))
        mine = [a for a in current if a["TaskGroup"] == group["Name"]]
        _group(decision, job, group, mine, node_list, ctx)
    return decision


def _group(decision: Decision, job: dict[str, Any], group: dict[str, Any], mine: list[dict[str, Any]],
           nodes: list[dict[str, Any]], ctx: Context) -> None:
    name, count = group["Name"], group["Count"]
    if count == 0:
        for alloc in mine:
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))
            decision.bump(name, "Stop")
        return
    untainted, migrate = [], []
    for alloc in sorted(mine, key=name_index):
        node = ctx.nodes.get(alloc["NodeID"])
        if node is None or node["Status"] == "down":
            decision.stops.append((alloc["ID"], "lost", LOST))  # computeStop: lost allocs are stopped
            decision.bump(name, "Stop")
        elif alloc.get("_migrate"):
            migrate.append(alloc)  # DesiredTransition.Migrate (drainer or alloc stop)
        else:
            untainted.append(alloc)
    # computeStop: remove the excess, migrating allocs first, highest name index first.
    excess = len(untainted) + len(migrate) - count
    for pool in (migrate, untainted):
        for alloc in sorted(pool, key=name_index, reverse=True)[:max(excess, 0)]:
            pool.remove(alloc)
            decision.stops.append((alloc["ID"], "complete", NOT_NEEDED))
            decision.bump(name, "Stop")
            excess -= 1
    destructive = []
    for alloc in untainted:
        kind = alloc_update(ctx, alloc, job, group)
        if kind == "destructive":
            destructive.append(alloc)
        else:
            decision.bump(name, "Ignore" if kind == "ignore" else "InPlaceUpdate")
            if kind == "inplace":
                decision.inplace.append(alloc["ID"])
    under = count  # computeUnderProvisionedBy
    limit = max_parallel(job, group)
    if limit > 0 and destructive + migrate:
        under = limit
        if ctx.deployment_active:
            under -= sum(1 for a in mine if ctx.in_rollout(a) and not ctx.healthy(a))
        under = max(under, 0)
    taken = {name_index(a) for a in untainted + migrate}
    free = [index for index in range(count) if index not in taken][:max(count - len(taken), 0)]
    placer = _Placer(decision, job, group, nodes, ctx, untainted + migrate)
    for index in free:
        if placer.place(index, None):
            decision.bump(name, "Place")
    under -= min(len(free), under)
    batch = sorted(destructive, key=name_index)[:under]  # computeDestructiveUpdates: name order
    decision.bump(name, "Ignore", len(destructive) - len(batch))
    decision.rollout_left = decision.rollout_left or len(batch) < len(destructive)
    for alloc in batch:
        decision.bump(name, "DestructiveUpdate")
        if placer.place(name_index(alloc), alloc):
            decision.stops.append((alloc["ID"], "complete", UPDATING))
    for alloc in migrate:  # computeMigrations: every migrating alloc at once
        decision.bump(name, "Migrate")
        if placer.place(name_index(alloc), alloc):
            decision.stops.append((alloc["ID"], "complete", MIGRATING))
    if placer.unplaced:
        metrics = failure_metrics(nodes, job, group)
        metrics["CoalescedFailures"] = placer.unplaced - 1
        decision.failed[name] = metrics
        decision.blocked = True


class _Placer:
    """stack.Select over feasible nodes, honouring distinct_hosts; least-loaded node wins."""

    def __init__(self, decision: Decision, job: dict[str, Any], group: dict[str, Any],
                 nodes: list[dict[str, Any]], ctx: Context, kept: list[dict[str, Any]]) -> None:
        self.decision, self.job, self.group, self.nodes, self.ctx = decision, job, group, nodes, ctx
        self.rules = cons.node_constraints(job, group)
        self.job_distinct = cons.distinct_hosts(job.get("Constraints"))
        self.distinct = self.job_distinct or cons.distinct_hosts(group.get("Constraints"))
        self.busy = {a["NodeID"] for a in kept}
        self.unplaced = 0

    def place(self, index: int, previous: dict[str, Any] | None) -> bool:
        busy = set(self.busy)
        if previous is not None:
            busy.discard(previous["NodeID"])  # the replaced alloc's node frees up (it is stopped)
        candidates = [
            node for node in self.nodes
            if targeted(node, self.job) and cons.first_failure(node, self.rules) is None
            and not (self.distinct and node["ID"] in busy)
        ]
        if not candidates:
            self.unplaced += 1  # generic_sched: the previous alloc is not stopped (PopUpdate)
            return False
        load = self.ctx.load
        chosen = min(candidates, key=lambda n: (load.get(n["ID"], 0), n["Name"], n["ID"]))
        load[chosen["ID"]] = load.get(chosen["ID"], 0) + 1
        if previous is not None:
            load[previous["NodeID"]] = max(0, load.get(previous["NodeID"], 0) - 1)
            self.busy.discard(previous["NodeID"])
        self.busy.add(chosen["ID"])
        self.decision.places.append((self.group["Name"], index, chosen["ID"], previous["ID"] if previous else ""))
        return True
