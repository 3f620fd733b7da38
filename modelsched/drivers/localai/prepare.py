"""Turn the planner's per-node plan into what apply will do on LocalAI, and show it.

Row operations: `create` / `update` (with a field diff) for each listed model whose
scheduling row differs from the config, `delete` (with `--prune`) for rows of unlisted
models. Removals are exact: an `unload` of the model on each node the plan removes it
from. LocalAI unloads a model per node, not per replica, so a removal of some but not all
of a model's replicas on one node is left to LocalAI's idle scale-down and noted.
Additions are LocalAI's: its reconciler picks among matching healthy nodes with a free
slot, and the change's note says so. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, Literal

from modelsched.drivers.localai.client import addressable
from modelsched.drivers.localai.data import Expect, PlanData, RowSpec, RowWrite, Snapshot, Unload
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, Diagnostic, Operation, Plan

ADD_NOTE = "LocalAI's reconciler places it: it picks among matching healthy nodes with a free slot"
UNLOAD_NOTE = "exact: modelsched unloads it on this node"
PARTIAL_NOTE = (
    "LocalAI unloads a model per node, not per replica: left to LocalAI's scale-down of idle replicas"
)
_WHY = {
    "node_not_matching": "the node no longer matches the selector (LocalAI keeps such replicas)",
    "node_unhealthy": "the node is not a healthy backend node",
    "node_unknown": "the node is not in LocalAI's node list",
    "duplicate_on_node": "more replicas than the node's slots",
    "max_replicas": "above max_replicas",
    "pruned": "the model is not in the config (--prune)",
}


DELETE_DETAIL = "not in the config (--prune); deleting a row unloads nothing"


def row_target(model: str) -> str:
    """The target of a row operation, as the plan shows it."""
    return f"scheduling row {model}"


def spec_of(entry: Entry) -> RowSpec:
    return RowSpec(
        model_name=entry.model_name,
        node_selector=dict(sorted(entry.node_selector.items())),
        min_replicas=entry.min_replicas,
        max_replicas=entry.max_replicas,
        spread_all=entry.spread,
        route_policy=entry.route_policy,
        balance_abs_threshold=entry.balance_abs_threshold,
        balance_rel_threshold=entry.balance_rel_threshold,
        min_prefix_match=entry.min_prefix_match,
    )


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def row_diff(old: RowSpec | None, new: RowSpec) -> list[str]:
    """`~ min_replicas: 1 => 2` per changed field (`+ field: value` per set field when new)."""
    after = new.body()
    if old is None:
        return [f"+ {k}: {_value(v)}" for k, v in after.items() if k != "model_name" and v not in ({}, "", 0, False)]
    before = old.body()
    return [f"~ {k}: {_value(before[k])} => {_value(after[k])}" for k in after if before[k] != after[k]]


def describe(spec: RowSpec) -> str:
    """A row write's one-line detail in the plan (what `show` displays beside the operation)."""
    what = "spread_all" if spec.spread_all else f"min {spec.min_replicas}, max {spec.max_replicas or 'unbounded'}"
    return f"{what}, selector {_value(spec.node_selector) if spec.node_selector else '{} (every node)'}"


def _row_ops(plan: Plan, entries: dict[str, Entry], snap: Snapshot) -> tuple[list[RowWrite], list[Operation]]:
    rows = snap.row_map()
    writes: list[RowWrite] = []
    ops: list[Operation] = []
    for m in sorted(mp.model for mp in plan.models):
        spec = spec_of(entries[m])
        current = rows.get(m)
        if current is not None and current.spec == spec:
            continue
        action: Literal["create", "update"] = "create" if current is None else "update"
        writes.append(RowWrite(action=action, spec=spec))
        diff = row_diff(current.spec if current else None, spec)
        ops.append(Operation(model=m, target=row_target(m), action=action, detail=describe(spec), diff=diff))
    return writes, ops


def _unloads(plan: Plan, observed: Observed) -> tuple[list[Unload], set[tuple[str, str]]]:
    """One unload per (model, node) whose every replica the plan removes; the rest are partial."""
    removing = Counter((c.model, c.node_id) for c in plan.changes if c.action == "remove")
    present = Counter((m, n) for m, nodes in observed.replicas.items() for n in nodes)
    names = {n.id: n.name for n in observed.nodes}
    unloads, partial = [], set()
    for (model, node_id), count in sorted(removing.items()):
        if count >= present[(model, node_id)]:
            unloads.append(Unload(model=model, node_id=node_id, node_name=names.get(node_id, node_id)))
        else:
            partial.add((model, node_id))
    return unloads, partial


def _notes(plan: Plan, partial: set[tuple[str, str]]) -> list[Change]:
    out = []
    for c in plan.changes:
        if c.action == "add":
            note = ADD_NOTE
        else:
            note = PARTIAL_NOTE if (c.model, c.node_id) in partial else UNLOAD_NOTE
        out.append(replace(c, note=note))
    return out


