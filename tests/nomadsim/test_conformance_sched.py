"""Conformance of the simulator's scheduler rules with Nomad's source (one test per rule; see README.md)."""

from __future__ import annotations

import time

from tests.nomadsim import NomadSim
from tests.nomadsim.helpers import ids, job, live, plan, raw, register, rule, tier


def test_task_changes_replace_allocations_in_a_rolling_way_and_other_changes_are_in_place(
        nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/util.go tasksUpdated / genericAllocUpdateFn (CombinedTaskMeta included),
    reconcile_cluster.go computeUnderProvisionedBy/computeDestructiveUpdates and api/jobs.go
    DefaultUpdateStrategy (max_parallel 1)."""
    for name in ("n1", "n2"):
        nomad_sim.add_node(name, meta={"tier": "gpu"})
    register(nomad_sim, job(count=2))
    first = ids(nomad_sim)
    register(nomad_sim, job(count=2, Priority=70, constraints=[tier("gpu")]))
    assert ids(nomad_sim) == first and {a["JobVersion"] for a in nomad_sim.allocations("web")} == {1}
    assert plan(nomad_sim, job(count=2, Priority=70, Meta={"rev": "2"}, constraints=[tier("gpu")]))[
        "DestructiveUpdate"] == 1  # one batch of max_parallel 1; the other is Ignore until it is healthy
    register(nomad_sim, job(count=2, Priority=70, Meta={"rev": "2"}, constraints=[tier("gpu")]))
    assert not ids(nomad_sim) & first and len(ids(nomad_sim)) == 2  # job Meta is task meta: destructive
    nomad_sim.alloc_start_delay = 0.2
    second = ids(nomad_sim)
    register(nomad_sim, job(count=2, Priority=70, Meta={"rev": "2"}, constraints=[tier("gpu")],
                            task_extra={"Env": {"A": "1"}}))
    assert len(ids(nomad_sim) & second) == 1  # the rollout waits for the first replacement
    assert nomad_sim.deployment("web")["Status"] == "running"  # type: ignore[index]
    time.sleep(0.25)
    nomad_sim.step()
    time.sleep(0.25)
    nomad_sim.step()
    assert not ids(nomad_sim) & second and nomad_sim.deployment("web")["Status"] == "successful"  # type: ignore[index]


def test_an_allocation_stays_while_the_job_is_unchanged_whatever_happens_to_its_node(nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/util.go genericAllocUpdateFn (same JobModifyIndex: ignore) and
    reconcile_node.go computeForNode (IGNORE); only a new job version re-checks the constraints."""
    gpu = nomad_sim.add_node("n1", meta={"tier": "gpu"})
    nomad_sim.add_node("n2", meta={"tier": "gpu"})
    register(nomad_sim, job(count=1, constraints=[tier("gpu")]))
    register(nomad_sim, job("sys", type_="system", count=1, constraints=[tier("gpu")]))
    ((node, _),) = live(nomad_sim)
    moved = gpu if node == "n1" else next(n["ID"] for n in raw(nomad_sim, "GET", "/v1/nodes").json()
                                          if n["Name"] == node)
    nomad_sim.set_meta(moved, {"tier": "cpu"})
    before = ids(nomad_sim) | ids(nomad_sim, "sys")
    raw(nomad_sim, "POST", "/v1/job/web/evaluate")
    raw(nomad_sim, "POST", "/v1/job/sys/evaluate")
    assert ids(nomad_sim) | ids(nomad_sim, "sys") == before
    register(nomad_sim, job(count=1, constraints=[tier("gpu")], Priority=60))
    register(nomad_sim, job("sys", type_="system", count=1, constraints=[tier("gpu")], Priority=60))
    assert [n for n, _ in live(nomad_sim)] != [node] and len(live(nomad_sim, "sys")) == 1


def test_system_plan_place_counts_every_candidate_node_since_1_11(nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/scheduler_system.go computeJobAllocs (tgCandidateNodeCounts, v1.11.0+) and,
    before 1.11, desiredUpdates (Place = new placements only)."""
    for name in ("n1", "n2"):
        nomad_sim.add_node(name)
    register(nomad_sim, job(type_="system"))
    nomad_sim.add_node("n3", eligible=False)
    nomad_sim.set_eligibility(nomad_sim.add_node("n3b", eligible=False), True)
    updated = job(type_="system", Priority=70)
    counts = plan(nomad_sim, updated)
    assert (counts["Place"], counts["InPlaceUpdate"], counts["Ignore"]) == (3, 3, 0)
    nomad_sim.set_version("1.10.5")
    counts = plan(nomad_sim, updated)
    assert (counts["Place"], counts["InPlaceUpdate"]) == (0, 3)


def test_a_system_allocation_on_an_ineligible_node_stays_until_the_job_changes(nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/reconciler/reconcile_node.go computeForNode (notReadyNodes: IGNORE while
    JobModifyIndex is unchanged, Stop otherwise; no placement on a not-ready node)."""
    node = nomad_sim.add_node("n1")
    register(nomad_sim, job(type_="system"))
    nomad_sim.set_eligibility(node, False)
    register(nomad_sim, job(type_="system"))
    assert len(live(nomad_sim)) == 1
    register(nomad_sim, job(type_="system", Priority=70))
    assert live(nomad_sim) == []
    stopped = nomad_sim.allocations("web", include_terminal=True)
    assert [a["DesiredDescription"] for a in stopped] == ["alloc not needed due to job update"]


def test_a_draining_node_keeps_its_system_allocation_until_the_drainer_stops_it_after_service_ones(
        nomad_sim: NomadSim) -> None:
    """Follows scheduler/util.go taintedNodes + reconcile_node.go (draining: IGNORE even on a job update) and
    nomad/drainer/draining_node.go IsDone/RemainingAllocs (system allocs last, then NodesDrainComplete)."""
    first = nomad_sim.add_node("n1")
    register(nomad_sim, job(type_="system", Priority=40, ID="sys"))
    register(nomad_sim, job(count=1))
    nomad_sim.set_drain(first, True)  # the service alloc has nowhere to go: the drain cannot finish
    register(nomad_sim, job(type_="system", ID="sys", Priority=41))
    assert len(live(nomad_sim, "sys")) == 1 and len(live(nomad_sim)) == 1
    nomad_sim.add_node("n2")
    (service,) = [a for a in nomad_sim.allocations("web", include_terminal=True) if a["NodeName"] == "n1"]
    (system,) = [a for a in nomad_sim.allocations("sys", include_terminal=True) if a["NodeName"] == "n1"]
    assert service["DesiredDescription"] == "alloc is being migrated" and live(nomad_sim) == [("n2", "web.g[0]")]
    assert system["DesiredStatus"] == "stop" and system["ModifyIndex"] > service["ModifyIndex"]
    node = raw(nomad_sim, "GET", f"/v1/node/{first}").json()
    assert (node["Drain"], node["SchedulingEligibility"]) == (False, "ineligible")


def test_job_status_is_dead_without_live_allocations_and_system_jobs_run_without_any(nomad_sim: NomadSim) -> None:
    """Follows nomad/state/state_store.go getJobStatus."""
    register(nomad_sim, job(type_="system"))
    assert nomad_sim.job("web")["Status"] == "running"  # type: ignore[index]
    register(nomad_sim, job("zero", count=0))
    assert nomad_sim.job("zero")["Status"] == "dead"  # type: ignore[index]
    register(nomad_sim, job("blocked", count=1))
    assert nomad_sim.job("blocked")["Status"] == "pending"  # type: ignore[index]  # blocked eval
    nomad_sim.add_node("n1")
    register(nomad_sim, job("blocked", count=0))
    assert nomad_sim.job("blocked")["Status"] == "dead"  # type: ignore[index]


def test_only_star_is_a_datacenter_wildcard(nomad_sim: NomadSim) -> None:
    """Follows nomad/structs/structs.go Node.IsInAnyDC (ryanuber/go-glob Glob)."""
    nomad_sim.add_node("plain", datacenter="dc1")
    nomad_sim.add_node("odd", datacenter="dc?")
    nomad_sim.add_node("set", datacenter="[ab]c")
    register(nomad_sim, job("q", type_="system", Datacenters=["dc?", "[ab]c"]))
    assert sorted(n for n, _ in live(nomad_sim, "q")) == ["odd", "set"]
    register(nomad_sim, job("s", type_="system", Datacenters=["d*1"]))
    assert [n for n, _ in live(nomad_sim, "s")] == ["plain"]


def test_not_equal_on_an_unset_attribute_holds_distinct_hosts_stays_on_and_empty_set_parts_count(
        nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/feasible/feasible.go checkConstraint, checkSetContainsAny and
    DistinctHostsIterator.hasDistinctHostsConstraint (strconv.ParseBool error -> enforced)."""
    nomad_sim.add_node("n1", meta={"set": "a,,b"})
    nomad_sim.add_node("n2", meta={"tier": "gpu", "set": "a"})
    register(nomad_sim, job("ne", type_="system", constraints=[rule("${meta.tier}", "!=", "gpu")]))
    assert [n for n, _ in live(nomad_sim, "ne")] == ["n1"]
    register(nomad_sim, job("d", count=3, constraints=[rule("", "distinct_hosts", "yes")]))
    assert len(live(nomad_sim, "d")) == 2
    register(nomad_sim, job("any", type_="system", constraints=[rule("${meta.set}", "set_contains_any", "x,")]))
    assert [n for n, _ in live(nomad_sim, "any")] == ["n1"]


def test_a_count_decrease_stops_the_highest_existing_name_indexes(nomad_sim: NomadSim) -> None:
    """Follows nomad/scheduler/reconciler/reconcile_cluster.go computeStop (highest names first)."""
    nomad_sim.add_node("n1")
    nomad_sim.add_node("n2")
    register(nomad_sim, job(count=4))
    kept = {a["ID"] for a in nomad_sim.allocations("web") if a["Name"] in ("web.g[0]", "web.g[1]")}
    register(nomad_sim, job(count=2))
    assert ids(nomad_sim) == kept
    counts = plan(nomad_sim, job(count=1))
    assert (counts["Stop"], counts["InPlaceUpdate"]) == (1, 1)  # a count change is a new version: in place


def test_stopping_one_allocation_replaces_a_service_one_but_not_a_system_one(nomad_sim: NomadSim) -> None:
    """Follows nomad/alloc_endpoint.go Alloc.Stop (DesiredTransition.Migrate + alloc-stop eval), then
    reconcile_cluster.go computeMigrations (service: replaced) and reconcile_node.go (system: Migrate, stopped)."""
    nomad_sim.add_node("n1")
    register(nomad_sim, job(count=1))
    register(nomad_sim, job("sys", type_="system"))
    (service,) = nomad_sim.allocations("web")
    reply = raw(nomad_sim, "POST", f"/v1/allocation/{service['ID']}/stop")
    assert reply.status_code == 200 and reply.json()["EvalID"]
    (replacement,) = nomad_sim.allocations("web")
    assert replacement["ID"] != service["ID"] and replacement["Name"] == service["Name"]
    (system,) = nomad_sim.allocations("sys")
    nomad_sim.stop_allocation(system["ID"])
    assert nomad_sim.allocations("sys") == []
    nomad_sim.add_node("n2")  # a later evaluation of the job places it again
    assert [n for n, _ in live(nomad_sim, "sys")] == ["n1", "n2"]
