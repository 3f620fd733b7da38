"""The node registry (core/services/nodes/registry.go): nodes, labels, replica rows
(NodeModel), scheduling rows (ModelSchedulingConfig) and per-model load info, behind one lock.

Method names follow the Go ones so each rule can be traced back to registry.go.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

STATUSES = ("pending", "healthy", "unhealthy", "offline", "draining")


@dataclass
class Node:
    id: str
    name: str
    status: str
    address: str
    node_type: str = "backend"
    max_replicas_per_model: int = 1
    max_replicas_per_model_manually_set: bool = False
    available_vram: int = 0
    total_vram: int = 0
    last_heartbeat: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0
    heartbeating: bool = True  # sim-only: a live worker heartbeats; advance() keeps it fresh


@dataclass
class Replica:
    id: str
    node_id: str
    model_name: str
    replica_index: int
    address: str
    state: str
    in_flight: int
    last_used: float
    created_at: float
    updated_at: float


@dataclass
class Row:
    """ModelSchedulingConfig, as stored (node_selector is the JSON string, "" when empty)."""

    id: str
    model_name: str
    node_selector: str = ""
    min_replicas: int = 0
    max_replicas: int = 0
    spread_all: bool = False
    route_policy: str = ""
    balance_abs_threshold: int = 0
    balance_rel_threshold: float = 0.0
    min_prefix_match: float = 0.0
    unsatisfiable_until: float | None = None
    unsatisfiable_ticks: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0


UPSERT_COLUMNS = ("node_selector", "min_replicas", "max_replicas", "spread_all", "route_policy",
                  "balance_abs_threshold", "balance_rel_threshold", "min_prefix_match")


@dataclass
class State:
    now: float = field(default_factory=time.time)
    nodes: dict[str, Node] = field(default_factory=dict)  # insertion order = creation order
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    rows: dict[str, Row] = field(default_factory=dict)
    load_info: set[str] = field(default_factory=set)  # ModelLoadInfo rows (model names)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ports: int = 40000

    # -- nodes (registry.go: Register, setStatus, MarkOffline, MarkDraining, Deregister) --------
    def register(self, name: str, auto_approve: bool, max_replicas: int, labels: dict[str, str],
                 node_type: str = "backend", available_vram: int = 0) -> Node:
        existing = next((n for n in self.nodes.values() if n.name == name), None)
        if existing is not None:  # re-registration: keep ID, pending stays pending, rows cleared
            node = existing
            node.status = "healthy" if auto_approve or existing.status != "pending" else "pending"
            if not node.max_replicas_per_model_manually_set:
                node.max_replicas_per_model = max(max_replicas, 1)
            self.delete_replicas(node.id)
        else:
            self._ports += 1
            node = Node(id=str(uuid.uuid4()), name=name, status="healthy" if auto_approve else "pending",
                        address=f"127.0.0.1:{self._ports}",
                        node_type=node_type, max_replicas_per_model=max(max_replicas, 1),
                        available_vram=available_vram, total_vram=available_vram, created_at=self.now)
            self.nodes[node.id] = node
            self.labels[node.id] = {}
        node.last_heartbeat = node.updated_at = self.now
        node.heartbeating = True
        for key, value in labels.items():  # RegisterNodeEndpoint merges worker labels (SetNodeLabel)
            self.labels[node.id][key] = value
        self.apply_auto_labels(node)
        self.clear_all_unsatisfiable()
        return node

    def apply_auto_labels(self, node: Node) -> None:
        self.labels.setdefault(node.id, {})["node.name"] = node.name
        self.labels[node.id]["node.replica-slots"] = str(max(node.max_replicas_per_model, 1))

    def set_status(self, node_id: str, status: str) -> bool:
        node = self.nodes.get(node_id)
        if node is None:
            return False  # RowsAffected == 0 -> "node ... not found"
        node.status, node.updated_at = status, self.now
        if status in ("offline", "draining"):  # MarkOffline / MarkDraining clear the node's rows
            self.delete_replicas(node_id)
        return True

    def deregister(self, node_id: str) -> bool:
        if self.nodes.pop(node_id, None) is None:
            return False
        self.labels.pop(node_id, None)
        self.delete_replicas(node_id)
        return True

    def delete_replicas(self, node_id: str, model: str | None = None) -> None:
        self.replicas = [r for r in self.replicas
                         if not (r.node_id == node_id and (model is None or r.model_name == model))]

    # -- labels (SetNodeLabel / SetNodeLabels / RemoveNodeLabel all clear cooldowns) --------------
    def set_label(self, node_id: str, key: str, value: str) -> None:
        self.labels.setdefault(node_id, {})[key] = value
        self.clear_all_unsatisfiable()

    def set_labels(self, node_id: str, labels: dict[str, str] | None) -> None:
        self.labels[node_id] = dict(labels or {})
        self.clear_all_unsatisfiable()

    def remove_label(self, node_id: str, key: str) -> None:
        self.labels.get(node_id, {}).pop(key, None)
        self.clear_all_unsatisfiable()

    # -- selection queries -------------------------------------------------------------------
    def find_nodes_by_selector(self, selector: dict[str, str] | None) -> list[Node]:
        """FindNodesBySelector: healthy *backend* nodes carrying every selector pair."""
        return [n for n in self.nodes.values() if n.status == "healthy" and n.node_type == "backend"
                and all(self.labels.get(n.id, {}).get(k) == v for k, v in (selector or {}).items())]

    def slots_used(self, node_id: str, model: str) -> int:
        """Rows of model on node in any state but "unloading" (FindNodesWithFreeSlot's subquery)."""
        return sum(1 for r in self.replicas
                   if r.node_id == node_id and r.model_name == model and r.state != "unloading")

    def next_free_replica_index(self, node: Node, model: str) -> int | None:
        taken = {r.replica_index for r in self.replicas
                 if r.node_id == node.id and r.model_name == model and r.state != "unloading"}
        return next((i for i in range(max(node.max_replicas_per_model, 1)) if i not in taken), None)

    def count_loaded(self, model: str) -> int:
        """CountLoadedReplicas: state "loaded", cluster-wide: no node-status or selector filter."""
        return sum(1 for r in self.replicas if r.model_name == model and r.state == "loaded")

    def node_load(self, node_id: str) -> int:
        return sum(r.in_flight for r in self.replicas if r.node_id == node_id and r.state == "loaded")

    def has_loaded(self, node_id: str) -> bool:
        return any(r.node_id == node_id and r.state == "loaded" for r in self.replicas)

    # -- replica rows --------------------------------------------------------------------------
    def add_replica(self, node: Node, model: str, index: int, state: str, in_flight: int = 0,
                    last_used: float | None = None) -> Replica:
        self.replicas = [r for r in self.replicas
                         if not (r.node_id == node.id and r.model_name == model and r.replica_index == index)]
        self._ports += 1
        replica = Replica(id=str(uuid.uuid4()), node_id=node.id, model_name=model, replica_index=index,
                          address=f"127.0.0.1:{self._ports}", state=state, in_flight=in_flight,
                          last_used=self.now if last_used is None else last_used,
                          created_at=self.now, updated_at=self.now)
        self.replicas.append(replica)
        return replica

    # -- scheduling rows -----------------------------------------------------------------------
    def upsert_row(self, built: Row) -> None:
        """SetModelScheduling: INSERT ... ON CONFLICT (model_name) DO UPDATE of UPSERT_COLUMNS and
        updated_at only: an existing row keeps its id, created_at and unsatisfiable_* columns."""
        stored = self.rows.get(built.model_name)
        if stored is None:
            self.rows[built.model_name] = Row(**vars(built))
            return
        for column in UPSERT_COLUMNS:
            setattr(stored, column, getattr(built, column))
        stored.updated_at = built.updated_at

    def clear_all_unsatisfiable(self) -> None:
        for row in self.rows.values():
            row.unsatisfiable_until, row.unsatisfiable_ticks = None, 0
