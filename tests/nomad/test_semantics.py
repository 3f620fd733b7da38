"""Nothing restarts or lingers that the plan did not say, against a test server that follows Nomad.

Each scenario: apply, change the config or the cluster, plan (restarts, diff, operations),
apply, then plan again is empty, and every allocation the plan did not touch kept its ID.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelsched.model.entry import Entry
from modelsched.output import format_plan
from tests.nomad.flow import apply, desired, driver, make

Ids = dict[str, str]
GPU = {"tier": "gpu"}


@pytest.fixture
def gpus(nomad_sim: Any) -> Ids:
    """Four tier=gpu nodes (gpu-1..gpu-3 also rack=r1) and one tier=cpu node."""
    ids = {f"gpu-{i}": nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu", "rack": "r1" if i < 4 else "r2"})
           for i in (1, 2, 3, 4)}
    ids["cpu-1"] = nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    return ids


def allocs(sim: Any, job_id: str = "modelsched-m") -> dict[str, str]:
    """Node ID -> allocation ID of the job's live allocations."""
    return {a["NodeID"]: a["ID"] for a in sim.allocations(job_id=job_id)}


def converge(drv: Any, want: Any) -> None:
    p = make(drv, want)
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    again = make(drv, want)
    assert not again.has_changes, (again.changes, again.operations)


def pinned(n: int, **kw: Any) -> Entry:
    return Entry(model_name="m", node_selector=dict(GPU), min_replicas=n, max_replicas=n, placement="pinned", **kw)


@pytest.mark.parametrize(("before", "after"), [(2, 3), (3, 2)], ids=["one node added", "one node removed"])
def test_pinned_count_change_leaves_every_other_allocation_alone(
    nomad_sim: Any, gpus: Ids, before: int, after: int
) -> None:
    drv = driver(nomad_sim.address)
    converge(drv, desired(pinned(before)))
    was = allocs(nomad_sim)
    p = make(drv, desired(pinned(after)))
    [op] = p.operations
    assert (op.action, op.restarts) == ("update", 0)
    assert "in place" in op.detail and p.summary.restart == 0
    assert any(line.startswith("~ Constraint ${node.unique.id} pinned nodes:") for line in op.diff)
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    now = allocs(nomad_sim)
    assert len(now) == after
    kept = set(was) & set(now)
    assert len(kept) == min(before, after)
    assert all(now[n] == was[n] for n in kept)
    assert not make(drv, desired(pinned(after))).has_changes


@pytest.mark.parametrize("placement", ["scheduler", "pinned"])
def test_narrowing_a_spread_selector_stops_one_node_and_keeps_the_others(
    nomad_sim: Any, gpus: Ids, placement: str
) -> None:
    drv = driver(nomad_sim.address)
    wide = Entry(model_name="m", node_selector=dict(GPU), spread=True, placement=placement)
    converge(drv, desired(wide))
    was = allocs(nomad_sim)
    assert len(was) == 4
    narrow = Entry(model_name="m", node_selector={**GPU, "rack": "r1"}, spread=True, placement=placement)
    p = make(drv, desired(narrow))
    assert [(c.action, c.node) for c in p.changes] == [("remove", "gpu-4")]
    assert p.summary.restart == 0
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert allocs(nomad_sim) == {n: a for n, a in was.items() if n != gpus["gpu-4"]}
    assert not make(drv, desired(narrow)).has_changes


def test_a_node_joining_a_spread_selector_gets_an_allocation_and_nothing_else_moves(
    nomad_sim: Any, gpus: Ids
) -> None:
    drv = driver(nomad_sim.address)
    want = desired(Entry(model_name="m", node_selector=dict(GPU), spread=True))
    converge(drv, want)
    was = allocs(nomad_sim)
    nomad_sim.set_meta(gpus["cpu-1"], {"tier": "gpu"})
    # A system job follows the node by itself: the plan has nothing to do.
    assert not make(drv, want).has_changes
    now = allocs(nomad_sim)
    assert {n: now[n] for n in was} == was and gpus["cpu-1"] in now


