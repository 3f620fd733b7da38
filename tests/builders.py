"""Small builders for tests: `node(...)`, `entry(...)`, `observed(...)`."""

from __future__ import annotations

from typing import Any

from modelsched.model.cluster import Node, Observed, Replica
from modelsched.model.entry import Desired, Entry


def node(name: str, status: str = "ready", eligible: bool = True, **labels: str) -> Node:
    return Node(id=name, name=name, labels=labels, status=status, eligible=eligible)


def entry(name: str, selector: dict[str, str] | None = None, **kw: Any) -> Entry:
    return Entry(model_name=name, node_selector=selector or {}, **kw)


def spread(name: str, **selector: str) -> Entry:
    return entry(name, selector, spread=True)


def bounded(name: str, lo: int = 0, hi: int = 0, **selector: str) -> Entry:
    return entry(name, selector, min_replicas=lo, max_replicas=hi)


def desired(*entries: Entry) -> Desired:
    return Desired(entries=tuple(entries))


def observed(nodes: list[Node], replicas: list[tuple[str, str]] = (), **kw: Any) -> Observed:  # type: ignore[assignment]
    return Observed.from_replicas(nodes, (Replica(m, n) for m, n in replicas), "sha256:test", **kw)
