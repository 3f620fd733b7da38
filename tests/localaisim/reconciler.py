"""One ReplicaReconciler pass (core/services/nodes/reconciler.go: reconcile, reconcileModel,
markCapacityProblem, scaleUp, scaleDownIdle), the placement it delegates to
(router.go: ScheduleAndLoadModel, scheduleNewModel) and the health monitor (health.go:
doCheckAll). Deterministic: rows in model_name order, ties broken by node creation order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tests.localaisim.state import Node, Row, State

UNSATISFIABLE_TICK_THRESHOLD = 3  # reconciler.go unsatisfiableTickThreshold
UNSATISFIABLE_COOLDOWN = 300.0  # reconciler.go unsatisfiableCooldown (5 min)
SCALE_DOWN_DELAY = 300.0  # NewReplicaReconciler default scaleDownDelay (5 min)
STALE_THRESHOLD = 60.0  # NewHealthMonitor default staleThreshold
RECONCILE_INTERVAL = 30.0  # NewReplicaReconciler default interval (informative: tick() is manual)


@dataclass
class Reconciler:
    state: State
    log: list[dict[str, str]] = field(default_factory=list)  # what LocalAI would only write to its log
    load_failures: dict[str, list[str]] = field(default_factory=dict)  # model -> queued load errors

    def _say(self, model: str, message: str, error: str = "") -> None:
        self.log.append({"model": model, "message": message, "error": error})

    # -- reconcile / reconcileModel -------------------------------------------------------------
    def tick(self) -> None:
        with self.state.lock:
            rows = [r for r in sorted(self.state.rows.values(), key=lambda r: r.model_name)
                    if r.min_replicas > 0 or r.max_replicas > 0 or r.spread_all]  # ListAutoScalingConfigs
            for row in rows:
                self._reconcile_model(row)

    def _reconcile_model(self, row: Row) -> None:
        st, model = self.state, row.model_name
        min_r, max_r = row.min_replicas, row.max_replicas
        if row.spread_all:  # dynamic Min == Max == matching healthy backend nodes
            matched = st.find_nodes_by_selector(parse_selector(row.node_selector))
            if not matched:
                self._say(model, "Reconciler: spread_all has no matching nodes; nothing to schedule")
                return
            min_r = max_r = len(matched)
        if row.unsatisfiable_until is not None and row.unsatisfiable_until > st.now:
            return  # cooldown gate: skips scale-down too
        current = st.count_loaded(model)
        if min_r > 0 and current < min_r:
            candidates = self._candidates(row)
            if candidates is None:
                self._say(model, "Reconciler: no nodes match selector")
                self._mark_capacity_problem(row, "no nodes match selector")
                return
            capacity = self._capacity(model, candidates)
            if capacity == 0:
                self._mark_capacity_problem(row, "cluster capacity exhausted")
                return
            if self._scale_up(row, min(min_r - current, capacity)):
                row.unsatisfiable_until, row.unsatisfiable_ticks = None, 0  # ClearUnsatisfiable
            return
        scaled_up = False
        if current > 0 and (max_r == 0 or current < max_r) and self._all_busy(model):
            candidates = self._candidates(row)  # busy-burst: no room -> return, but no cooldown
            if candidates is None or self._capacity(model, candidates) == 0:
                return
            scaled_up = self._scale_up(row, 1)
        if not scaled_up and current > max(min_r, 1):
            self._scale_down_idle(model, current, max(min_r, 1))

    def _candidates(self, row: Row) -> list[Node] | None:
        """candidateNodeIDsForSelector: empty selector -> every healthy backend node;
        a selector matching nothing -> None (skip)."""
        selector = parse_selector(row.node_selector)
        nodes = self.state.find_nodes_by_selector(selector)
        return None if selector and not nodes else nodes

    def _capacity(self, model: str, candidates: list[Node]) -> int:
        """ClusterCapacityForModel: sum of free slots (max_replicas_per_model - non-unloading rows)."""
        return sum(max(n.max_replicas_per_model - self.state.slots_used(n.id, model), 0) for n in candidates)

    def _all_busy(self, model: str) -> bool:
        return not any(r.model_name == model and r.state == "loaded" and r.in_flight == 0
                       for r in self.state.replicas)

    def _mark_capacity_problem(self, row: Row, reason: str) -> None:
        row.unsatisfiable_ticks += 1  # never reset by the cooldown expiring, only by a scale-up
        if row.unsatisfiable_ticks >= UNSATISFIABLE_TICK_THRESHOLD:
            row.unsatisfiable_until = self.state.now + UNSATISFIABLE_COOLDOWN
            self._say(row.model_name, "Reconciler: scheduling unsatisfiable, entering cooldown", reason)

    def _scale_up(self, row: Row, count: int) -> bool:
        scheduled = 0
        for attempt in range(count):
            error = self.schedule_and_load(row.model_name)
            if error:
                self._say(row.model_name, f"Reconciler: failed to scale up replica (attempt {attempt + 1})", error)
                break  # stop trying on first failure
            scheduled += 1
        return scheduled > 0

    def _scale_down_idle(self, model: str, current: int, floor: int) -> None:
        """Idle = loaded, in_flight 0, last_used older than 5 min; replica_index DESC, last_used
        ASC; no selector and no node-status filter."""
        cutoff = self.state.now - SCALE_DOWN_DELAY
        idle = [r for r in self.state.replicas
                if r.model_name == model and r.state == "loaded" and r.in_flight == 0 and r.last_used < cutoff]
        idle.sort(key=lambda r: (-r.replica_index, r.last_used))
        for replica in idle[: current - floor]:
            self.state.replicas.remove(replica)
            self._say(model, f"Reconciler: scaled down idle replica (node {replica.node_id})")

    # -- router.go: ScheduleAndLoadModel -> scheduleAndLoad -> scheduleNewModel --------------
    def schedule_and_load(self, model: str) -> str:
        """Place and load one replica; returns "" or the error text LocalAI would log."""
        st = self.state
        if model not in st.load_info:
            return (f"no load info for model {model}: serve at least one request for it before the "
                    "reconciler can replicate (cause: record not found)")
        row = st.rows.get(model)
        selector = parse_selector(row.node_selector if row else "")
        candidates = st.find_nodes_by_selector(selector)  # resolveSelectorCandidates
        if selector and not candidates:
            return (f"no available nodes: no healthy nodes match selector for model {model}: "
                    f"{row.node_selector if row else ''}")
        free = [n for n in candidates if st.slots_used(n.id, model) < n.max_replicas_per_model]
        pool = free or candidates
        idle = [n for n in pool if not st.has_loaded(n.id)]  # FindIdleNode(FromSet)
        if idle:
            node = sorted(idle, key=lambda n: -n.available_vram)[0]
        elif pool:  # FindLeastLoadedNode(FromSet)
            node = sorted(pool, key=lambda n: (st.node_load(n.id), -n.available_vram))[0]
        else:
            return "no available nodes: no healthy nodes available and eviction failed (eviction not modelled)"
        index = st.next_free_replica_index(node, model)
        if index is None:
            return f"no available nodes: no replica slot on {node.name} (eviction not modelled)"
        queued = self.load_failures.get(model)
        if queued:
            return f"loading model {model} on node {node.name}: {queued.pop(0)}"
        st.add_replica(node, model, index, "loaded")  # staging -> loading -> loaded, within the tick
        self._say(model, f"Reconciler: scaled up replica (node {node.name})")
        return ""

    # -- health.go: HealthMonitor.doCheckAll ----------------------------------------------------
    def health_check(self) -> None:
        st = self.state
        with st.lock:
            for node in list(st.nodes.values()):
                if node.status == "draining":
                    continue  # draining nodes are never checked
                if st.now - node.last_heartbeat > STALE_THRESHOLD:
                    if node.status not in ("offline", "unhealthy"):
                        st.set_status(node.id, "offline")  # MarkOffline deletes its replica rows
                    continue
                if node.status in ("unhealthy", "offline"):
                    st.set_status(node.id, "healthy")  # "Node recovered"; no cooldown clearing


def parse_selector(selector_json: str) -> dict[str, str]:
    """reconciler.go parseSelector: "" or undecodable JSON -> no selector."""
    if not selector_json:
        return {}
    try:
        value = json.loads(selector_json)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
