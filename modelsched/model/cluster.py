"""Observed cluster state: nodes, replicas and a fingerprint, as drivers report them.

Plain frozen dataclasses rather than pydantic models: a large cluster has ~10^5
replicas and the planner must stay within a small multiple of `json.load` time.
Drivers validate their raw input before building these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

NODE_STATUSES = ("ready", "down", "draining", "initializing", "disconnected")


@dataclass(frozen=True, slots=True)
class Node:
    """A cluster node. `id` is the identity replicas refer to (the name, for the local driver;
    the node ID for Nomad, whose node names need not be unique)."""

    id: str
    name: str
    labels: Mapping[str, str]
    status: str = "ready"
    eligible: bool = True
    draining: bool = False
    # How many replicas of one model the node may hold (LocalAI's max_replicas_per_model;
    # the local state file's `slots`). Nomad stays 1 (distinct_hosts).
    slots: int = 1

    @property
    def healthy(self) -> bool:
        return self.status == "ready" and self.eligible and not self.draining


@dataclass(frozen=True, slots=True)
class Replica:
    """One running (or starting) replica of a model on a node (`node` is a `Node.id`).
    `id` is the backend's handle (a Nomad allocation ID), empty for the local driver.
    Backends that think in replicas build `Observed` with `Observed.from_replicas`."""

    model: str
    node: str
    id: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the driver saw and the user must hear about (e.g. a job we do not own)."""

    level: Literal["warning", "error"]
    message: str
    model: str | None = None


@dataclass(frozen=True)
class Observed:
    """What a driver observed.

    `replicas` maps each model the driver manages to the node IDs of its replicas, one
    item per replica, in observed order (so `--prune` can never touch anything else).
    Grouped, not a flat list of objects: a large cluster has ~10^5 replicas and the
    planner must stay within a small multiple of `json.load` time. `replica_ids` may
    carry the backend's handles in the same order (Nomad allocation IDs).
    `blocked` maps a model to the reason the driver will not manage it (e.g. its job
    belongs to someone else): the planner leaves it alone and reports the reason.
    `scopes` maps a model to the node IDs its replicas can run on at all, when the
    backend narrows that beyond the selector (a Nomad job's node pool and datacenters):
    the planner matches only those nodes. A model not in it may run on any node.
    `private` is the driver's own typed data from observe (Terraform's `Private`): only
    the driver that made it reads it, in `prepare`; the planner and the workflow never do.
    """

    nodes: tuple[Node, ...]
    replicas: Mapping[str, Sequence[str]]
    fingerprint: str
    blocked: Mapping[str, str] = field(default_factory=dict)
    notices: tuple[Notice, ...] = ()
    replica_ids: Mapping[str, Sequence[str]] = field(default_factory=dict)
    scopes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    private: object = None

    @classmethod
    def from_replicas(
        cls,
        nodes: Iterable[Node],
        replicas: Iterable[Replica],
        fingerprint: str,
        *,
        blocked: Mapping[str, str] | None = None,
        notices: Iterable[Notice] = (),
        scopes: Mapping[str, frozenset[str]] | None = None,
        private: object = None,
    ) -> Observed:
        by_model: dict[str, list[str]] = {}
        ids: dict[str, list[str]] = {}
        for r in replicas:
            by_model.setdefault(r.model, []).append(r.node)
            ids.setdefault(r.model, []).append(r.id)
        return cls(
            nodes=tuple(nodes),
            replicas=by_model,
            fingerprint=fingerprint,
            blocked=dict(blocked or {}),
            notices=tuple(notices),
            replica_ids=ids,
            scopes=dict(scopes or {}),
            private=private,
        )
