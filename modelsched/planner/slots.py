"""Planning on clusters where a node may hold several replicas of one model (slots).

LocalAI's `max_replicas_per_model` (and the local state file's `slots`) let a node hold
up to `slots` replicas of a model. With every node at one slot the planner takes its
set-based fast path (core.py); this module is the general path: per-node replica
counts instead of node sets. Semantics (DESIGN.md "Planning semantics"): a replica is
valid when its node matches and it is among the first `slots` of the model's replicas
there; bounded targets count slots (cap = the matching nodes' slots); additions go to
the least-loaded matching node with a free slot, then name, then ID, one at a time
(a node may take several); removals take the most-loaded first, then name and ID
descending. With every node at one slot this decides exactly what the fast path does.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import total_ordering

from modelsched.model.entry import Entry
from modelsched.model.plan import Action, Reason
from modelsched.planner.matching import NodeIndex, selector_text

Record = Callable[[str, Iterable[str], Action, Reason], None]
Warn = Callable[[str, str], None]


def classify_slots(
    index: NodeIndex, model: str, nodes: Sequence[str], matching: frozenset[str], record: Record
) -> Counter[str]:
    """Queue removals of the model's invalid replicas; return valid replicas per node."""
    copies = Counter(nodes)
    valid: Counter[str] = Counter()
    unknown: list[str] = []
    unhealthy: list[str] = []
    not_matching: list[str] = []
    extra: list[str] = []
    for node_id in sorted(copies):
        count = copies[node_id]
        if node_id in matching:
            kept = min(count, index.slots(node_id))
            valid[node_id] = kept
            extra += [node_id] * (count - kept)
        elif node_id not in index.by_id:
            unknown += [node_id] * count
        elif node_id not in index.healthy:
            unhealthy += [node_id] * count
        else:
            not_matching += [node_id] * count
    record(model, unknown, "remove", "node_unknown")
    record(model, unhealthy, "remove", "node_unhealthy")
    record(model, not_matching, "remove", "node_not_matching")
    record(model, extra, "remove", "duplicate_on_node")  # more replicas than the node's slots
    return valid


@total_ordering
class _Descending:
    """Orders strings backwards, so a min-heap pops the largest name (then ID) first."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.text == other.text

    def __lt__(self, other: _Descending) -> bool:
        return self.text > other.text

    def __hash__(self) -> int:
        return hash(self.text)


def plan_bounded_slots(
    index: NodeIndex,
    load: Counter[str],
    entry: Entry,
    valid: Counter[str],
    matching: frozenset[str],
    warn: Warn,
) -> tuple[int, list[str], Action]:
    """The bounded model's target and the nodes to add on (or remove from), one item per replica."""
    v = sum(valid.values())
    cap = sum(index.slots(n) for n in matching)
    max_eff = entry.max_replicas or cap
    target = min(max(v, entry.min_replicas), max_eff, cap)
    if entry.min_replicas > cap:
        warn(
            entry.model_name,
            f"min_replicas is {entry.min_replicas} but only {cap} replica slot(s) on {len(matching)} healthy "
            f"node(s) match selector {selector_text(entry.node_selector)}: "
            f"{entry.min_replicas - cap} replica(s) short",
        )
    name_of = index.name_of
    chosen: list[str] = []
    if target > v:
        free = {n: index.slots(n) - valid[n] for n in matching if valid[n] < index.slots(n)}
        heap = [(load[n], name_of[n], n) for n in free]
        heapq.heapify(heap)
        for _ in range(target - v):
            node_load, name, node_id = heapq.heappop(heap)
            chosen.append(node_id)
            free[node_id] -= 1
            if free[node_id]:
                heapq.heappush(heap, (node_load + 1, name, node_id))
        return target, chosen, "add"
    if target < v:
        left = dict(valid)
        top = [(-load[n], _Descending(name_of[n]), _Descending(n), n) for n in left if left[n]]
        heapq.heapify(top)
        for _ in range(v - target):
            neg_load, name_key, id_key, node_id = heapq.heappop(top)
            chosen.append(node_id)
            left[node_id] -= 1
            if left[node_id]:
                heapq.heappush(top, (neg_load + 1, name_key, id_key, node_id))
        return target, chosen, "remove"
    return target, chosen, "add"
