"""The simulated scheduler: decide what happens to one job's allocations.

Owns a *simplified* reconciler, run synchronously after every write (real Nomad runs
it asynchronously from an evaluation broker). It is pure: it reads nodes and
allocations and returns a `Decision`; the state applies it (or, for the plan
endpoint, only counts it). Simplifications vs Nomad: no resources/bin-packing (a
node fits anything), no canaries/rolling updates (all changes at once), no
affinities/spreads, no reschedule of failed allocs, placement = least-loaded node
then node name (deterministic).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from tests.nomadsim import constraints as cons
from tests.nomadsim.jobspec import destructive_change, group_by_name

COUNTERS = (
    "Place", "Stop", "Ignore", "Migrate", "InPlaceUpdate", "DestructiveUpdate", "Canary", "Preemptions",
    "Disconnect", "Reconnect", "RescheduleNow", "RescheduleLater",
)
_INDEX = re.compile(r"\[(\d+)\]$")


@dataclass
class Decision:
    stops: list[tuple[str, str, str]] = field(default_factory=list)  # (alloc ID, ClientStatus, description)
    inplace: list[str] = field(default_factory=list)  # alloc IDs moved to the new JobVersion
    places: list[tuple[str, int, str]] = field(default_factory=list)  # (group, name index, node ID)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)  # FailedTGAllocs

    def bump(self, group: str, counter: str, by: int = 1) -> None:
        self.counts.setdefault(group, dict.fromkeys(COUNTERS, 0))[counter] += by

    @property
    def changes_something(self) -> bool:
        return bool(self.stops or self.inplace or self.places)


def name_index(alloc: dict[str, Any]) -> int:
    match = _INDEX.search(alloc["Name"])
    return int(match.group(1)) if match else 0


def usable(node: dict[str, Any], job: dict[str, Any]) -> bool:
    """Ready, eligible, not draining, in one of the job's datacenters and its pool."""
    if node["Status"] != "ready" or node["SchedulingEligibility"] != "eligible" or node["Drain"]:
        return False
    # Datacenters support "*" and globs like "dc*" (Nomad 1.5+).
    if not any(fnmatch.fnmatchcase(node["Datacenter"], pattern) for pattern in job["Datacenters"]):
        return False
    return job["NodePool"] in ("all", node["NodePool"])


def live(alloc: dict[str, Any]) -> bool:
    return alloc["DesiredStatus"] == "run" and alloc["ClientStatus"] in ("pending", "running")


