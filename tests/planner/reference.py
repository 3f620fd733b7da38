"""A deliberately naive planner, written line by line from DESIGN.md "Planning semantics".

It is slow (label checks per node per model, a full re-count of load for every
placement and removal, one replica at a time even where a node has several slots)
and shares no code with `modelsched.planner`, so the property test that compares
the two catches an optimisation that changes what the real planner decides.
Returns (model, action, node ID, reason) in plan order plus each model's target.
"""

from __future__ import annotations

from modelsched.model.cluster import Node, Observed
from modelsched.model.entry import Desired, Entry

Row = tuple[str, str, str, str]


def _matches(node: Node, entry: Entry) -> bool:
    healthy = node.status == "ready" and node.eligible and not node.draining
    return healthy and all(node.labels.get(k) == v for k, v in entry.node_selector.items())


def reference_plan(
    desired: Desired, observed: Observed, prune: bool = False, *, use_load: bool = True
) -> tuple[list[Row], dict[str, int]]:
    """`use_load=False` ranks every node at load 0 (names only): a case where the two
    differ is one where load breaks a tie, which the strategies must produce."""
    nodes: dict[str, Node] = {}
    for node in observed.nodes:
        nodes.setdefault(node.id, node)
    entries = {e.model_name: e for e in desired.entries}
    rows: list[Row] = []
    # (model, node ID) of every replica the plan keeps or adds, for the load count.
    placed: list[tuple[str, str]] = []

    def load(node_id: str) -> int:
        return sum(1 for _, n in placed if n == node_id) if use_load else 0

    for model in sorted(observed.replicas):
        if model in entries and model not in observed.blocked:
            continue
        for node_id in observed.replicas[model]:
            if prune and model not in entries and model not in observed.blocked:
                rows.append((model, "remove", node_id, "pruned"))
            elif node_id in nodes:
                placed.append((model, node_id))

    valid: dict[str, list[str]] = {}
    for model in sorted(entries):
        if model in observed.blocked:
            continue
        valid[model] = []
        for node_id in observed.replicas.get(model, ()):
            node = nodes.get(node_id)
            if node is None:
                rows.append((model, "remove", node_id, "node_unknown"))
            elif not (node.status == "ready" and node.eligible and not node.draining):
                rows.append((model, "remove", node_id, "node_unhealthy"))
            elif not _matches(node, entries[model]):
                rows.append((model, "remove", node_id, "node_not_matching"))
            elif valid[model].count(node_id) >= node.slots:
                rows.append((model, "remove", node_id, "duplicate_on_node"))
            else:
                valid[model].append(node_id)
                placed.append((model, node_id))

    targets: dict[str, int] = {}
    for model in sorted(valid):
        entry = entries[model]
        matching = [n for n in nodes.values() if _matches(n, entry)]
        have = valid[model]
        if entry.spread:
            for node in matching:
                if node.id not in have:
                    rows.append((model, "add", node.id, "spread"))
                    placed.append((model, node.id))
            targets[model] = len(matching)
            continue
        cap = sum(n.slots for n in matching)
        target = min(max(len(have), entry.min_replicas), entry.max_replicas or cap, cap)
        targets[model] = target
        for _ in range(target - len(have)):
            free = [n for n in matching if have.count(n.id) < n.slots]
            best = min(free, key=lambda n: (load(n.id), n.name, n.id))
            rows.append((model, "add", best.id, "min_replicas"))
            placed.append((model, best.id))
            have.append(best.id)
        for _ in range(len(have) - target):
            worst = max(have, key=lambda i: (load(i), nodes[i].name, i))
            rows.append((model, "remove", worst, "max_replicas"))
            placed.remove((model, worst))
            have.remove(worst)

    def order(row: Row) -> tuple[str, bool, str, str]:
        model, action, node_id, _ = row
        name = nodes[node_id].name if node_id in nodes else node_id
        return (model, action == "add", name, node_id)

    # Stable: copies of one replica on one node keep their recorded order.
    return sorted(rows, key=order), targets
