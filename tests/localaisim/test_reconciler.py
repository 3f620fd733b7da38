"""Reconciler (reconciler.go), placement (router.go), health (health.go) and the seed
(scheduling_seed.go), driven through the sim's helpers and read back over HTTP."""

from __future__ import annotations

import pytest
import requests

from tests.localaisim import LocalAISim
from tests.localaisim.fixtures import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def row(sim: LocalAISim, model: str, **body: object) -> None:
    reply = requests.post(sim.address + "/api/nodes/scheduling", headers=ADMIN, json={"model_name": model, **body},
                          timeout=2)
    assert reply.status_code == 200, reply.text


def placed(sim: LocalAISim, model: str) -> list[tuple[str, int]]:
    names = {n["id"]: n["name"] for n in requests.get(sim.address + "/api/nodes", headers=ADMIN, timeout=2).json()}
    return sorted((names.get(r["node_id"], "?"), r["replica_index"]) for r in sim.replicas(model))


def stored(sim: LocalAISim, model: str) -> dict[str, object]:
    return next(r for r in sim.rows() if r["model_name"] == model)


def test_min_replicas_adds_on_matching_healthy_nodes_with_free_slots(localai_sim: LocalAISim) -> None:
    """reconcileModel step 1 + router.go scheduleNewModel: selector, free slot, idle first."""
    for name, tier in (("a", "gpu"), ("b", "cpu"), ("c", "gpu")):
        localai_sim.add_node(name, {"tier": tier})
    localai_sim.mark_served("m")
    row(localai_sim, "m", node_selector={"tier": "gpu"}, min_replicas=3)
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("a", 0), ("c", 0)]  # capped at capacity 2
    assert stored(localai_sim, "m")["unsatisfiable_ticks"] == 0


def test_slots_stack_up_to_max_replicas_per_model_least_loaded_first(localai_sim: LocalAISim) -> None:
    """FindNodesWithFreeSlot + NextFreeReplicaIndex (lowest free index) + FindLeastLoadedNode."""
    a = localai_sim.add_node("a", max_replicas_per_model=2)
    b = localai_sim.add_node("b", max_replicas_per_model=2)
    localai_sim.load_replica(a, "other", in_flight=5)
    localai_sim.load_replica(b, "other", in_flight=1)
    localai_sim.mark_served("m")
    row(localai_sim, "m", min_replicas=3)
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("a", 0), ("b", 0), ("b", 1)]


def test_never_served_model_is_not_replicated_and_only_the_log_says_why(localai_sim: LocalAISim) -> None:
    """router.go ScheduleAndLoadModel: no ModelLoadInfo -> error; scaleUp logs and stops; the
    row's unsatisfiable_* stay untouched (only a capacity problem counts)."""
    localai_sim.add_node("a")
    row(localai_sim, "m", min_replicas=1)
    for _ in range(4):
        localai_sim.tick()
    assert localai_sim.replicas("m") == []
    assert stored(localai_sim, "m")["unsatisfiable_ticks"] == 0
    assert localai_sim.log[-1]["error"].startswith(
        "no load info for model m: serve at least one request for it before the reconciler can replicate")


def test_scale_up_stops_at_first_error(localai_sim: LocalAISim) -> None:
    """reconciler.go scaleUp: `break // stop trying on first failure`."""
    for name in "abc":
        localai_sim.add_node(name)
    localai_sim.mark_served("m")
    localai_sim.fail_loads("m", times=1)
    row(localai_sim, "m", min_replicas=3)
    localai_sim.tick()
    assert localai_sim.replicas("m") == []
    localai_sim.tick()
    assert len(localai_sim.replicas("m")) == 3


def test_count_is_cluster_wide_ignoring_selector_and_node_health(localai_sim: LocalAISim) -> None:
    """CountLoadedReplicas: every "loaded" row counts, on a non-matching or unhealthy node too."""
    off = localai_sim.add_node("off", {"tier": "cpu"})
    localai_sim.add_node("gpu1", {"tier": "gpu"})
    localai_sim.load_replica(off, "m")
    localai_sim.set_status(off, "unhealthy")
    row(localai_sim, "m", node_selector={"tier": "gpu"}, min_replicas=1)
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("off", 0)]


