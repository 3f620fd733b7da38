"""The replicas a plan keeps on each observed node (`Plan.nodes`), for the HTML grid
and saved plans.

Kept = per (model, node) the replicas there before the plan that are still there
after it: min(before, after), where after = before - removes + adds (what
`planner.applied` gives), i.e. before - max(0, removes - adds). Counted directly
from the observed replicas and the changes: linear, ~0.05 s at 5,000 nodes x 500
models, where building the whole applied state costs more than that alone.
Display data only: must not decide anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from modelsched.model.cluster import Observed
from modelsched.model.plan import Change, PlanNode


def kept_nodes(observed: Observed, changes: Iterable[Change]) -> list[PlanNode]:
    """Every observed node, sorted by name then ID, with the replicas the plan keeps on it
    (models in name order; a model with none kept is left out)."""
    kept: dict[str, dict[str, int]] = {n.id: {} for n in observed.nodes}
    on_node = kept.get
    for model in sorted(observed.replicas):
        for node_id, count in Counter(observed.replicas[model]).items():
            on = on_node(node_id)
            if on is not None:  # None: a replica on a node the driver no longer lists, never kept
                on[model] = count
    net: Counter[tuple[str, str]] = Counter()
    for c in changes:
        net[(c.model, c.node_id)] += 1 if c.action == "remove" else -1
    for (model, node_id), removed in net.items():
        on = on_node(node_id)
        if removed > 0 and on is not None and model in on:
            left = on[model] - removed
            if left > 0:
                on[model] = left
            else:
                del on[model]
    return [
        PlanNode(n.id, n.name, dict(n.labels), kept[n.id]) for n in sorted(observed.nodes, key=lambda n: (n.name, n.id))
    ]
