"""Scheduling rows: POST /api/nodes/scheduling (endpoints/localai/nodes.go SetSchedulingEndpoint,
validateSchedulingRequest; prefixcache/config.go ValidateThresholds) and the boot seed
(scheduling_seed.go ParseSchedulingSeed / ValidateSeedEntry; registry.go SeedModelScheduling)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.localaisim.golang import go_marshal, sorted_map
from tests.localaisim.state import Row, State

REQUEST_FIELDS = {  # SetSchedulingRequest json tags; the four routing fields are pointers
    "model_name": "str", "node_selector": "map", "min_replicas": "int", "max_replicas": "int",
    "spread_all": "bool", "route_policy": "*str", "balance_abs_threshold": "*int",
    "balance_rel_threshold": "*float", "min_prefix_match": "*float",
}


def _gofmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def validate_thresholds(policy: str, abs_thr: int, rel_thr: float, min_match: float) -> str:
    if policy not in ("", "round_robin", "prefix_cache"):
        return ('prefixcache: route_policy must be one of "", "round_robin", "prefix_cache", '
                f"got {json.dumps(policy)}")
    if min_match < 0 or min_match > 1:
        return f"prefixcache: min_prefix_match must be in [0,1], got {_gofmt(min_match)}"
    if abs_thr < 0:
        return f"prefixcache: balance_abs_threshold must be >= 0, got {abs_thr}"
    if rel_thr != 0 and rel_thr < 1:
        return f"prefixcache: balance_rel_threshold must be 0 (inherit) or >= 1, got {_gofmt(rel_thr)}"
    return ""


def validate_request(req: dict[str, Any], routing: tuple[str, int, float, float]) -> str:
    name, lo, hi, spread = req.get("model_name", ""), req.get("min_replicas", 0), req.get("max_replicas", 0), \
        req.get("spread_all", False)
    if name == "":
        return "model_name is required"
    if spread and (lo != 0 or hi != 0):
        return "spread_all and min_replicas/max_replicas are mutually exclusive"
    if lo < 0:
        return "min_replicas must be >= 0"
    if hi < 0:
        return "max_replicas must be >= 0"
    if hi > 0 and lo > hi:
        return "min_replicas must be <= max_replicas"
    return validate_thresholds(*routing)


def set_scheduling(st: State, req: dict[str, Any]) -> tuple[int, dict[str, Any] | Row]:
    """Returns (400, message-dict) or (200, the Row *built*): a fresh uuid id and the request's
    values, even when the upsert kept the stored row's id, created_at and unsatisfiable_*."""
    existing = st.rows.get(req.get("model_name", ""))
    routing: list[Any] = [existing.route_policy, existing.balance_abs_threshold, existing.balance_rel_threshold,
                          existing.min_prefix_match] if existing else ["", 0, 0.0, 0.0]
    for i, key in enumerate(("route_policy", "balance_abs_threshold", "balance_rel_threshold", "min_prefix_match")):
        if req.get(key) is not None:  # a provided pointer wins; omitted keeps the stored value
            routing[i] = req[key]
    policy, abs_thr, rel_thr, min_match = str(routing[0]), int(routing[1]), float(routing[2]), float(routing[3])
    error = validate_request(req, (policy, abs_thr, rel_thr, min_match))
    if error:
        return 400, {"message": error}
    selector = req.get("node_selector") or {}
    built = Row(id=str(uuid.uuid4()), model_name=req["model_name"],
                node_selector=go_marshal(sorted_map(selector)) if selector else "",
                min_replicas=req.get("min_replicas", 0), max_replicas=req.get("max_replicas", 0),
                spread_all=req.get("spread_all", False), route_policy=policy, balance_abs_threshold=abs_thr,
                balance_rel_threshold=rel_thr, min_prefix_match=min_match, created_at=st.now, updated_at=st.now)
    st.upsert_row(built)
    return 200, built


def _replicas_alias(value: Any, model: str) -> bool:
    """ReplicasSpec.set: "all"/true spread; ""/"auto"/false/null don't; anything else fails."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("all", "", "auto"):
            return word == "all"
        raise ValueError(f'invalid replicas value "{value}" (expected "all" or "auto")')
    raise ValueError(f"invalid replicas value {value} (use min_replicas/max_replicas for a fixed count, "
                     'or "all" to spread)')


def seed(st: State, entries: list[dict[str, Any]]) -> None:
    """LOCALAI_MODEL_SCHEDULING at boot: validate every entry first (a bad one fails the boot:
    ValueError), then upsert each with full replace of the eight columns (routing fields
    included: no merge, unlike the API). Models not listed are untouched."""
    rows = []
    for e in entries:
        name, lo, hi = e.get("model_name", ""), int(e.get("min_replicas", 0)), int(e.get("max_replicas", 0))
        spread = bool(e.get("spread_all", False)) or _replicas_alias(e.get("replicas"), name)
        policy, abs_thr = str(e.get("route_policy", "")), int(e.get("balance_abs_threshold", 0))
        rel_thr, min_match = float(e.get("balance_rel_threshold", 0)), float(e.get("min_prefix_match", 0))
        if name == "":
            raise ValueError("model_name is required")
        for bad, text in ((lo < 0, "min_replicas must be >= 0"), (hi < 0, "max_replicas must be >= 0"),
                          (spread and (lo or hi), "spread (replicas: all) and min_replicas/max_replicas are "
                                                  "mutually exclusive"),
                          (hi > 0 and lo > hi, "min_replicas must be <= max_replicas")):
            if bad:
                raise ValueError(f"{text} (model {json.dumps(name)})")
        error = validate_thresholds(policy, abs_thr, rel_thr, min_match)
        if error:
            raise ValueError(f"{error} (model {json.dumps(name)})")
        selector = e.get("node_selector") or {}
        rows.append(Row(id=str(uuid.uuid4()), model_name=name,
                        node_selector=go_marshal(sorted_map(selector)) if selector else "",
                        min_replicas=lo, max_replicas=hi, spread_all=spread, route_policy=policy,
                        balance_abs_threshold=abs_thr, balance_rel_threshold=rel_thr, min_prefix_match=min_match,
                        created_at=st.now, updated_at=st.now))
    with st.lock:
        for built in rows:
            st.upsert_row(built)
