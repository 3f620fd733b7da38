"""Test-side helpers of LocalAISim: they act behind the API's back as workers (register,
heartbeat, load a replica), as the reconciler (tick) and the health monitor (advance)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tests.localaisim.reconciler import Reconciler
from tests.localaisim.state import STATUSES, State


class Helpers:
    state: State
    reconciler: Reconciler
    auto_approve: bool

    # -- workers -------------------------------------------------------------------------------
    def add_node(self, name: str, labels: dict[str, str] | None = None, status: str = "healthy",
                 max_replicas_per_model: int = 1, *, node_type: str = "backend", available_vram: int = 0) -> str:
        """A worker registers (registry.go Register + ApplyAutoLabels): labels merged, then
        node.name and node.replica-slots; every cooldown is cleared. Returns the node id."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.state.lock:
            node = self.state.register(name, status != "pending", max_replicas_per_model, dict(labels or {}),
                                       node_type=node_type, available_vram=available_vram)
            if status not in ("healthy", "pending"):
                self.set_status(node.id, status)
            return node.id

    def reregister(self, node_id: str, labels: dict[str, str] | None = None) -> None:
        """The worker restarts: same id, replica rows cleared, labels merged, back to healthy
        (pending stays pending unless auto-approve), cooldowns cleared."""
        with self.state.lock:
            node = self.state.nodes[node_id]
            self.state.register(node.name, self.auto_approve, node.max_replicas_per_model, dict(labels or {}))

    def remove_node(self, node_id: str) -> None:
        """Deregister: the node, its labels and its replica rows disappear."""
        with self.state.lock:
            self.state.deregister(node_id)

    def set_status(self, node_id: str, status: str) -> None:
        """offline = MarkOffline and draining = MarkDraining: both delete the node's replica rows.
        offline also stops the worker's heartbeats (else the health monitor would revive it);
        healthy restarts them. Never clears cooldowns (only registration/label/capacity events do)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.state.lock:
            node = self.state.nodes[node_id]
            self.state.set_status(node_id, status)
            if status in ("offline", "healthy"):
                node.heartbeating = status == "healthy"
                node.last_heartbeat = self.state.now if status == "healthy" else node.last_heartbeat

    def set_labels(self, node_id: str, labels: dict[str, str]) -> None:
        """Replace the node's own labels, keeping the automatic node.name / node.replica-slots
        (what a worker restart with new --node-labels gives, minus stale keys). The API's
        PUT /labels is harsher: it drops the automatic labels too. Clears cooldowns."""
        with self.state.lock:
            self.state.set_labels(node_id, labels)
            self.state.apply_auto_labels(self.state.nodes[node_id])

    def stop_heartbeat(self, node_id: str) -> None:
        with self.state.lock:
            self.state.nodes[node_id].heartbeating = False

    def heartbeat(self, node_id: str) -> None:
        """One heartbeat now, and keep heartbeating (registry.go Heartbeat: status untouched)."""
        with self.state.lock:
            node = self.state.nodes[node_id]
            node.last_heartbeat, node.heartbeating = self.state.now, True

    def _worker_alive(self, node_id: str) -> bool:
        node = self.state.nodes.get(node_id)
        return node is not None and node.status != "offline" and node.heartbeating

    # -- replicas ------------------------------------------------------------------------------
    def load_replica(self, node_id: str, model: str, state: str = "loaded", *, replica_index: int | None = None,
                     in_flight: int = 0, last_used: float | None = None) -> int:
        """A replica row as Route()/a worker leaves it, in the lowest free slot (ValueError when
        the node has none) unless replica_index is given. A "loaded" replica also records the
        model's load info, as scheduleAndLoad does, so the reconciler can replicate it."""
        with self.state.lock:
            node = self.state.nodes[node_id]
            index = replica_index if replica_index is not None else self.state.next_free_replica_index(node, model)
            if index is None:
                raise ValueError(f"no free replica slot for {model} on {node.name}")
            self.state.add_replica(node, model, index, state, in_flight, last_used)
            if state == "loaded":
                self.state.load_info.add(model)
            return index

    def mark_served(self, model: str) -> None:
        """The model has ModelLoadInfo (it served a request once), so it can be replicated."""
        with self.state.lock:
            self.state.load_info.add(model)

    def set_in_flight(self, node_id: str, model: str, replica_index: int, in_flight: int) -> None:
        with self.state.lock:
            for r in self.state.replicas:
                if (r.node_id, r.model_name, r.replica_index) == (node_id, model, replica_index):
                    r.in_flight = in_flight

    def touch(self, node_id: str, model: str, replica_index: int = 0) -> None:
        """TouchNodeModel: a request used the replica now (resets its idle time)."""
        with self.state.lock:
            for r in self.state.replicas:
                if (r.node_id, r.model_name, r.replica_index) == (node_id, model, replica_index):
                    r.last_used = self.state.now

    def replicas(self, model: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            rows = [asdict(r) for r in self.state.replicas if model is None or r.model_name == model]
            return sorted(rows, key=lambda r: (r["model_name"], r["replica_index"], r["created_at"]))

    def fail_loads(self, model: str, times: int = 1, error: str = "rpc error: code = Unavailable") -> None:
        """The next `times` loads of `model` by the reconciler fail with `error`."""
        with self.state.lock:
            self.reconciler.load_failures.setdefault(model, []).extend([error] * times)

    # -- reconciler, health monitor, clock -------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """One reconciler pass; `now` first sets the sim clock (epoch seconds)."""
        with self.state.lock:
            if now is not None:
                self.state.now = now
            self.reconciler.tick()

    def advance(self, seconds: float) -> None:
        """Move the clock; live workers heartbeat meanwhile; then one health-monitor pass."""
        with self.state.lock:
            self.state.now += seconds
            for node in self.state.nodes.values():
                if node.heartbeating:
                    node.last_heartbeat = self.state.now
            self.reconciler.health_check()

    def health_check(self) -> None:
        self.reconciler.health_check()

    @property
    def now(self) -> float:
        return self.state.now

    @property
    def log(self) -> list[dict[str, str]]:
        """Reconciler messages LocalAI only logs (e.g. "no load info for model ...")."""
        with self.state.lock:
            return list(self.reconciler.log)
