"""Turn a pure per-node plan into Nomad work: rendered jobs, operations, notes, dry-run checks.

Decides, per listed model, whether its job must be registered (new), updated (spec
hash differs), replaced (type change: NOMAD.md "a job's type cannot change"),
evaluated (spec unchanged but the plan moves replicas: Nomad reconciles), or left
alone (no request at apply); and purges owned jobs of pruned models. Everything apply
needs goes into `plan.driver_data`, so apply never reads the config again.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from modelsched.drivers.nomad import jobspec
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.observe import Query, Snapshot
from modelsched.drivers.nomad.template import Template
from modelsched.drivers.nomad.translate import META_HASH
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, Diagnostic, Operation, OperationAction, Plan

SCHEDULER_ADD_NOTE = "planned node; Nomad may place it on another matching node"
SCHEDULER_REMOVE_NOTE = "Nomad stops the highest-index allocation, whichever node it is on"
INELIGIBLE_NOTE = (
    "Nomad keeps allocations on an ineligible node: drain the node, or use pinned placement, to move it"
)


def kept_by_nomad(change: Change, observed: Observed, pinned: bool) -> bool:
    """A removal Nomad will not carry out in scheduler-chosen mode: the replica is on a node
    that is ready and not draining but ineligible (Nomad only stops placing new work there)."""
    if pinned or change.action != "remove" or change.reason != "node_unhealthy":
        return False
    node = next((n for n in observed.nodes if n.id == change.node_id), None)
    return node is not None and node.status == "ready" and not node.draining and not node.eligible


def final_nodes(observed: Observed, changes: list[Change], model: str) -> list[str]:
    """Node IDs the model runs on after the plan (kept replicas + additions)."""
    nodes = Counter(observed.replicas.get(model, ()))
    for c in changes:
        if c.model == model:
            nodes[c.node_id] += 1 if c.action == "add" else -1
    return sorted(n for n, k in nodes.items() if k > 0)


def placement_of(entry: Entry, desired: Desired) -> str:
    return entry.placement or desired.settings.nomad.placement


def build_all(
    plan: Plan, desired: Desired, snap: Snapshot, template: Template, *, namespace: str | None, region: str | None
) -> tuple[list[Operation], dict[str, Any]]:
    """Operations and per-job apply data for every model whose job apply will touch."""
    settings = desired.settings.nomad
    query = Query.from_desired(desired, adopt=False)
    models = {m.model: m for m in plan.models}
    entries = desired.by_name()
    changed = {
        c.model
        for c in plan.changes
        if c.model not in entries
        or not kept_by_nomad(c, snap.observed, placement_of(entries[c.model], desired) == "pinned")
    }
    ops: list[Operation] = []
    jobs: dict[str, Any] = {}
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        name = entry.model_name
        if name in snap.observed.blocked or name not in models:
            continue
        job_id = query.listed[name]
        placement = placement_of(entry, desired)
        nodes = final_nodes(snap.observed, plan.changes, name)
        mp = models[name]
        params = jobspec.JobParams(
            job_id=job_id,
            namespace=namespace,
            region=region,
            datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool,
            placement=placement,
            count=mp.target,
            matching=mp.matching_nodes,
            pinned_nodes=tuple(nodes) if placement == "pinned" else (),
        )
        job = jobspec.build_job(entry, template, params)
        info = snap.ownership.jobs.get(job_id)
        ours = info is not None and info.model == name
        action: OperationAction
        if info is None:
            action, detail = "register", f"new {job['Type']} job"
        elif info.type != job["Type"]:
            action, detail = "replace", f"type {info.type} -> {job['Type']}: purge, then register"
        elif not ours:
            action, detail = "update", "adopt: write modelsched ownership Meta"
        elif info.spec_hash != job["Meta"][META_HASH] or info.stopped:
            action, detail = "update", "job spec changed" if not info.stopped else "job is stopped: register it again"
        elif name in changed:
            action, detail = "evaluate", "spec unchanged: ask Nomad to reconcile placements"
        else:
            continue
        if placement == "pinned":
            detail += f"; pinned to {len(nodes)} node(s)"
        ops.append(Operation(model=name, target=job_id, action=action, detail=detail))
        jobs[job_id] = {
            "model": name,
            "action": action,
            "modify_index": info.modify_index if info else 0,
            "job": job,
            # What "done" means for apply's wait: pinned = exactly the planned nodes; spread =
            # at least the planned nodes (Nomad keeps a system allocation on a node that became
            # ineligible); bounded = the planned count, wherever Nomad put it.
            "wait": {
                "exact_nodes": nodes if placement == "pinned" else None,
                "at_least_nodes": nodes if placement != "pinned" and entry.spread else None,
                "count": len(nodes),
            },
        }
    if plan.prune:
        listed_ids = set(query.listed.values())
        for job_id, model in sorted(snap.ownership.managed.items()):
            if job_id not in listed_ids and model not in query.listed:
                info = snap.ownership.jobs[job_id]
                ops.append(Operation(model=model, target=job_id, action="purge", detail="model not listed (--prune)"))
                jobs[job_id] = {"model": model, "action": "purge", "modify_index": info.modify_index, "job": None,
                                "wait": {"exact_nodes": [], "count": 0}}
    return ops, jobs


def annotate(plan: Plan, desired: Desired, observed: Observed) -> list[Change]:
    """Scheduler-chosen mode: additions and count-driven removals say Nomad decides the node."""
    entries = desired.by_name()
    out = []
    for c in plan.changes:
        entry = entries.get(c.model)
        if entry is not None and kept_by_nomad(c, observed, placement_of(entry, desired) == "pinned"):
            c = dataclasses.replace(c, note=INELIGIBLE_NOTE)
        if entry is not None and placement_of(entry, desired) == "scheduler" and not entry.spread:
            if c.action == "add":
                c = dataclasses.replace(c, note=SCHEDULER_ADD_NOTE)
            elif c.reason == "max_replicas":
                c = dataclasses.replace(c, note=SCHEDULER_REMOVE_NOTE)
        out.append(c)
    return out


def server_dry_run(
    client: NomadClient, plan: Plan, ops: list[Operation], jobs: dict[str, Any]
) -> tuple[list[Operation], list[Diagnostic]]:
    """Ask Nomad's plan endpoint about each registered/updated job; compare with our counts."""
    diags: list[Diagnostic] = []
    out: list[Operation] = []
    for op in ops:
        data = jobs.get(op.target)
        if op.action not in ("register", "update") or not data or data["job"] is None:
            if op.action == "replace":
                op = op.model_copy(update={"detail": op.detail + "; server dry run skipped (type change)"})
            out.append(op)
            continue
        resp = client.plan(data["job"])
        updates = (resp.get("Annotations") or {}).get("DesiredTGUpdates") or {}
        total: Counter[str] = Counter()
        for counts in updates.values():
            for k, v in (counts or {}).items():
                if isinstance(v, int):
                    total[k] += v
        shown = ", ".join(f"{k.lower()} {total[k]}" for k in ("Place", "Stop", "InPlaceUpdate", "DestructiveUpdate",
                                                              "Ignore", "Migrate") if total[k])
        out.append(op.model_copy(update={"detail": f"{op.detail}; nomad plan: {shown or 'no allocation changes'}"}))
        adds = sum(1 for c in plan.changes if c.model == op.model and c.action == "add")
        removes = sum(1 for c in plan.changes if c.model == op.model and c.action == "remove")
        nomad_adds = total["Place"] + total["DestructiveUpdate"] + total["Migrate"]
        nomad_removes = total["Stop"] + total["DestructiveUpdate"] + total["Migrate"]
        if (total["Place"], total["Stop"]) != (adds, removes) and (nomad_adds, nomad_removes) != (adds, removes):
            diags.append(Diagnostic(level="warning", model=op.model, message=(
                f"Nomad's plan for job {op.target} disagrees: it would place {total['Place']} and stop "
                f"{total['Stop']} allocation(s); this plan adds {adds} and removes {removes}")))
        for group, failure in sorted((resp.get("FailedTGAllocs") or {}).items()):
            diags.append(Diagnostic(level="warning", model=op.model, message=(
                f"Nomad's plan for job {op.target}: group {group} cannot place all allocations: "
                f"{placement_failure(failure)}")))
    return out, diags


def placement_failure(metric: Any) -> str:
    """A short text for one FailedTGAllocs entry (AllocMetric)."""
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