@pytest.mark.parametrize(
    "entry",
    [
        Entry(model_name="m", node_selector=dict(GPU), spread=True, vars={"image": "a"}),
        Entry(model_name="m", node_selector=dict(GPU), min_replicas=2, max_replicas=2, vars={"image": "a"}),
        pinned(3, vars={"image": "a"}),
    ],
    ids=["spread", "bounded", "pinned"],
)
def test_an_image_change_plans_a_restart_of_every_running_replica_and_names_the_image(
    nomad_sim: Any, gpus: Ids, entry: Entry
) -> None:
    nomad_sim.alloc_healthy_delay = 0.0
    drv = driver(nomad_sim.address)
    converge(drv, desired(entry))
    running = len(allocs(nomad_sim))
    changed = entry.model_copy(update={"vars": {"image": "b"}})
    p = make(drv, desired(changed))
    [op] = p.operations
    assert op.action == "update" and op.restarts == running == p.summary.restart
    assert op.diff == ['~ Task "localai" Config.image: "a" => "b"']
    assert "destructive (task config): rolling restart, max_parallel 1" in op.detail
    [line] = [x for x in format_plan(p, "text").splitlines() if "update modelsched-m" in x]
    assert line.endswith(f"({running} replicas restart)"), line
    assert re.findall(r"\d+ \w+(?:\(s\))? restart", line) == [f"{running} replicas restart"], line  # said once
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    images = {a["JobVersion"] for a in nomad_sim.allocations(job_id="modelsched-m")}
    assert images == {nomad_sim.job("modelsched-m")["Version"]}
    assert not make(drv, desired(changed)).has_changes


def test_a_count_change_is_in_place_and_restarts_nothing(nomad_sim: Any, gpus: Ids) -> None:
    drv = driver(nomad_sim.address)
    two = Entry(model_name="m", node_selector=dict(GPU), min_replicas=2, max_replicas=2)
    converge(drv, desired(two))
    was = allocs(nomad_sim)
    three = Entry(model_name="m", node_selector=dict(GPU), min_replicas=3, max_replicas=3)
    p = make(drv, desired(three))
    [op] = p.operations
    assert op.restarts == 0 and "~ Count: 2 => 3" in op.diff
    assert "Plan" not in op.detail
    apply(drv, p)
    now = allocs(nomad_sim)
    assert len(now) == 3 and all(now[n] == a for n, a in was.items())


