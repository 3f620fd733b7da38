"""Turn a pure per-node plan into Nomad work: typed job operations, display operations, notes.

Per listed model it renders the job and compares it with the live job (read once per
existing job: the job list has no spec, and Meta holds ownership only), then decides:

- register (no job), replace (type change: NOMAD.md "a job's type cannot change"),
  update (the job differs, ignoring server defaults), or nothing;
- which planned removals Nomad carries out itself and which apply must stop
  (`POST /v1/allocation/:id/stop`). Nomad keeps an allocation while its job is
  unchanged, even on a node that no longer qualifies; on a system-job update it stops
  allocations on ready nodes that no longer qualify (ineligible included) but ignores
  draining ones; on a service job it picks which allocation a count decrease stops.
  Decided from node state and the job, never from a change's display `reason`.
- restarts (Nomad's `tasksUpdated`: `jobdiff.destructive`) and the field diff;
- purge: pruned models, and a pinned model with no planned node (a pin needs at least
  one node ID: Nomad refuses an empty RTarget).

Everything apply needs goes into `jobops.NomadData`. Linear in nodes + replicas + changes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from modelsched.drivers.nomad import jobdiff, jobspec
from modelsched.drivers.nomad.jobops import AllocStop, JobOp, Kind, Wait
from modelsched.drivers.nomad.observe import Query, Snapshot
from modelsched.drivers.nomad.template import Template
from modelsched.model.cluster import Node
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, Diagnostic, Operation, Plan
from modelsched.planner import applied

SCHEDULER_ADD_NOTE = "planned node; Nomad may place it on another matching node"
SCHEDULER_REMOVE_NOTE = "Nomad stops the highest-index allocation, whichever node it is on"
STOP_NOTE = "Nomad keeps an allocation while its job is unchanged: apply stops allocation {alloc}"
RESCHEDULE_NOTE = "; Nomad places its replacement on a matching node"
UPDATE_STOPS_NOTE = "the job update makes Nomad stop it: the node no longer qualifies"
PURGE_UNPINNED = (
    "pinned with no planned node: a pin needs at least one node ID, so the job is purged "
    "(registered again once a node is planned)"
)
ROLLING = "rolling restart, max_parallel 1 as in Nomad's default update strategy"


@dataclass(frozen=True)
class Prepared:
    ops: tuple[JobOp, ...]
    operations: tuple[Operation, ...]
    changes: tuple[Change, ...]
    diagnostics: tuple[Diagnostic, ...]


def qualifies(node: Node | None, entry: Entry, scope: frozenset[str] | None, pinned: frozenset[str] | None) -> bool:
    """Whether Nomad may keep/place the model on `node` under the new job."""
    if node is None or not node.healthy or (scope is not None and node.id not in scope):
        return False
    if pinned is not None:
        return node.id in pinned
    return all(node.labels.get(k) == v for k, v in entry.node_selector.items())


def _count(entry: Entry, target: int, matching: int, live: Mapping[str, Any] | None) -> tuple[int, str]:
    """Bounded mode: a live Count moved outside modelsched (`nomad job scale`, the
    autoscaler) stays while it is within min..max and the matching nodes can hold it
    (distinct_hosts); otherwise it is planned back (NOMAD.md "Scaling.Enabled")."""
    if live is None or live.get("Type") != "service" or entry.spread or live.get("Stop"):
        return target, ""
    group = jobdiff.group_of(live)
    count = group.get("Count")
    if not isinstance(count, int) or isinstance(count, bool) or count == target:
        return target, ""
    upper = entry.max_replicas or (group.get("Scaling") or {}).get("Max") or count
    bounds = f"{entry.min_replicas}..{upper}"
    if not entry.min_replicas <= count <= upper:
        return target, f"live Count {count} is outside min..max {bounds}: set to {target}"
    if count > matching:
        return target, f"live Count {count} is more than the {matching} matching node(s) hold: set to {target}"
    by = "set outside modelsched, e.g. by an autoscaler"
    return count, f"live Count {count} ({by}) is within min..max {bounds}: kept"


def _scaling_max(entry: Entry, count: int, live: Mapping[str, Any] | None) -> int | None:
    """Unbounded max: keep the live job's scaling max while it still covers the count."""
    if entry.max_replicas or not live or live.get("Type") != "service":
        return None
    got = (jobdiff.group_of(live).get("Scaling") or {}).get("Max")
    return got if isinstance(got, int) and not isinstance(got, bool) and got >= max(count, 1) else None


