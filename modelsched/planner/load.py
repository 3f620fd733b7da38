"""Node load for one planning run: replicas the plan keeps of every model, plus the
additions (and less the removals) already planned.

Load is only needed when a bounded model adds or removes, which a steady cluster never
does, so this keeps what the load is made of and counts it on first use. A selector's
matching set kept by k models counts k per node in one pass over the set, not one pass
per model; what those models lack comes off after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any


class LoadCounter:
    """Lazy per-node load. `keep` (pass 1 only) records kept replicas; `shift` records
    planned additions and removals; `load` counts it all once, then stays live."""

    def __init__(self, node_ids: Iterable[str]) -> None:
        self._node_ids = node_ids
        # (items, lacking): the items' nodes less the lacking ones each keep one replica.
        self._kept: list[tuple[Collection[str], Collection[str]]] = []
        self._delta: Counter[str] = Counter()
        self._load: Counter[str] | None = None

    def keep(self, node_ids: Collection[str], within: frozenset[str] = frozenset()) -> int:
        """Count replicas the plan keeps (one per item; an ID may repeat) towards their
        nodes' load; return the slot `fill` takes to widen them. `within` is a set the
        items are drawn from (no repeats then): when they are most of it, they are held
        as that shared set less the few not kept."""
        assert self._load is None, "keep() after load was counted"
        if within and len(node_ids) * 2 > len(within):
            self._kept.append((within, within.difference(node_ids)))
        else:
            self._kept.append((node_ids, ()))
        return len(self._kept) - 1

    def fill(self, slot: int, node_ids: frozenset[str], added: Collection[str]) -> None:
        """A spread model's kept replicas (`slot`) plus its planned `added` are exactly
        `node_ids`, its matching set: while load is not counted yet, the slot becomes it."""
        if self._load is None:
            self._kept[slot] = (node_ids, ())
        else:
            self._load.update(added)

    def shift(self, node_ids: Collection[str], by: int) -> None:
        """Planned additions (+1) or removals (-1) change the load seen by later models."""
        target = self._delta if self._load is None else self._load
        if by > 0:
            target.update(node_ids)
        else:
            target.subtract(node_ids)

    @property
    def load(self) -> Counter[str]:
        if self._load is None:
            # Every known node starts at 0, so lookups are plain dict reads (no __missing__).
            load: Counter[str] = Counter(dict.fromkeys(self._node_ids, 0))
            times: dict[int, list[Any]] = {}
            for nodes, lacking in self._kept:
                seen = times.get(id(nodes))
                if seen is None:
                    times[id(nodes)] = [nodes, 1]
                else:
                    seen[1] += 1
                if lacking:
                    load.subtract(lacking)
            for nodes, k in times.values():
                if k == 1:
                    load.update(nodes)  # a Counter counts repeated IDs
                else:
                    for node_id in nodes:
                        load[node_id] += k
            load.update(self._delta)  # a Counter adds (and subtracts) its counts
            self._load, self._kept = load, []
        return self._load
