"""Observe a distributed LocalAI in three requests, whatever the cluster size:
`GET /api/nodes`, `GET /api/nodes/models`, `GET /api/nodes/scheduling`.

Replicas come from `/api/nodes/models`, which lists loaded replicas on healthy nodes
only. Per-node `/api/nodes/:id/models` would show the rest at one request per node; it is
not used: draining and offline nodes have no replica rows (registry.go MarkDraining /
MarkOffline delete them; releases before that kept them on draining nodes), and an
unhealthy node either recovers (its replicas show again) or goes offline within a minute
(they are dropped). The gap: while a node that is not healthy holds loaded replicas,
LocalAI still counts them cluster-wide, so it may add fewer than planned, and modelsched
cannot unload them; the node list's `model_count` shows such nodes and a warning names
them.

Managed models: the listed ones and every model with a scheduling row. A model loaded on
demand without a row is counted as load but never touched, not even by `--prune`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection

from modelsched.drivers.localai import wire
from modelsched.drivers.localai.client import LocalAIClient
from modelsched.drivers.localai.data import LiveNode, Snapshot
from modelsched.model.cluster import Node, Notice, Observed

UNMANAGED = (
    "loaded on demand, without a scheduling row: modelsched does not manage it (not even with --prune); "
    "list it in the config to manage it"
)


def snapshot(client: LocalAIClient, listed: Collection[str]) -> Snapshot:
    address = client.conn.address
    nodes = wire.nodes(address, client.nodes())
    replicas = wire.replicas(address, client.loaded_models())
    rows = wire.rows(address, client.rows())
    managed = set(listed) | {r.spec.model_name for r in rows}
    return Snapshot(
        address=address,
        nodes=tuple(sorted(nodes, key=lambda n: (n.name, n.id))),
        replicas=tuple(replicas),
        rows=tuple(rows),
        fingerprint=fingerprint(nodes, [(r.model, r.node_id, r.replica_index) for r in replicas if r.model in managed],
                                rows=[r.spec.body() for r in rows]),
    )


def fingerprint(nodes: Collection[LiveNode], replicas: Collection[tuple[str, str, int]], *, rows: list[object]) -> str:
    """sha256 of what a plan decides on: node state, managed replicas, rows. Not counters
    that move on their own (heartbeats, in-flight requests, cooldown ticks)."""
    doc = {
        "nodes": sorted([n.id, n.name, n.status, sorted(n.labels.items()), n.slots, n.node_type] for n in nodes),
        "replicas": sorted(replicas),
        "rows": sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows),
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def node_of(live: LiveNode) -> Node:
    return Node(
        id=live.id,
        name=live.name or live.id,
        labels=dict(live.labels),
        status="ready" if live.status == "healthy" else (live.status or "unknown"),
        eligible=live.node_type in ("", "backend"),
        draining=live.status == "draining",
        slots=live.slots,
    )


def observed_of(snap: Snapshot, listed: Collection[str]) -> Observed:
    managed = set(listed) | {r.spec.model_name for r in snap.rows}
    by_model: dict[str, list[str]] = {}
    for r in snap.replicas:
        by_model.setdefault(r.model, []).append(r.node_id)
    notices = [
        Notice(
            "warning",
            f"node {n.name or n.id} is {n.status or 'in an unknown state'} and holds {n.model_count} loaded "
            "replica(s) that LocalAI does not list for such nodes: LocalAI still counts them toward each model's "
            "replicas, so it may add fewer than planned until the node recovers or goes offline",
        )
        for n in snap.nodes
        if n.status != "healthy" and n.model_count > 0
    ]
    return Observed(
        nodes=tuple(node_of(n) for n in snap.nodes),
        replicas=by_model,
        fingerprint=snap.fingerprint,
        blocked={m: UNMANAGED for m in by_model if m not in managed},
        notices=tuple(notices),
        private=snap,
    )
