"""JSON shapes of LocalAI's answers: the Go structs' json tags, in declared order, with
omitempty applied (registry.go BackendNode / NodeWithExtras / NodeModel /
ModelSchedulingConfig; endpoints/localai/nodes.go nodeError; schema.ErrorResponse)."""

from __future__ import annotations

from typing import Any

from tests.localaisim.golang import go_time, sorted_map
from tests.localaisim.state import Node, Replica, Row, State


def node_error(code: int, message: str) -> dict[str, Any]:
    """nodes.go nodeError -> schema.ErrorResponse{APIError{Code, Message, Type: "node_error"}}."""
    return {"error": {"code": code, "message": message, "type": "node_error"}}


def api_error(code: int, message: str, type_: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": type_}}


def node(st: State, n: Node, labels: dict[str, str] | None) -> dict[str, Any]:
    """NodeWithExtras: the embedded BackendNode fields, then model_count, in_flight_count, labels
    (omitempty: a node without labels has no "labels" key)."""
    loaded = [r for r in st.replicas if r.node_id == n.id and r.state == "loaded"]
    out: dict[str, Any] = {
        "id": n.id, "name": n.name, "node_type": n.node_type, "address": n.address, "http_address": "",
        "status": n.status, "total_vram": n.total_vram, "available_vram": n.available_vram, "reserved_vram": 0,
        "total_ram": 0, "available_ram": 0, "total_disk": 0, "available_disk": 0, "gpu_vendor": "",
        "gpu_compute_capability": "", "max_replicas_per_model": n.max_replicas_per_model,
        "max_replicas_per_model_manually_set": n.max_replicas_per_model_manually_set,
        "vram_budget_manually_set": False, "last_heartbeat": go_time(n.last_heartbeat),
        "created_at": go_time(n.created_at), "updated_at": go_time(n.updated_at),
        "model_count": len(loaded), "in_flight_count": sum(r.in_flight for r in loaded),
    }
    if labels:
        out["labels"] = sorted_map(labels)
    return out


def replica(r: Replica) -> dict[str, Any]:
    """NodeModel (loading_by, backend_type, config_revision, cleanup_* are empty: omitted)."""
    return {"id": r.id, "node_id": r.node_id, "model_name": r.model_name, "replica_index": r.replica_index,
            "address": r.address, "state": r.state, "in_flight": r.in_flight, "last_used": go_time(r.last_used),
            "created_at": go_time(r.created_at), "updated_at": go_time(r.updated_at)}


def row(r: Row) -> dict[str, Any]:
    """ModelSchedulingConfig: node_selector stays the JSON *string*; omitempty drops an empty
    selector, spread_all false, route_policy "", zero thresholds and a nil unsatisfiable_until."""
    out: dict[str, Any] = {"id": r.id, "model_name": r.model_name}
    if r.node_selector:
        out["node_selector"] = r.node_selector
    out |= {"min_replicas": r.min_replicas, "max_replicas": r.max_replicas}
    optional = (("spread_all", r.spread_all), ("route_policy", r.route_policy),
                ("balance_abs_threshold", r.balance_abs_threshold),
                ("balance_rel_threshold", r.balance_rel_threshold), ("min_prefix_match", r.min_prefix_match))
    out |= {k: v for k, v in optional if v}
    if r.unsatisfiable_until is not None:
        out["unsatisfiable_until"] = go_time(r.unsatisfiable_until)
    out |= {"unsatisfiable_ticks": r.unsatisfiable_ticks,
            "created_at": go_time(r.created_at), "updated_at": go_time(r.updated_at)}
    return out