def test_spread_all_targets_matching_nodes_but_counts_cluster_wide(localai_sim: LocalAISim) -> None:
    """reconcileModel spread_all: Min = Max = len(FindNodesBySelector) (healthy backend nodes)."""
    cpu = localai_sim.add_node("cpu", {"tier": "cpu"})
    localai_sim.add_node("g1", {"tier": "gpu"})
    localai_sim.add_node("g2", {"tier": "gpu"})
    localai_sim.add_node("agent", {"tier": "gpu"}, node_type="agent")
    localai_sim.load_replica(cpu, "m")
    row(localai_sim, "m", node_selector={"tier": "gpu"}, spread_all=True)
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("cpu", 0), ("g1", 0)]  # 2 counted: g2 never gets one
    row(localai_sim, "e", spread_all=True)  # empty selector: all healthy backend nodes
    localai_sim.mark_served("e")
    localai_sim.tick()
    assert placed(localai_sim, "e") == [("cpu", 0), ("g1", 0), ("g2", 0)]


def test_no_capacity_three_ticks_then_five_minute_cooldown(localai_sim: LocalAISim) -> None:
    """markCapacityProblem: ticks++ each tick, at 3 unsatisfiable_until = now + 5 min; the
    counter is not reset when the cooldown ends, so the next miss re-enters it at once."""
    a = localai_sim.add_node("a")
    localai_sim.load_replica(a, "m")
    row(localai_sim, "m", min_replicas=2)
    for expected in (1, 2, 3):
        localai_sim.tick()
        assert stored(localai_sim, "m")["unsatisfiable_ticks"] == expected
    until = stored(localai_sim, "m")["unsatisfiable_until"]
    assert until == pytest.approx(localai_sim.now + 300)
    body = requests.get(localai_sim.address + "/api/nodes/scheduling/m", headers=ADMIN, timeout=2).json()
    assert "unsatisfiable_until" in body
    localai_sim.tick()  # in cooldown: nothing happens
    assert stored(localai_sim, "m")["unsatisfiable_ticks"] == 3
    localai_sim.tick(now=localai_sim.now + 301)
    assert stored(localai_sim, "m")["unsatisfiable_ticks"] == 4


def test_cooldown_cleared_by_registration_and_labels_not_by_resume(localai_sim: LocalAISim) -> None:
    """registry.go ClearAllUnsatisfiable callers: Register, ApproveNode, SetNodeLabel(s),
    RemoveNodeLabel, UpdateMaxReplicasPerModel; MarkHealthy (resume) is not one of them."""
    a = localai_sim.add_node("a")
    localai_sim.load_replica(a, "m")
    row(localai_sim, "m", min_replicas=2)
    for _ in range(3):
        localai_sim.tick()
    requests.post(f"{localai_sim.address}/api/nodes/{a}/resume", headers=ADMIN, timeout=2)
    assert stored(localai_sim, "m")["unsatisfiable_until"] is not None
    requests.patch(f"{localai_sim.address}/api/nodes/{a}/labels", headers=ADMIN, json={"x": "y"}, timeout=2)
    assert (stored(localai_sim, "m")["unsatisfiable_until"], stored(localai_sim, "m")["unsatisfiable_ticks"]) == (
        None, 0)
    for _ in range(3):
        localai_sim.tick()
    localai_sim.add_node("b")
    assert stored(localai_sim, "m")["unsatisfiable_until"] is None
    localai_sim.tick()
    assert len(localai_sim.replicas("m")) == 2