def _unsent(plan: Plan, entries: dict[str, Entry]) -> list[Diagnostic]:
    """Config keys a LocalAI scheduling row cannot carry: said, never silently dropped."""
    out = []
    for m in sorted(mp.model for mp in plan.models):
        e = entries[m]
        if e.scorer_weights:
            out.append(Diagnostic(level="warning", model=m, message=(
                "scorer_weights is not written: LocalAI's scheduling API (POST /api/nodes/scheduling) has no such "
                "field")))
        if e.placement == "pinned":
            out.append(Diagnostic(level="warning", model=m, message=(
                "placement: pinned is a Nomad setting: LocalAI's reconciler always chooses where additions go")))
    return out


def _warnings(plan: Plan, writes: list[RowWrite], snap: Snapshot, observed: Observed) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    rows = snap.row_map()
    for w in writes:
        if w.action == "update":
            m = w.spec.model_name
            out.append(Diagnostic(level="warning", model=m, message=(
                "the scheduling row differs from the config; if the LocalAI frontend is seeded by "
                f"LOCALAI_MODEL_SCHEDULING[_CONFIG] for {m}, its next boot overwrites the row modelsched writes: "
                "use one or the other for a model")))
    adding = {c.model for c in plan.changes if c.action == "add"}
    for m in sorted(adding):
        row = rows.get(m)
        if row is not None and row.unsatisfiable_until:
            out.append(Diagnostic(level="warning", model=m, message=(
                f"LocalAI put it in a capacity cooldown until {row.unsatisfiable_until} (no free slot on a matching "
                "node for 3 reconciler ticks): it adds no replica before then unless nodes or labels change")))
        if not observed.replicas.get(m):
            out.append(Diagnostic(level="warning", model=m, message=(
                "no replica is loaded: LocalAI replicates only a model that has served a request; if it never "
                "served one, send it one request or LocalAI will not add the planned replicas")))
    return out


def _expect(plan: Plan, unloads: list[Unload], partial: set[tuple[str, str]], touched: set[str]) -> list[Expect]:
    gone: dict[str, list[str]] = {}
    for u in unloads:
        gone.setdefault(u.model, []).append(u.node_id)
    left = Counter(c.model for c in plan.changes if c.action == "remove" and (c.model, c.node_id) in partial)
    changed = {c.model for c in plan.changes} | touched
    out = []
    for mp in plan.models:
        if mp.model in changed:
            out.append(Expect(model=mp.model, listed=True, selector=mp.selector, target=mp.target + left[mp.model],
                              gone_from=tuple(gone.get(mp.model, ()))))
    listed = {mp.model for mp in plan.models}
    for model in sorted(set(gone) - listed):
        out.append(Expect(model=model, listed=False, gone_from=tuple(gone[model])))
    return sorted(out, key=lambda e: e.model)


def prepare(plan: Plan, desired: Desired, observed: Observed, snap: Snapshot) -> Plan:
    entries = desired.by_name()
    writes, ops = _row_ops(plan, entries, snap)
    deletes: list[str] = []
    diags = list(plan.diagnostics)
    if plan.prune and not plan.targets:
        for m in sorted(set(snap.row_map()) - set(entries)):
            if not addressable(m):
                diags.append(Diagnostic(level="warning", model=m, message=(
                    "its scheduling row cannot be deleted through LocalAI's API (the name does not survive a URL "
                    "path: a trailing '/', or an empty, '.' or '..' segment); delete it in LocalAI's WebUI")))
                continue
            deletes.append(m)
            ops.append(Operation(model=m, target=row_target(m), action="delete", detail=DELETE_DETAIL))
    unloads, partial = _unloads(plan, observed)
    reasons: dict[tuple[str, str], set[str]] = {}  # (model, node ID) -> why it is removed there
    for c in plan.changes:
        if c.action == "remove":
            reasons.setdefault((c.model, c.node_id), set()).add(c.reason)
    for u in unloads:
        why = sorted(reasons.get((u.model, u.node_id), ()))
        ops.append(Operation(model=u.model, target=f"{u.model} on {u.node_name}", action="unload",
                             detail="; ".join(_WHY.get(r, r) for r in why)))
    diags += _warnings(plan, writes, snap, observed) + _unsent(plan, entries)
    touched = {w.spec.model_name for w in writes}
    data = PlanData(
        address=snap.address,
        listed=tuple(sorted(entries)),
        writes=tuple(writes),
        deletes=tuple(deletes),
        unloads=tuple(unloads),
        expect=tuple(_expect(plan, unloads, partial, touched)),
        rows=snap.row_digests(),
    )
    diags.sort(key=lambda d: (d.model or "", d.level, d.message))
    return plan.model_copy(update={
        "changes": _notes(plan, partial),
        "operations": ops,
        "diagnostics": diags,
        "driver_data": data.to_data(),
    })