SCENARIOS = ["relabel", "ineligible", "drain", "down"]
MODES = {
    "spread": Entry(model_name="m", node_selector=dict(GPU), spread=True),
    "pinned spread": Entry(model_name="m", node_selector=dict(GPU), spread=True, placement="pinned"),
    "bounded": Entry(model_name="m", node_selector=dict(GPU), min_replicas=2, max_replicas=2),
    "pinned bounded": pinned(2),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_node_that_stops_qualifying_converges_and_untouched_allocations_stay(
    nomad_sim: Any, gpus: Ids, mode: str, scenario: str
) -> None:
    drv = driver(nomad_sim.address)
    want = desired(MODES[mode])
    converge(drv, want)
    was = allocs(nomad_sim)
    victim = sorted(was)[0]
    if scenario == "relabel":
        nomad_sim.set_meta(victim, {"tier": "cpu"})
    elif scenario == "ineligible":
        nomad_sim.set_eligibility(victim, False)
    elif scenario == "drain":
        nomad_sim.set_drain(victim, True)
        nomad_sim.step()
    else:
        nomad_sim.set_status(victim, "down")
    p = make(drv, want)
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    again = make(drv, want)
    assert not again.has_changes, (again.changes, again.operations)
    now = allocs(nomad_sim)
    assert victim not in now
    untouched = [n for n in was if n != victim and n in now]
    assert all(now[n] == was[n] for n in untouched)
    if not mode.endswith("bounded"):
        assert len(untouched) == len(was) - 1


def test_a_service_job_with_count_zero_is_dead_and_left_alone(nomad_sim: Any, gpus: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(Entry(model_name="m", node_selector={"tier": "none"}, min_replicas=0, max_replicas=2))
    converge(drv, want)
    assert nomad_sim.job("modelsched-m")["Status"] == "dead"
    assert not make(drv, want).has_changes


def bounded(low: int, high: int) -> Entry:
    return Entry(model_name="m", node_selector=dict(GPU), min_replicas=low, max_replicas=high)


def test_a_count_the_autoscaler_moved_within_bounds_is_kept(nomad_sim: Any, gpus: Ids) -> None:
    drv = driver(nomad_sim.address)
    converge(drv, desired(bounded(1, 3)))
    nomad_sim.scale_job("modelsched-m", 3)
    was = allocs(nomad_sim)
    assert len(was) == 3
    assert not make(drv, desired(bounded(1, 3))).has_changes
    assert allocs(nomad_sim) == was


def test_a_count_outside_the_new_bounds_is_planned_back_and_the_plan_says_so(nomad_sim: Any, gpus: Ids) -> None:
    drv = driver(nomad_sim.address)
    converge(drv, desired(bounded(1, 3)))
    nomad_sim.scale_job("modelsched-m", 3)
    p = make(drv, desired(bounded(1, 2)))
    [op] = p.operations
    assert op.action == "update" and "~ Count: 3 => 2" in op.diff and op.restarts == 0
    assert "live Count 3 is outside min..max 1..2: set to 2" in op.detail
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert len(allocs(nomad_sim)) == 2
    assert not make(drv, desired(bounded(1, 2))).has_changes


def test_a_pinned_model_with_no_planned_node_has_its_job_purged(nomad_sim: Any, gpus: Ids) -> None:
    drv = driver(nomad_sim.address)
    entry = Entry(model_name="m", node_selector={"tier": "gpu", "rack": "r2"}, spread=True, placement="pinned")
    converge(drv, desired(entry))
    nomad_sim.set_meta(gpus["gpu-4"], {"tier": "cpu"})
    p = make(drv, desired(entry))
    assert [(op.action, op.target) for op in p.operations] == [("purge", "modelsched-m")]
    apply(drv, p)
    assert nomad_sim.job("modelsched-m") is None
    assert not make(drv, desired(entry)).has_changes


@pytest.mark.parametrize("mode", ["spread", "bounded", "pinned bounded"])
def test_the_server_dry_run_agrees_on_restarts_and_placements(nomad_sim: Any, gpus: Ids, mode: str) -> None:
    entry = MODES[mode]
    nomad_sim.alloc_healthy_delay = 0.0
    drv = driver(nomad_sim.address, server_dry_run=True)
    converge(drv, desired(entry))
    p = make(drv, desired(entry.model_copy(update={"vars": {"image": "b"}})))
    [op] = p.operations
    # A service job replaces max_parallel (1) per evaluation; a system job counts every one.
    batch = op.restarts if entry.spread or entry.placement == "pinned" else 1
    assert op.restarts > 0 and f"destructiveupdate {batch}" in op.detail
    assert not [d.message for d in p.diagnostics if "disagrees" in d.message]


def test_a_system_allocation_the_drainer_leaves_is_stopped_by_id(nomad_sim: Any, gpus: Ids) -> None:
    """`-ignore-system`: the drainer never stops system allocations and a system job that does
    not change keeps them, so only an allocation stop removes it."""
    drv = driver(nomad_sim.address)
    want = desired(MODES["spread"])
    converge(drv, want)
    was = allocs(nomad_sim)
    victim = sorted(was)[0]
    nomad_sim.set_drain(victim, True, ignore_system_jobs=True)
    nomad_sim.step()
    assert allocs(nomad_sim) == was
    p = make(drv, want)
    assert p.driver_data is not None
    stops = [s["alloc_id"] for op in p.driver_data["jobs"] for s in op["stops"]]
    assert stops == [was[victim]]
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    assert allocs(nomad_sim) == {n: a for n, a in was.items() if n != victim}
    assert not make(drv, want).has_changes
