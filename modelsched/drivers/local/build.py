"""Parsed state values -> validated nodes, replicas grouped by model, and notices (pure).

Shared by every reader: the general readers pass the whole parsed document
(`build_state`); the fast readers group replicas themselves and pass raw nodes to
`build_nodes` and their groups to `finish`. Duplicate node names and replicas on
unknown nodes are notices (the plan shows them), not errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelsched.drivers.local import rules
from modelsched.errors import StateError
from modelsched.model.cluster import Node, Notice

State = tuple[list[Node], dict[str, list[str]], list[Notice]]


def _compact_names(nodes: list[Node], names: Mapping[str, str]) -> list[Node]:
    """The same nodes, named by the name objects the replicas use (`names`), else by
    fresh copies of their names allocated back to back.

    Every replica lookup (here and in the planner) reads one node name object: one
    object per name means the planner's set lookups end at an identity check, and a
    compact block of copies stays in the CPU caches, where names left scattered
    through the parsed document would not.
    """
    copies = [names.get(n.id) or (n.id + "\0")[:-1] for n in nodes]
    return [Node(c, c, n.labels, n.status, n.eligible, slots=n.slots) for c, n in zip(copies, nodes, strict=True)]


def build_nodes(
    raw_nodes: Any, source: str, names: Mapping[str, str], scalars_are_text: bool
) -> tuple[list[Node], dict[str, str], list[Notice]]:
    """Validated nodes (the first definition of a name wins), {name: name object}, notices."""
    if not isinstance(raw_nodes, list):
        raise StateError(f"cluster state {source}: nodes must be a list")
    notices: list[Notice] = []
    nodes: list[Node] = []
    first_at: dict[str, int] = {}
    for i, raw in enumerate(raw_nodes):
        node = rules.node(raw, f"cluster state {source}: nodes[{i}]", scalars_are_text)
        if node.id in first_at:
            notices.append(
                Notice(
                    "error",
                    f"cluster state {source}: node {node.name!r} is defined twice "
                    f"(nodes[{first_at[node.id]}] and nodes[{i}]); the first definition is used",
                )
            )
            continue
        first_at[node.id] = i
        nodes.append(node)
    nodes = _compact_names(nodes, names)
    return nodes, {n.id: n.id for n in nodes}, notices


def group_replicas(raw_replicas: list[Any], known: Mapping[str, str], source: str) -> dict[str, list[str]]:
    """Validate `[{model, node}, ...]` and group node names by model, in file order.

    Node names become the node's own name object (`known`), so the planner's set
    lookups hit the identity fast path and the parser's copies can be freed.
    """
    grouped: dict[str, list[str]] = {}
    get = grouped.get
    canonical = known.get
    for i, raw in enumerate(raw_replicas):
        if type(raw) is dict and len(raw) == 2:
            model = raw.get("model")
            node = raw.get("node")
            if type(model) is str and type(node) is str and model and node:
                node = canonical(node) or node
                group = get(model)
                if group is None:
                    grouped[model] = [node]
                else:
                    group.append(node)
                continue
        raise rules.replica_shape_error(raw, f"cluster state {source}: replicas[{i}]")
    return grouped


def finish(
    nodes: list[Node],
    known: Mapping[str, str],
    notices: list[Notice],
    replicas: dict[str, list[str]],
    pairs: Iterable[tuple[str, str]],
    source: str,
) -> State:
    """Refuse control characters in replica names (each distinct name checked once; `pairs`
    is walked only to locate a bad one), then add a warning per (model, unknown node)."""
    used: set[str] = set().union(*replicas.values()) if replicas else set()
    if rules.has_control(replicas) or rules.has_control(used):
        for i, (model, node) in enumerate(pairs):
            rules.check_replica(model, node, f"cluster state {source}: replicas[{i}]")
    warnings: list[Notice] = []
    if not used.issubset(known):
        warnings = [
            Notice("warning", f"cluster state {source}: a replica of {model!r} names unknown node {name!r}", model)
            for model in sorted(replicas)
            for name in sorted(set(replicas[model]).difference(known))
        ]
    return nodes, replicas, notices + warnings


def build_state(doc: dict[str, Any], source: str, scalars_are_text: bool) -> State:
    """Validate a whole parsed document (a mapping with at most `nodes` and `replicas`)."""
    raw_nodes = doc.get("nodes") or []
    raw_replicas = doc.get("replicas") or []
    if not isinstance(raw_nodes, list):
        raise StateError(f"cluster state {source}: nodes must be a list")
    if not isinstance(raw_replicas, list):
        raise StateError(f"cluster state {source}: replicas must be a list")
    nodes, known, notices = build_nodes(raw_nodes, source, {}, scalars_are_text)
    replicas = group_replicas(raw_replicas, known, source)
    pairs = ((r["model"], r["node"]) for r in raw_replicas)
    return finish(nodes, known, notices, replicas, pairs, source)


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateError(f"cluster state {source}: not UTF-8 text (byte {exc.start})") from None


def check_root(doc: Any, source: str) -> dict[str, Any]:
    """The document's root: empty -> {}; anything but a mapping of nodes/replicas is refused."""
    if doc is None or doc == "":
        return {}
    if not isinstance(doc, dict):
        raise StateError(f"cluster state {source}: the document must be a mapping with nodes: and replicas:")
    unknown = sorted(set(doc) - {"nodes", "replicas"}, key=str)
    if unknown:
        raise StateError(
            f"cluster state {source}: unknown top-level key {rules.shown(unknown[0])} (expected nodes, replicas)"
        )
    return doc
