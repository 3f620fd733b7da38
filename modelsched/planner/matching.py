"""Which nodes a selector matches: an index from label pairs to healthy node IDs.

Built once per plan and memoised per distinct selector, so a cluster of thousands
of nodes and hundreds of models costs one pass over the nodes plus one set
intersection per distinct selector, not nodes x models label checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from modelsched.model.cluster import Node


class NodeIndex:
    def __init__(self, nodes: Iterable[Node]) -> None:
        self.by_id: dict[str, Node] = {}
        self.name_of: dict[str, str] = {}
        self.healthy: set[str] = set()  # read-only outside this class
        # Replicas of one model a node may hold; only nodes with more than one are listed.
        self.extra_slots: dict[str, int] = {}
        self._by_pair: dict[tuple[str, str], set[str]] = {}
        self._memo: dict[tuple[tuple[tuple[str, str], ...], frozenset[str] | None], frozenset[str]] = {}
        for node in nodes:
            if node.id in self.by_id:
                # Drivers report duplicate IDs as diagnostics; the first definition wins.
                continue
            self.by_id[node.id] = node
            self.name_of[node.id] = node.name
            if node.slots != 1:
                self.extra_slots[node.id] = node.slots
            if node.healthy:
                self.healthy.add(node.id)
                for pair in node.labels.items():
                    self._by_pair.setdefault(pair, set()).add(node.id)

    @property
    def multi_slot(self) -> bool:
        """Some node may hold more than one replica of a model."""
        return bool(self.extra_slots)

    def slots(self, node_id: str) -> int:
        return self.extra_slots.get(node_id, 1)

    def matching(self, selector: Mapping[str, str], scope: frozenset[str] | None = None) -> frozenset[str]:
        """Healthy nodes carrying every selector pair, within `scope` when the driver gives
        one (Observed.scopes): one shared set per distinct (selector, scope).

        Unordered: every planning step that picks among nodes ranks them itself (by load,
        name and ID), and the plan is sorted at the end."""
        key = (tuple(sorted(selector.items())), scope)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        ids = set(self.healthy) if scope is None else self.healthy & scope
        for pair in key[0]:
            ids &= self._by_pair.get(pair, set())
            if not ids:
                break
        result = frozenset(ids)
        self._memo[key] = result
        return result


def selector_text(selector: Mapping[str, str]) -> str:
    """`{tier=gpu, zone=a}`, or `{} (every node)`, for diagnostics."""
    if not selector:
        return "{} (every node)"
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) + "}"