def test_selector_matching_nothing_counts_as_a_capacity_problem(localai_sim: LocalAISim) -> None:
    """reconcileModel: !selectorMatched -> markCapacityProblem("no nodes match selector")."""
    localai_sim.add_node("a", {"tier": "cpu"})
    localai_sim.mark_served("m")
    row(localai_sim, "m", node_selector={"tier": "gpu"}, min_replicas=1)
    localai_sim.tick()
    assert stored(localai_sim, "m")["unsatisfiable_ticks"] == 1


def test_scale_down_idle_above_floor_ignores_selector(localai_sim: LocalAISim) -> None:
    """scaleDownIdle: floor max(min,1); loaded, in_flight 0, idle > 5 min; replica_index DESC,
    last_used ASC; no selector filter, so a replica on a matching node can go first."""
    gpu = localai_sim.add_node("gpu", {"tier": "gpu"}, max_replicas_per_model=2)
    cpu = localai_sim.add_node("cpu", {"tier": "cpu"})
    localai_sim.load_replica(cpu, "m")
    localai_sim.load_replica(gpu, "m")
    localai_sim.load_replica(gpu, "m")
    row(localai_sim, "m", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=3)
    localai_sim.advance(299)
    localai_sim.tick()
    assert len(localai_sim.replicas("m")) == 3  # not idle long enough
    localai_sim.advance(2)
    localai_sim.touch(cpu, "m")
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("cpu", 0)]  # gpu#1 (index DESC) then gpu#0 (oldest) went


def test_busy_replicas_scale_up_by_one_below_max(localai_sim: LocalAISim) -> None:
    """reconcileModel step 2: every loaded replica in flight and current < max -> scaleUp(1)."""
    a = localai_sim.add_node("a")
    localai_sim.add_node("b")
    localai_sim.load_replica(a, "m", in_flight=2)
    row(localai_sim, "m", min_replicas=1, max_replicas=2)
    localai_sim.tick()
    assert placed(localai_sim, "m") == [("a", 0), ("b", 0)]


def test_stale_heartbeat_goes_offline_and_loses_its_rows(localai_sim: LocalAISim) -> None:
    """health.go doCheckAll: no heartbeat for > 60 s -> MarkOffline (rows deleted); draining
    nodes are skipped; a heartbeating unhealthy node is marked healthy again."""
    a = localai_sim.add_node("a")
    d = localai_sim.add_node("d")
    u = localai_sim.add_node("u")
    localai_sim.load_replica(a, "m")
    localai_sim.set_status(u, "unhealthy")
    localai_sim.set_status(d, "draining")
    localai_sim.stop_heartbeat(a)
    localai_sim.stop_heartbeat(d)
    localai_sim.advance(60)
    assert localai_sim.replicas("m") != []
    localai_sim.advance(1)
    statuses = {n["name"]: n["status"] for n in requests.get(localai_sim.address + "/api/nodes", headers=ADMIN,
                                                             timeout=2).json()}
    assert statuses == {"a": "offline", "d": "draining", "u": "healthy"}
    assert localai_sim.replicas("m") == []


def test_seed_overwrites_listed_models_fully_and_accepts_the_replicas_alias(localai_sim: LocalAISim) -> None:
    """scheduling_seed.go ParseSchedulingSeed + registry.go SeedModelScheduling: full replace
    (routing fields too), "replicas": "all" = spread_all, other models untouched."""
    row(localai_sim, "m", min_replicas=2, route_policy="round_robin")
    row(localai_sim, "keep", min_replicas=1)
    localai_sim.seed([{"model_name": "m", "replicas": "all", "node_selector": {"t": "g"}}])
    m = stored(localai_sim, "m")
    assert (m["spread_all"], m["min_replicas"], m["route_policy"], m["node_selector"]) == (True, 0, "", '{"t":"g"}')
    assert stored(localai_sim, "keep")["min_replicas"] == 1
    with pytest.raises(ValueError, match="mutually exclusive"):
        localai_sim.seed([{"model_name": "x", "replicas": "all", "min_replicas": 1}])
    with pytest.raises(ValueError, match='invalid replicas value "3"'):
        localai_sim.seed([{"model_name": "x", "replicas": "3"}])
