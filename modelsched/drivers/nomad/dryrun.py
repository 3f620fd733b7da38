"""`--server-dry-run`: ask Nomad's plan endpoint about each job and compare with our plan.

Nomad answers per task group with counters (`DesiredTGUpdates`): Place, Stop,
InPlaceUpdate, DestructiveUpdate, Ignore, Migrate... and never names nodes. We compare
the adds/removes and the restart count (`DestructiveUpdate`) with this plan's, using the
counters' meaning on the server's version: for system jobs since Nomad 1.11
(scheduler_system.go computeJobAllocs) `Place` counts every candidate node (ignored +
in-place + destructive + new), so new placements are Place minus the others.
Also owns the short text of a placement failure (`placement_failure`). No decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.failures import plain
from modelsched.drivers.nomad.jobops import JobOp
from modelsched.model.plan import Diagnostic, Operation, Plan

SYSTEM_PLACE_COUNTS_ALL = (1, 11)  # Nomad version from which a system job's Place counts every candidate
MAX_PARALLEL = 1  # api/jobs.go DefaultUpdateStrategy; jobschema admits no Update block


def version_tuple(version: str | Sequence[int] | None) -> tuple[int, int] | None:
    """`1.11.2` / `2.0.6+ent` / (1, 11, 2) -> (major, minor); None when unknown."""
    if not version:
        return None
    if not isinstance(version, str):
        return (int(version[0]), int(version[1])) if len(version) >= 2 else None
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1].split("-")[0].split("+")[0])
    except (IndexError, ValueError):
        return None


def counters(resp: dict[str, Any]) -> Counter[str]:
    total: Counter[str] = Counter()
    updates = (resp.get("Annotations") or {}).get("DesiredTGUpdates") or {}
    for counts in updates.values():
        for k, v in (counts or {}).items():
            if isinstance(v, int) and not isinstance(v, bool):
                total[k] += v
    return total


def new_placements(total: Counter[str], job_type: str, version: tuple[int, int] | None) -> int:
    """New allocations in Nomad's answer, whatever the server's counting rule."""
    if job_type == "system" and (version is None or version >= SYSTEM_PLACE_COUNTS_ALL):
        return max(0, total["Place"] - total["Ignore"] - total["InPlaceUpdate"] - total["DestructiveUpdate"])
    return total["Place"]


def check(
    client: NomadClient,
    plan: Plan,
    ops: Sequence[Operation],
    jobs: Sequence[JobOp],
    version: str | Sequence[int] | None,
) -> tuple[list[Operation], list[Diagnostic]]:
    """Annotate each register/update operation with Nomad's counters; warn where they disagree.
    `version`: the server's (observe reads it); unknown counts as the current rules (>= 1.11)."""
    by_id = {op.job_id: op for op in jobs}
    ver = version_tuple(version)
    diags: list[Diagnostic] = []
    out: list[Operation] = []
    for op in ops:
        data = by_id.get(op.target)
        if op.action not in ("register", "update") or data is None or data.job is None:
            if op.action == "replace":
                op = op.model_copy(update={"detail": op.detail + "; server dry run skipped (type change)"})
            out.append(op)
            continue
        resp = client.plan(data.job)
        total = counters(resp)
        shown = ", ".join(f"{k.lower()} {total[k]}" for k in ("Place", "Stop", "InPlaceUpdate", "DestructiveUpdate",
                                                              "Ignore", "Migrate") if total[k])
        out.append(op.model_copy(update={"detail": f"{op.detail}; nomad plan: {shown or 'no allocation changes'}"}))
        adds = sum(1 for c in plan.changes if c.model == op.model and c.action == "add")
        removes = sum(1 for c in plan.changes if c.model == op.model and c.action == "remove")
        placed = new_placements(total, str(data.job.get("Type")), ver)
        stopped = total["Stop"]
        stops_by_us = len(data.stops)  # apply stops these itself, after the job operation
        if (placed, stopped + stops_by_us) != (adds, removes) and (placed + total["Migrate"], stopped) != (
            adds,
            removes,
        ):
            diags.append(Diagnostic(level="warning", model=op.model, message=(
                f"Nomad's plan for job {op.target} disagrees: it would place {placed} and stop "
                f"{stopped} allocation(s); this plan adds {adds} and removes {removes}")))
        if total["DestructiveUpdate"] != first_batch(data.restarts, str(data.job.get("Type"))):
            diags.append(Diagnostic(level="warning", model=op.model, message=(
                f"Nomad's plan for job {op.target} disagrees: it would restart {total['DestructiveUpdate']} "
                f"allocation(s) (destructive update); this plan restarts {data.restarts}")))
        for group, failure in sorted((resp.get("FailedTGAllocs") or {}).items()):
            diags.append(Diagnostic(level="warning", model=op.model, message=(
                f"Nomad's plan for job {op.target}: group {plain(str(group))} cannot place all allocations: "
                f"{placement_failure(failure)}")))
    return out, diags


def first_batch(restarts: int, job_type: str) -> int:
    """The destructive updates Nomad's plan counts: a service job's reconciler replaces at most
    `max_parallel` per evaluation (the rest are `Ignore` until those are healthy:
    reconcile_cluster.go computeDestructiveUpdates); the system scheduler counts all of them
    (scheduler_system.go tgDestructiveUpdateCounts)."""
    return restarts if job_type == "system" else min(restarts, MAX_PARALLEL)


def placement_failure(metric: Any) -> str:
    """A short text for one FailedTGAllocs entry (AllocMetric), on one line: the server's
    text (constraint and class names) has its control characters escaped."""
    return plain(_placement_failure(metric))


def _placement_failure(metric: Any) -> str:
    if not isinstance(metric, dict):
        return str(metric)
    parts = []
    if metric.get("NodesEvaluated") is not None:
        parts.append(f"{metric.get('NodesEvaluated')} node(s) evaluated")
    for key in ("ConstraintFiltered", "DimensionExhausted", "ClassFiltered"):
        got = metric.get(key)
        if isinstance(got, dict) and got:
            parts.append(f"{key}: " + ", ".join(f"{k} ({v})" for k, v in sorted(got.items())))
    if metric.get("NodesExhausted"):
        parts.append(f"{metric['NodesExhausted']} node(s) exhausted")
    if metric.get("CoalescedFailures"):
        parts.append(f"{metric['CoalescedFailures']} more failure(s) coalesced")
    return "; ".join(parts) or "no details from Nomad"
