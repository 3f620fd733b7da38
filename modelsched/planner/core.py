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

import heapq
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence

from modelsched import GENERATOR
from modelsched.model.cluster import Node, Observed
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Action, Change, Diagnostic, Level, ModelPlan, Plan, Reason, Summary, UnlistedModel
from modelsched.planner.load import LoadCounter
from modelsched.planner.matching import NodeIndex, selector_text
from modelsched.planner.slots import classify_slots, plan_bounded_slots


class _Builder:
    """Mutable scratch state for one planning run; never escapes `plan()`."""

    def __init__(self, index: NodeIndex) -> None:
        self.index = index
        # Per model: (sort key, change). Sorting each model's few changes, then the models,
        # keeps the final ordering linear-ish where one global sort of ~10^5 was not.
        # Items are (is_add, node name, node ID, sequence, change): plain tuple order, with the
        # sequence number settling ties (copies on one node) before the change is ever compared.
        self.changes: dict[str, list[tuple[bool, str, str, int, Change]]] = {}
        self.diagnostics: list[Diagnostic] = []
        self.loads = LoadCounter(index.by_id)
        self._info: dict[str, tuple[str, dict[str, str]]] = {}

    def _node_info(self, node_id: str) -> tuple[str, dict[str, str]]:
        node: Node | None = self.index.by_id.get(node_id)
        # Changes of one node share its (sorted, never mutated) labels dict.
        info = (node.name, dict(sorted(node.labels.items()))) if node else (node_id, {})
        self._info[node_id] = info
        return info

    def record(self, model: str, node_ids: Iterable[str], action: Action, reason: Reason) -> None:
        """Queue one change per node ID (a node may repeat: one change per replica)."""
        info = self._info
        is_add = action != "remove"
        items = self.changes.setdefault(model, [])
        append = items.append
        seq = len(items)
        for node_id in node_ids:
            got = info.get(node_id) or self._node_info(node_id)
            # The sort key is recorded now: reading it back off the objects costs more.
            append((is_add, got[0], node_id, seq, Change(model, got[0], action, reason, got[1], node_id)))
            seq += 1

    def sorted_changes(self) -> list[Change]:
        """By model, then removes before adds, then node name and ID (DESIGN.md "Plan")."""
        out: list[Change] = []
        for model in sorted(self.changes):
            items = self.changes[model]
            items.sort()
            out.extend(item[4] for item in items)
        return out

    def warn(self, model: str | None, message: str, level: Level = "warning") -> None:
        self.diagnostics.append(Diagnostic.model_construct(level=level, model=model, message=message))


def _classify(
    b: _Builder, entry: Entry, nodes: Sequence[str], matching: frozenset[str]
) -> tuple[set[str], int]:
    """Queue removals of the entry's invalid replicas; return the nodes of the valid ones
    and their load slot.

    Valid = on a matching node and the first of the model's replicas there (every node
    has one slot here; `slots.classify_slots` handles more). One pass builds the set of
    the model's nodes; everything after is set algebra on stored hashes (no per-replica
    Python step), and only a model with copies on one node pays a count of them.
    """
    unique = set(nodes)
    if len(unique) == len(nodes) and unique <= matching:
        return unique, b.loads.keep(unique, matching)  # steady state: every replica valid
    model = entry.model_name
    valid = unique & matching
    bad = unique - valid
    copies: Counter[str] | None = Counter(nodes) if len(unique) != len(nodes) else None

    def each(node_ids: Iterable[str]) -> list[str]:
        """One item per replica on those nodes, sorted by ID (the node name, for most
        drivers) so the final sort meets runs."""
        if copies is None:
            return sorted(node_ids)
        return [n for n in sorted(node_ids) for _ in range(copies[n])]

    if bad:
        index = b.index
        unknown = bad.difference(index.by_id)
        known = bad - unknown
        b.record(model, each(unknown), "remove", "node_unknown")
        b.record(model, each(known - index.healthy), "remove", "node_unhealthy")
        b.record(model, each(known & index.healthy), "remove", "node_not_matching")
    if copies is not None:
        # Every copy past the first on a node is a duplicate (same node: which copy is moot).
        # Only the nodes with copies are visited, not the whole valid set.
        doubled = sorted(n for n, k in copies.items() if k > 1 and n in valid)
        b.record(model, [n for n in doubled for _ in range(copies[n] - 1)], "remove", "duplicate_on_node")
    return valid, b.loads.keep(valid, matching)


def _plan_spread(b: _Builder, entry: Entry, valid: Collection[str], slot: int, matching: frozenset[str]) -> int:
    if not matching:
        b.warn(entry.model_name, f"no healthy node matches selector {selector_text(entry.node_selector)}")
    # valid holds matching nodes only; sorted by ID so the final sort meets runs.
    missing = sorted(matching.difference(valid)) if len(valid) != len(matching) else []
    b.record(entry.model_name, missing, "add", "spread")
    if slot < 0:
        b.loads.shift(missing, +1)  # kept replicas may repeat a node: no shared-set shortcut
    else:
        b.loads.fill(slot, matching, missing)
    return len(matching)


def _ranking(
    load: Counter[str], name_of: dict[str, str], node_ids: Iterable[str]
) -> Iterator[tuple[int, str, str]]:
    """(load, name, id) per node, built with C-level lookups (no Python key function)."""
    ids = list(node_ids)
    return zip(map(load.__getitem__, ids), map(name_of.__getitem__, ids), ids, strict=True)