def build(
    plan: Plan,
    desired: Desired,
    snap: Snapshot,
    template: Template,
    live_jobs: Mapping[str, Mapping[str, Any]],
    *,
    namespace: str | None,
    region: str | None,
) -> Prepared:
    observed = snap.observed
    settings = desired.settings.nomad
    query = Query.from_desired(desired, adopt=False)
    models = {m.model: m for m in plan.models}
    by_node = {n.id: n for n in observed.nodes}
    changes_of: dict[str, list[Change]] = {}
    for c in plan.changes:
        changes_of.setdefault(c.model, []).append(c)
    after = applied(observed, plan.changes)  # the cluster as the plan leaves it
    notes: dict[int, str] = {}  # id(change) -> note
    ops: list[JobOp] = []
    shown: list[Operation] = []
    diags: list[Diagnostic] = []
    for entry in sorted(desired.entries, key=lambda e: e.model_name):
        name = entry.model_name
        if name in observed.blocked or name not in models:
            continue
        job_id = query.listed[name]
        placement = jobspec.placement_of(entry, desired)
        mine = changes_of.get(name, [])
        current = list(observed.replicas.get(name, ()))
        ids = list(observed.replica_ids.get(name, ()))
        final = Counter(after.replicas.get(name, ()))
        nodes = sorted(final)
        live = live_jobs.get(job_id)
        info = snap.ownership.jobs.get(job_id)
        count, count_note = _count(entry, models[name].target, models[name].matching_nodes, live)
        params = jobspec.JobParams(
            job_id=job_id, namespace=namespace, region=region, datacenters=tuple(settings.datacenters),
            node_pool=settings.node_pool, placement=placement, count=count, matching=models[name].matching_nodes,
            pinned_nodes=tuple(nodes) if placement == "pinned" else (),
            scaling_max=_scaling_max(entry, count, live),
        )
        job = jobspec.build_job(entry, template, params)
        system = job["Type"] == "system"
        if placement == "pinned" and not nodes:
            if info is not None:
                ops.append(JobOp(name, job_id, "purge", info.modify_index, Wait(count=0, exact_nodes=())))
                shown.append(Operation(model=name, target=job_id, action="purge",
                                       detail=PURGE_UNPINNED))
            continue
        kind: Kind | None
        old = jobdiff.project(job, live) if live is not None else None
        if info is None:
            kind, detail = "register", f"new {job['Type']} job"
        elif info.type != job["Type"]:
            kind, detail = "replace", f"type {info.type} -> {job['Type']}: purge, then register"
        elif info.model != name:
            kind, detail = "update", "adopt: write modelsched ownership Meta"
        elif live is None or jobdiff.differs(job, live):
            kind = "update"
            detail = "job is stopped: register it again" if live and live.get("Stop") else "job changed"
        else:
            kind, detail = None, ""
        # Removals: who carries each one out (from node state and the job, never the reason).
        scope = observed.scopes.get(name)
        on_node: dict[str, list[str]] = {}
        for node_id, alloc in zip(current, ids, strict=False):
            on_node.setdefault(node_id, []).append(alloc)
        stops: list[AllocStop] = []
        gone: list[str] = []
        left = Counter(current)
        for c in mine:
            if c.action != "remove":
                if placement == "scheduler" and not entry.spread:
                    notes[id(c)] = SCHEDULER_ADD_NOTE
                continue
            node = by_node.get(c.node_id)
            left[c.node_id] -= 1
            allocs = on_node.get(c.node_id, [])
            alloc = allocs[left[c.node_id]] if left[c.node_id] < len(allocs) else ""
            if kind == "replace" or not alloc:
                continue
            if not system and qualifies(node, entry, scope, None):
                notes[id(c)] = SCHEDULER_REMOVE_NOTE  # a count decrease: Nomad picks the allocation
                continue
            if system and kind == "update" and node is not None and node.status == "ready" and not node.draining:
                gone.append(alloc)  # the new job version stops it (the node no longer qualifies)
                notes[id(c)] = UPDATE_STOPS_NOTE
                continue
            stops.append(AllocStop(alloc, c.node_id))
            gone.append(alloc)
            notes[id(c)] = STOP_NOTE.format(alloc=alloc[:8]) + ("" if system else RESCHEDULE_NOTE)
        kept = sum(min(n, final[node_id]) for node_id, n in Counter(current).items())
        restarts, diff = 0, []
        if kind == "replace":
            restarts = kept
        elif kind == "update" and old is not None:
            diff = jobdiff.diff_lines(old, job)
            why = jobdiff.destructive(old, job)
            if why is not None and kept:
                restarts = kept
                # The count is the operation's `restarts`: the output writes it once.
                detail += f"; destructive ({why}): {ROLLING}"
            elif kept:
                detail += "; in place: no allocation restarts"
        if kind is None:
            if stops:
                kind, detail = "stop", ""
            elif mine:
                kind, detail = "evaluate", "job unchanged: ask Nomad to reconcile placements"
            else:
                continue
        if placement == "pinned":
            detail += f"; pinned to {len(nodes)} node(s)"
        if count_note:
            detail += f"; {count_note}"
        if not system and not entry.max_replicas and job["TaskGroups"][0].get("Scaling"):
            detail += f"; max_replicas 0: scaling max {job['TaskGroups'][0]['Scaling']['Max']}"
        wait = Wait(
            count=sum(final.values()),
            exact_nodes=tuple(nodes) if placement == "pinned" else None,
            at_least_nodes=tuple(nodes) if placement != "pinned" and entry.spread else None,
            gone=tuple(sorted(gone)),
        )
        ops.append(JobOp(name, job_id, kind, info.modify_index if info else 0, wait,
                         job=job if kind in ("register", "update", "replace") else None,
                         stops=tuple(stops), restarts=restarts))
        if kind != "stop":
            shown.append(Operation(model=name, target=job_id, action=kind, detail=detail.lstrip("; "),
                                   restarts=restarts, diff=diff))
        if stops:
            where = ", ".join(sorted({by_node[s.node_id].name if s.node_id in by_node else s.node_id for s in stops}))
            shown.append(Operation(model=name, target=job_id, action="stop", detail=(
                f"stop {len(stops)} allocation(s) on {where}: Nomad keeps them while the job is unchanged")))
    if plan.prune:
        listed_ids = set(query.listed.values())
        for job_id, model in sorted(snap.ownership.managed.items()):
            if job_id not in listed_ids and model not in query.listed:
                info = snap.ownership.jobs[job_id]
                ops.append(JobOp(model, job_id, "purge", info.modify_index, Wait(count=0, exact_nodes=())))
                shown.append(Operation(model=model, target=job_id, action="purge", detail="model not listed (--prune)"))
    changes = tuple(dataclasses.replace(c, note=notes[id(c)]) if id(c) in notes else c for c in plan.changes)
    return Prepared(tuple(ops), tuple(shown), changes, tuple(diags))


LIVE_JOB_READS = 8  # GET /v1/job/:id requests in flight at once while preparing a plan


def live_jobs(client: Any, snap: Snapshot, listed: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The full live job of every listed model that has one: one GET per existing job (job
    Meta holds ownership only, so the live spec is the only change marker), a few at a time."""
    ids = [job_id for model, job_id in sorted(listed.items())
           if job_id in snap.ownership.jobs and model not in snap.observed.blocked]
    if len(ids) <= 1:
        got_all = [client.job(job_id) for job_id in ids]
    else:
        with ThreadPoolExecutor(max_workers=min(LIVE_JOB_READS, len(ids))) as pool:
            got_all = list(pool.map(client.job, ids))  # in order; the first error is raised
    return {job_id: got for job_id, got in zip(ids, got_all, strict=True) if got is not None}


def restarts_total(ops: Sequence[JobOp]) -> int:
    return sum(op.restarts for op in ops)

