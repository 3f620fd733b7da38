"""What moved between a saved plan's observation and now, in words.

A saved plan records a short digest per observed node (`node_digests`); when apply
finds the cluster changed, `stale_message` names the nodes that joined, left or
changed (first few of each kind, then counts), plus whatever the driver adds (jobs,
scheduling rows). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from modelsched.model.cluster import Node, Observed
from modelsched.model.plan import NodeDigest

SHOWN = 3  # names shown per kind before "and N more"


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _state_text(node: Node) -> str:
    labels = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(node.labels.items()))
    return f"{node.name}\x1d{node.status}\x1d{node.eligible}\x1d{node.draining}\x1d{node.slots}\x1d{labels}"


def node_digests(observed: Observed) -> dict[str, NodeDigest]:
    """Node ID -> digest of its state (status, eligibility, drain, slots, labels) and of
    the replicas on it (model names with their counts)."""
    on_node: dict[str, list[str]] = {}
    for model, nodes in observed.replicas.items():
        for node_id in nodes:
            on_node.setdefault(node_id, []).append(model)
    out: dict[str, NodeDigest] = {}
    for node in observed.nodes:
        models = "\x1f".join(sorted(on_node.get(node.id, ())))
        out[node.id] = NodeDigest(name=node.name, state=_short(_state_text(node)), replicas=_short(models))
    return out


def _condition(node: Node) -> str:
    if node.status != "ready":
        return f"now {node.status}"
    if node.draining:
        return "now draining"
    if not node.eligible:
        return "now ineligible"
    return "labels or status changed"


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    if len(items) > SHOWN:
        shown += f", and {len(items) - SHOWN} more"
    return shown


def node_changes(before: Mapping[str, NodeDigest], observed: Observed) -> list[str]:
    """One phrase per moved node, sorted by node name: `gpu-3 now draining`, `cpu-9 joined`,
    `gpu-7 left`, `gpu-1 replicas changed`."""
    now = node_digests(observed)
    by_id = {n.id: n for n in observed.nodes}
    phrases: list[tuple[str, str]] = []
    for node_id, digest in now.items():
        old = before.get(node_id)
        node = by_id[node_id]
        if old is None:
            phrases.append((node.name, f"{node.name} joined"))
        elif old.state != digest.state:
            phrases.append((node.name, f"{node.name} {_condition(node)}"))
        elif old.replicas != digest.replicas:
            phrases.append((node.name, f"{node.name} replicas changed"))
    for node_id, old in before.items():
        if node_id not in now:
            phrases.append((old.name, f"{old.name} left"))
    return [text for _, text in sorted(phrases)]


def stale_message(
    before: Mapping[str, NodeDigest] | None, observed: Observed, *, others: Sequence[tuple[str, str]] = ()
) -> str:
    """`Saved plan is stale: 2 nodes changed (gpu-3 now draining, cpu-9 joined), 1 job changed
    (modelsched-whisper); nothing was applied. Run modelsched plan again.`

    `others` are (kind, name) pairs the driver found moved (("job", "modelsched-whisper")).
    Without node digests (a plan saved without them) the nodes are not itemised."""
    parts: list[str] = []
    if before is not None:
        nodes = node_changes(before, observed)
        if nodes:
            parts.append(f"{len(nodes)} node{'s' if len(nodes) != 1 else ''} changed ({_listed(nodes)})")
    kinds: dict[str, list[str]] = {}
    for kind, name in others:
        kinds.setdefault(kind, []).append(name)
    for kind in sorted(kinds):
        names = sorted(kinds[kind])
        parts.append(f"{len(names)} {kind}{'s' if len(names) != 1 else ''} changed ({_listed(names)})")
    what = ", ".join(parts) if parts else "the cluster changed"
    return f"Saved plan is stale: {what}; nothing was applied. Run modelsched plan again."