def _plan_bounded(b: _Builder, entry: Entry, valid: set[str], matching: frozenset[str]) -> int:
    v = len(valid)
    cap = len(matching)
    max_eff = entry.max_replicas or cap
    target = min(max(v, entry.min_replicas), max_eff, cap)
    if entry.min_replicas > cap:
        short = entry.min_replicas - cap
        b.warn(
            entry.model_name,
            f"min_replicas is {entry.min_replicas} but only {cap} healthy node(s) match selector "
            f"{selector_text(entry.node_selector)}: {short} replica(s) short",
        )
    name_of = b.index.name_of
    if target > v:
        free = matching - valid
        # (load, name, id) tuples built with C-level lookups; nsmallest keeps only k (the
        # IDs are unique, so the ranking is total and the input order does not matter).
        ranked = heapq.nsmallest(target - v, _ranking(b.loads.load, name_of, free))
        chosen = [n for _, _, n in ranked]
        b.record(entry.model_name, chosen, "add", "min_replicas")
        b.loads.shift(chosen, +1)
    elif target < v:
        # Most-loaded first, then name descending.
        ranked = heapq.nlargest(v - target, _ranking(b.loads.load, name_of, valid))
        chosen = [n for _, _, n in ranked]
        b.record(entry.model_name, chosen, "remove", "max_replicas")
        b.loads.shift(chosen, -1)
    return target


def _classify_with_slots(b: _Builder, entry: Entry, nodes: Sequence[str], matching: frozenset[str]) -> Counter[str]:
    """Pass 1 on a cluster where some node holds more than one replica of a model."""
    valid = classify_slots(b.index, entry.model_name, nodes, matching, b.record)
    b.loads.keep(list(valid.elements()))
    return valid


def _plan_with_slots(b: _Builder, entry: Entry, valid: Counter[str], matching: frozenset[str]) -> int:
    """Pass 2 on a cluster where some node holds more than one replica of a model."""
    if entry.spread:
        return _plan_spread(b, entry, valid.keys(), -1, matching)
    target, chosen, action = plan_bounded_slots(b.index, b.loads.load, entry, valid, matching, b.warn)
    if chosen:
        b.record(entry.model_name, chosen, action, "min_replicas" if action == "add" else "max_replicas")
        b.loads.shift(chosen, +1 if action == "add" else -1)
    return target


def _unlisted(observed: Observed, listed: Collection[str], prune: bool) -> list[UnlistedModel]:
    out = []
    for model in sorted(observed.replicas):
        nodes = observed.replicas[model]
        if model not in listed and nodes:
            pruned = prune and model not in observed.blocked
            out.append(
                UnlistedModel.model_construct(model=model, replicas=len(nodes), nodes=len(set(nodes)), pruned=pruned)
            )
    return out


def plan(
    desired: Desired,
    observed: Observed,
    *,
    prune: bool = False,
    driver: str = "local",
    cluster: dict[str, str] | None = None,
    targets: Collection[str] = (),
) -> Plan:
    """Compute the per-node plan. Deterministic; touches listed models only unless `prune`.

    `targets` (`--target`): plan only these listed models; the others are left as they
    are (their replicas still count as load). Pruning with targets is the caller's to refuse."""
    index = NodeIndex(observed.nodes)
    b = _Builder(index)
    entries = sorted(desired.entries, key=lambda e: e.model_name)
    listed = {e.model_name for e in entries}
    unknown_targets: list[str] = []
    if targets:
        unknown_targets = [
            f"--target {name}: the config lists no model of that name" for name in sorted(set(targets) - listed)
        ]
        entries = [e for e in entries if e.model_name in targets]
    planned_names = {e.model_name for e in entries}

    by_model = observed.replicas

    for notice in observed.notices:
        b.warn(notice.model, notice.message, notice.level)
    for message in unknown_targets:
        b.warn(None, message, "error")

    # Pass 1a: replicas of models not planned here (unlisted, untargeted or blocked): kept,
    # and count as load; or, for unlisted models with --prune, removed.
    for model in sorted(by_model):
        if model in planned_names and model not in observed.blocked:
            continue
        nodes = by_model[model]
        if prune and model not in listed and model not in observed.blocked:
            b.record(model, nodes, "remove", "pruned")
        else:
            b.loads.keep([n for n in nodes if n in index.by_id])

    # Pass 1b: classify listed models' replicas (load of the valid ones is counted).
    planned: list[tuple[Entry, set[str], int, frozenset[str]]] = []
    with_slots: dict[str, Counter[str]] = {}
    for entry in entries:
        if entry.model_name in observed.blocked:
            b.warn(entry.model_name, observed.blocked[entry.model_name])
            continue
        mset = index.matching(entry.node_selector, observed.scopes.get(entry.model_name))
        nodes = by_model.get(entry.model_name, ())
        if index.multi_slot:
            with_slots[entry.model_name] = _classify_with_slots(b, entry, nodes, mset)
            planned.append((entry, set(), -1, mset))
        else:
            valid, slot = _classify(b, entry, nodes, mset)
            planned.append((entry, valid, slot, mset))

    # Pass 2: additions and bounded removals, in model-name order.
    models: list[ModelPlan] = []
    for entry, valid, slot, mset in planned:
        if slot < 0:
            target = _plan_with_slots(b, entry, with_slots[entry.model_name], mset)
        elif entry.spread:
            target = _plan_spread(b, entry, valid, slot, mset)
        else:
            target = _plan_bounded(b, entry, valid, mset)
        models.append(
            ModelPlan.model_construct(
                model=entry.model_name,
                mode=entry.mode,
                selector=dict(sorted(entry.node_selector.items())),
                matching_nodes=len(mset),
                current=len(by_model.get(entry.model_name, [])),
                target=target,
            )
        )

    changes = b.sorted_changes()
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
        targets=sorted(set(targets)),
        unlisted=_unlisted(observed, listed, prune),
    )