def _failure_metrics(nodes: list[dict[str, Any]], job: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    evaluated, filtered = 0, 0
    constraint_filtered: dict[str, int] = {}
    available: dict[str, int] = {}
    for node in nodes:
        if not usable(node, job):
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


def _distinct(job: dict[str, Any], group: dict[str, Any]) -> tuple[bool, bool]:
    """(job-level, group-level) distinct_hosts."""
    job_level = any(cons.is_distinct_hosts(c) for c in job.get("Constraints") or [])
    group_level = any(cons.is_distinct_hosts(c) for c in group.get("Constraints") or [])
    return job_level, group_level


def reconcile(
    job: dict[str, Any] | None,
    old_job: dict[str, Any] | None,
    nodes: dict[str, dict[str, Any]],
    job_allocs: list[dict[str, Any]],
    load: dict[str, int],
) -> Decision:
    """Decide stops/updates/placements for one job. `old_job` is the spec allocations run."""
    decision = Decision()
    current = [alloc for alloc in job_allocs if live(alloc)]
    groups = [] if job is None else list(job["TaskGroups"])
    names = {group["Name"] for group in groups}
    for alloc in current:
        if job is None or job["Stop"] or alloc["TaskGroup"] not in names:
            decision.stops.append((alloc["ID"], "complete", "alloc not needed due to job update"))
            decision.bump(alloc["TaskGroup"], "Stop")
    if job is None or job["Stop"]:
        return decision
    node_list = sorted(nodes.values(), key=lambda n: n["Name"])
    load = dict(load)
    for group in groups:
        mine = [a for a in current if a["TaskGroup"] == group["Name"]]
        decision.counts.setdefault(group["Name"], dict.fromkeys(COUNTERS, 0))
        if job["Type"] in ("system", "sysbatch"):
            _system_group(decision, job, old_job, group, node_list, mine)
        else:
            _service_group(decision, job, old_job, group, node_list, mine, load)
    return decision


def _keep_or_update(decision: Decision, job: dict[str, Any], old_job: dict[str, Any] | None,
                    group: dict[str, Any], alloc: dict[str, Any]) -> bool:
    """For an alloc on a still-feasible node: True if kept (ignored or updated in place)."""
    if alloc["JobVersion"] == job.get("Version", 0):
        decision.bump(group["Name"], "Ignore")
        return True
    old_group = group_by_name(old_job, group["Name"]) if old_job else None
    if destructive_change(old_group, group):
        decision.stops.append((alloc["ID"], "complete", "alloc is being updated due to job update"))
        decision.bump(group["Name"], "DestructiveUpdate")
        return False
    decision.inplace.append(alloc["ID"])
    decision.bump(group["Name"], "InPlaceUpdate")
    return True


def _system_group(decision: Decision, job: dict[str, Any], old_job: dict[str, Any] | None,
                  group: dict[str, Any], nodes: list[dict[str, Any]], mine: list[dict[str, Any]]) -> None:
    rules = cons.node_constraints(job, group)
    by_node = {alloc["NodeID"]: alloc for alloc in mine}
    for node_id, alloc in sorted(by_node.items()):
        node = next((n for n in nodes if n["ID"] == node_id), None)
        if node is None or node["Status"] == "down":
            # On a down node the system alloc is lost and not moved (NOMAD.md).
            decision.stops.append((alloc["ID"], "lost", "alloc is lost since its node is down"))
            decision.bump(group["Name"], "Stop")
        elif node["Drain"] or cons.first_failure(node, rules) is not None:
            # On a node that no longer meets the constraints it is stopped (NOMAD.md).
            decision.stops.append((alloc["ID"], "complete", "alloc not needed as node is tainted"))
            decision.bump(group["Name"], "Stop")
        elif not _keep_or_update(decision, job, old_job, group, alloc):
            decision.places.append((group["Name"], 0, node_id))
    for node in nodes:
        # An ineligible node keeps what it runs but gets nothing new.
        if node["ID"] not in by_node and usable(node, job) and cons.first_failure(node, rules) is None:
            decision.places.append((group["Name"], 0, node["ID"]))  # system allocs are all named [0]
            decision.bump(group["Name"], "Place")


def _service_group(decision: Decision, job: dict[str, Any], old_job: dict[str, Any] | None,
                   group: dict[str, Any], nodes: list[dict[str, Any]], mine: list[dict[str, Any]],
                   load: dict[str, int]) -> None:
    name = group["Name"]
    rules = cons.node_constraints(job, group)
    by_id = {node["ID"]: node for node in nodes}
    kept: list[dict[str, Any]] = []
    for alloc in sorted(mine, key=name_index):
        node = by_id.get(alloc["NodeID"])
        if node is None or node["Status"] == "down":
            # Allocations on a down node are lost and replaced elsewhere (NOMAD.md).
            decision.stops.append((alloc["ID"], "lost", "alloc is lost since its node is down"))
            decision.bump(name, "Stop")
        elif node["Drain"]:
            decision.stops.append((alloc["ID"], "complete", "alloc is being migrated"))
            decision.bump(name, "Migrate")
        elif name_index(alloc) >= group["Count"]:
            # On a count decrease the highest name indexes stop, whatever their node (NOMAD.md).
            decision.stops.append((alloc["ID"], "complete", "alloc not needed due to job update"))
            decision.bump(name, "Stop")
        elif cons.first_failure(node, rules) is not None:
            # A constraint change is destructive once the current node no longer satisfies it.
            decision.stops.append((alloc["ID"], "complete", "alloc is being updated due to job update"))
            decision.bump(name, "DestructiveUpdate")
        elif _keep_or_update(decision, job, old_job, group, alloc):
            kept.append(alloc)
        continue
    for alloc_id, _, _ in decision.stops:
        stopped = next((a for a in mine if a["ID"] == alloc_id), None)
        if stopped is not None:
            load[stopped["NodeID"]] = max(0, load.get(stopped["NodeID"], 0) - 1)
    taken = {name_index(alloc) for alloc in kept}
    missing = [index for index in range(group["Count"]) if index not in taken]
    job_distinct, group_distinct = _distinct(job, group)
    busy = {alloc["NodeID"] for alloc in kept}
    if job_distinct:
        busy |= {node_id for _, _, node_id in decision.places}
    destructive = decision.counts[name]["DestructiveUpdate"] + decision.counts[name]["Migrate"]
    unplaced = 0
    for index in missing:
        candidates = [
            node for node in nodes
            if usable(node, job) and cons.first_failure(node, rules) is None
            and not ((job_distinct or group_distinct) and node["ID"] in busy)
        ]
        if not candidates:
            unplaced += 1
            continue
        chosen = min(candidates, key=lambda n: (load.get(n["ID"], 0), n["Name"], n["ID"]))
        load[chosen["ID"]] = load.get(chosen["ID"], 0) + 1
        busy.add(chosen["ID"])
        decision.places.append((name, index, chosen["ID"]))
        if destructive > 0:
            destructive -= 1  # the replacement of a destructive update/migration is not a Place
        else:
            decision.bump(name, "Place")
    if unplaced:
        metrics = _failure_metrics(nodes, job, group)
        metrics["CoalescedFailures"] = unplaced - 1
        decision.failed[name] = metrics
