"""`applied(observed, changes)`: the observed state as it is after a plan's changes.

Pure. One removal takes the model's last replica on that node (so the first copy on a
node, the one the planner keeps, stays), additions are appended in plan order. Used
wherever "the cluster after the plan" is needed: the Nomad preparation (the nodes a
model runs on afterwards), the local driver's check, and the convergence tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from modelsched.model.cluster import Observed
from modelsched.model.plan import Change


class MissingReplicaError(ValueError):
    """A removal names a replica the observed state does not hold."""

    def __init__(self, model: str, node_id: str) -> None:
        super().__init__(f"no replica of {model!r} on node {node_id!r} to remove")
        self.model = model
        self.node_id = node_id


def applied(observed: Observed, changes: Iterable[Change]) -> Observed:
    """The same nodes, with `changes` applied to the replicas (and their backend IDs:
    an added replica has the ID "" until the backend gives it one)."""
    changes = list(changes)
    removes: Counter[tuple[str, str]] = Counter((c.model, c.node_id) for c in changes if c.action == "remove")
    replicas: dict[str, list[str]] = {}
    ids: dict[str, list[str]] = {}
    for model, nodes in observed.replicas.items():
        model_ids = list(observed.replica_ids.get(model, ()))
        model_ids += [""] * (len(nodes) - len(model_ids))
        kept_nodes: list[str] = []
        kept_ids: list[str] = []
        for node_id, rid in zip(reversed(nodes), reversed(model_ids), strict=True):
            key = (model, node_id)
            if removes[key] > 0:
                removes[key] -= 1
                continue
            kept_nodes.append(node_id)
            kept_ids.append(rid)
        kept_nodes.reverse()
        kept_ids.reverse()
        replicas[model] = kept_nodes
        ids[model] = kept_ids
    missing = sorted(key for key, left in removes.items() if left > 0)
    if missing:
        raise MissingReplicaError(*missing[0])
    for c in changes:
        if c.action == "add":
            replicas.setdefault(c.model, []).append(c.node_id)
            ids.setdefault(c.model, []).append("")
    return replace(
        observed,
        replicas={m: n for m, n in replicas.items() if n},
        replica_ids={m: i for m, i in ids.items() if replicas[m]},
    )
