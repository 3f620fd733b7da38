"""LocalAI's JSON answers -> the driver's typed records (`data`), checked field by field.

LocalAI's quirks live here: a row's `node_selector` is a JSON-encoded string (an object
is accepted too), omitted when empty, like `spread_all` when false and the routing fields
when zero; `max_replicas_per_model` 0 means the default 1; only replicas in state
`loaded` count. An answer of the wrong shape is a DriverError naming the item, never
read as "nothing there" (that would plan additions or removals). No I/O here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from modelsched.drivers.localai.data import LiveNode, LiveReplica, LiveRow, RowSpec
from modelsched.errors import DriverError

T = TypeVar("T")


def _field(item: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = item.get(key, default)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key} is {type(value).__name__}, expected {kind.__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key} is not a finite number")
    return value


def _str_map(value: Any, key: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # LocalAI stores and returns the selector as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{key} is not JSON text") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{key} is not a map of strings")
    return dict(value)


def _each(address: str, what: str, items: list[Any], build: Callable[[dict[str, Any]], T]) -> list[T]:
    out: list[T] = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            out.append(build(item))
        except (ValueError, TypeError, ValidationError) as exc:
            why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise DriverError(
                f"LocalAI at {address}: {what} item {i} is not what LocalAI answers ({why}); "
                "check LOCALAI_ADDR points at a LocalAI frontend"
            ) from None
    return out


def _node(item: dict[str, Any]) -> LiveNode:
    slots = _field(item, "max_replicas_per_model", int, 1)
    return LiveNode(
        id=_field(item, "id", str, ""),
        name=_field(item, "name", str, ""),
        status=_field(item, "status", str, ""),
        labels=_str_map(item.get("labels"), "labels"),
        slots=max(1, slots),  # 0 = unset: LocalAI's default is 1
        node_type=_field(item, "node_type", str, ""),
        model_count=_field(item, "model_count", int, 0),
    )


def _replica(item: dict[str, Any]) -> LiveReplica | None:
    if _field(item, "state", str, "") != "loaded":
        return None  # only loaded replicas count (registry.go CountLoadedReplicas)
    return LiveReplica(
        model=_field(item, "model_name", str, ""),
        node_id=_field(item, "node_id", str, ""),
        replica_index=_field(item, "replica_index", int, 0),
    )


def _row(item: dict[str, Any]) -> LiveRow:
    spec = RowSpec(
        model_name=_field(item, "model_name", str, ""),
        node_selector=_str_map(item.get("node_selector"), "node_selector"),
        min_replicas=_field(item, "min_replicas", int, 0),
        max_replicas=_field(item, "max_replicas", int, 0),
        spread_all=_field(item, "spread_all", bool, False),
        route_policy=_field(item, "route_policy", str, ""),
        balance_abs_threshold=_field(item, "balance_abs_threshold", int, 0),
        balance_rel_threshold=_field(item, "balance_rel_threshold", float, 0.0),
        min_prefix_match=_field(item, "min_prefix_match", float, 0.0),
    )
    until = _field(item, "unsatisfiable_until", str, "") or None
    ticks = _field(item, "unsatisfiable_ticks", int, 0)
    return LiveRow(spec=spec, unsatisfiable_until=until, unsatisfiable_ticks=ticks)


def nodes(address: str, items: list[Any]) -> list[LiveNode]:
    got = _each(address, "node list", items, _node)
    seen: set[str] = set()
    for n in got:
        if n.id in seen:
            raise DriverError(f"LocalAI at {address}: the node list holds node ID {n.id} twice")
        seen.add(n.id)
    return got


def replicas(address: str, items: list[Any]) -> list[LiveReplica]:
    return [r for r in _each(address, "loaded model list", items, _replica) if r is not None]


def rows(address: str, items: list[Any]) -> list[LiveRow]:
    got = _each(address, "scheduling row list", items, _row)
    seen: set[str] = set()
    for r in got:
        if r.spec.model_name in seen:
            raise DriverError(f"LocalAI at {address}: the scheduling rows hold model {r.spec.model_name} twice")
        seen.add(r.spec.model_name)
    return got
