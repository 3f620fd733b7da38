"""The planner: desired entries + observed cluster -> per-node replica changes.

Semantics are DESIGN.md "Planning semantics". Two passes:
1. classify every replica of a listed model as valid or invalid (with the first
   reason that applies), prune unlisted models when asked, and count the load each
   node keeps;
2. in model-name order, decide additions (spread: every matching node; bounded:
   least-loaded first) and bounded removals (most-loaded first), updating the load
   as it goes so later models see earlier models' additions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from modelsched import GENERATOR
from modelsched.planner.matching import NodeIndex
from modelsched.schemas.cluster import Node, Observed
from modelsched.schemas.entry import Desired, Entry
from modelsched.schemas.plan import Change, Diagnostic, ModelPlan, Plan, Summary


def _selector_text(selector: dict[str, str]) -> str:
    if not selector:
        return "{} (every node)"
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) + "}"


class _Builder:
    """Mutable scratch state for one planning run; never escapes `plan()`."""

    def __init__(self, index: NodeIndex) -> None:
        self.index = index
        self.changes: list[Change] = []
        self.diagnostics: list[Diagnostic] = []
        self.load: Counter[str] = Counter()
        self._labels: dict[str, dict[str, str]] = {}
        # Sort keys, recorded as changes are made (reading them back off ~10^4 objects costs more).
        self.keys: list[tuple[str, bool, str, str]] = []

    def change(self, model: str, node_id: str, action: str, reason: str) -> None:
        labels = self._labels.get(node_id)
        node: Node | None = self.index.by_id.get(node_id)
        if labels is None:
            labels = self._labels[node_id] = dict(sorted(node.labels.items())) if node else {}
        # Changes of one node share its (sorted, never mutated) labels dict.
        name = node.name if node else node_id
        self.changes.append(Change(model, name, action, reason, labels, node_id))  # type: ignore[arg-type]
        self.keys.append((model, action != "remove", name, node_id))

    def warn(self, model: str | None, message: str, level: str = "warning") -> None:
        self.diagnostics.append(Diagnostic.model_construct(level=level, model=model, message=message))


def _invalid_reason(index: NodeIndex, node_id: str) -> str:
    if node_id not in index.by_id:
        return "node_unknown"
    if not index.is_healthy(node_id):
        return "node_unhealthy"
    return "node_not_matching"


def _classify(b: _Builder, entry: Entry, nodes: Sequence[str], matching: frozenset[str]) -> list[str]:
    """Queue removals of the entry's invalid replicas; return the nodes of the valid ones.

    Valid = on a matching node and the first of the model's replicas there. Set and
    comprehension operations do the bulk at C speed; only invalid replicas (few, except
    after a cluster event) take the per-replica path.
    """
    model = entry.model_name
    valid = [n for n in nodes if n in matching]
    if len(valid) != len(nodes):
        for n in [n for n in nodes if n not in matching]:
            b.change(model, n, "remove", _invalid_reason(b.index, n))
    if len(set(valid)) != len(valid):
        seen: set[str] = set()
        first: list[str] = []
        for n in valid:
            if n in seen:
                b.change(model, n, "remove", "duplicate_on_node")
            else:
                seen.add(n)
                first.append(n)
        valid = first
    b.load.update(valid)
    return valid


def _plan_spread(b: _Builder, entry: Entry, valid: list[str], ordered: list[str]) -> int:
    if not ordered:
        b.warn(entry.model_name, f"no healthy node matches selector {_selector_text(entry.node_selector)}")
    have = set(valid)
    missing = [n for n in ordered if n not in have]
    for node_id in missing:
        b.change(entry.model_name, node_id, "add", "spread")
    b.load.update(missing)
    return len(ordered)


def _plan_bounded(b: _Builder, entry: Entry, valid: list[str], ordered: list[str]) -> int:
    v = len(valid)
    cap = len(ordered)
    max_eff = entry.max_replicas or cap
    target = min(max(v, entry.min_replicas), max_eff, cap)
    if entry.min_replicas > cap:
        short = entry.min_replicas - cap
        b.warn(
            entry.model_name,
            f"min_replicas is {entry.min_replicas} but only {cap} healthy node(s) match selector "
            f"{_selector_text(entry.node_selector)}: {short} replica(s) short",
        )
    names = b.index.by_id
    if target > v:
        have = set(valid)
        free = [n for n in ordered if n not in have]
        free.sort(key=lambda n: (b.load[n], names[n].name, n))
        for node_id in free[: target - v]:
            b.change(entry.model_name, node_id, "add", "min_replicas")
            b.load[node_id] += 1
    elif target < v:
        # Most-loaded first, then name descending: sort ascending on the negated key.
        victims = sorted(valid, key=lambda n: (b.load[n], names[n].name, n), reverse=True)
        for node_id in victims[: v - target]:
            b.change(entry.model_name, node_id, "remove", "max_replicas")
            b.load[node_id] -= 1
    return target


def plan(
    desired: Desired,
    observed: Observed,
    *,
    prune: bool = False,
    driver: str = "local",
    cluster: dict[str, str] | None = None,
) -> Plan:
    """Compute the per-node plan. Deterministic; touches listed models only unless `prune`."""
    index = NodeIndex(observed.nodes)
    b = _Builder(index)
    entries = sorted(desired.entries, key=lambda e: e.model_name)
    listed = {e.model_name for e in entries}

    by_model = observed.replicas

    for notice in observed.notices:
        b.warn(notice.model, notice.message, notice.level)

    # Pass 1a: replicas of unlisted (or blocked) models: kept, and count as load; or pruned.
    for model in sorted(by_model):
        if model in listed and model not in observed.blocked:
            continue
        nodes = by_model[model]
        if prune and model not in listed:
            for n in nodes:
                b.change(model, n, "remove", "pruned")
        else:
            b.load.update(n for n in nodes if n in index.by_id)

    # Pass 1b: classify listed models' replicas (load of the valid ones is counted).
    planned: list[tuple[Entry, list[str], list[str]]] = []
    for entry in entries:
        if entry.model_name in observed.blocked:
            b.warn(entry.model_name, observed.blocked[entry.model_name])
            continue
        mset, ordered = index.matching(entry.node_selector)
        valid = _classify(b, entry, by_model.get(entry.model_name, ()), mset)
        planned.append((entry, valid, ordered))

    # Pass 2: additions and bounded removals, in model-name order.
    models: list[ModelPlan] = []
    for entry, valid, ordered in planned:
        if entry.spread:
            target = _plan_spread(b, entry, valid, ordered)
        else:
            target = _plan_bounded(b, entry, valid, ordered)
        models.append(
            ModelPlan.model_construct(
                model=entry.model_name,
                mode=entry.mode,
                selector=dict(sorted(entry.node_selector.items())),
                matching_nodes=len(ordered),
                current=len(by_model.get(entry.model_name, [])),
                target=target,
            )
        )

    # Decorate-sort-undecorate: tuple comparison runs in C, a key method per change does not.
    order = sorted(range(len(b.changes)), key=b.keys.__getitem__)
    changes = [b.changes[i] for i in order]
    adds = sum(1 for c in changes if c.action == "add")
    diagnostics = sorted(
        b.diagnostics, key=lambda d: (d.model or "", d.level, d.message)
    )
    # model_construct: every part was built above from checked data; validating ~10^4
    # changes again would dominate planning time on large clusters.
    return Plan.model_construct(
        generator=GENERATOR,
        driver=driver,
        cluster=dict(cluster or {}),
        prune=prune,
        desired_digest=desired.digest(),
        observed_fingerprint=observed.fingerprint,
        changes=changes,
        models=models,
        diagnostics=diagnostics,
        summary=Summary(add=adds, remove=len(changes) - adds),
    )
