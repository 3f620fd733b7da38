"""A saved plan can stop only allocations its own changes remove.

The jobs digest proves nothing against someone who can edit the plan file (anyone can
recompute it): apply re-checks every allocation stop and every awaited removal against
the live allocations and the plan's remove changes, and refuses the whole plan before
any write when one does not match."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from modelsched.drivers.nomad.jobops import digest
from modelsched.errors import PlanFileError
from modelsched.model.entry import Entry
from modelsched.model.plan import Plan
from tests.nomad.flow import apply, desired, driver, make

K = Entry(model_name="k", node_selector={"tier": "gpu"}, spread=True)
K_NEW = Entry(model_name="k", node_selector={"tier": "gpu"}, spread=True, vars={"image": "k:2"})
N = Entry(model_name="n", spread=True)


@pytest.fixture
def running(nomad_sim: Any) -> Any:
    """k on two gpu nodes, n on every node, both converged."""
    for i in (1, 2):
        nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    drv = driver(nomad_sim.address)
    report, _ = apply(drv, make(drv, desired(K, N)))
    assert report.ok, report.errors
    return nomad_sim


def _allocs(sim: Any, job_id: str) -> list[dict[str, Any]]:
    return sorted(sim.allocations(job_id=job_id), key=lambda a: a["ID"])


def _edited(p: Plan, edit: Callable[[dict[str, Any]], None]) -> Plan:
    """`p` with k's operation edited and the jobs digest recomputed, as an attacker would."""
    data = copy.deepcopy(p.driver_data)
    assert isinstance(data, dict)
    (op,) = [o for o in data["jobs"] if o["model"] == "k"]
    edit(op)
    data["jobs_digest"] = digest(data["jobs"])
    return p.model_copy(update={"driver_data": data})


def _stop(alloc: dict[str, Any], node: str | None = None) -> Callable[[dict[str, Any]], None]:
    def edit(op: dict[str, Any]) -> None:
        op["stops"].append({"alloc_id": alloc["ID"], "node_id": node or alloc["NodeID"]})
        op["wait"]["gone"].append(alloc["ID"])
    return edit


def _gone(alloc: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(op: dict[str, Any]) -> None:
        op["wait"]["gone"].append(alloc["ID"])
    return edit


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda sim: _stop(_allocs(sim, "modelsched-n")[0]), r"is not a running allocation of model 'k'"),
        (lambda sim: _gone(_allocs(sim, "modelsched-n")[0]), r"is not a running allocation of model 'k'"),
        (lambda sim: _stop(_allocs(sim, "modelsched-k")[0]), r"the plan removes no \(further\) replica"),
        (lambda sim: _stop(_allocs(sim, "modelsched-k")[0], node=_allocs(sim, "modelsched-k")[1]["NodeID"]),
         r"runs on node .*, not on node"),
        (lambda sim: _stop({"ID": "0123abcd-0000-0000-0000-000000000000", "NodeID": "0123abcd"}),
         r"is not a running allocation of model 'k'"),
    ],
    ids=[
        "a stop of another model's allocation is refused",
        "awaiting the end of another model's allocation is refused",
        "a stop of the model's own allocation with no planned removal is refused",
        "a stop naming another node than the allocation's is refused",
        "a stop of an allocation that does not exist is refused",
    ],
)
def test_an_edited_plan_that_stops_what_its_changes_do_not_remove_is_refused_before_any_write(
    running: Any, edit: Callable[[Any], Callable[[dict[str, Any]], None]], said: str
) -> None:
    drv = driver(running.address)
    p = make(drv, desired(K_NEW, N))
    assert [op.target for op in p.operations] == ["modelsched-k"]
    before_n, before_k = _allocs(running, "modelsched-n"), _allocs(running, "modelsched-k")
    tampered = _edited(p, edit(running))
    running.reset_requests()
    with pytest.raises(PlanFileError, match=said) as err:
        apply(drv, tampered)
    assert "Nothing was applied" in str(err.value)
    assert [m for m, _, _ in running.requests if m != "GET"] == []  # not one write
    assert _allocs(running, "modelsched-n") == before_n
    assert _allocs(running, "modelsched-k") == before_k
    assert running.job("modelsched-k")["TaskGroups"][0]["Tasks"][0]["Config"].get("image") != "k:2"


def test_the_plan_as_made_still_applies(running: Any) -> None:
    """The check refuses edits, not plans: the same plan, digest recomputed, goes through."""
    drv = driver(running.address)
    p = make(drv, desired(K_NEW, N))
    report, _ = apply(drv, _edited(p, lambda op: None))  # digest recomputed over the same jobs
    assert report.ok, report.errors
    assert running.job("modelsched-k")["TaskGroups"][0]["Tasks"][0]["Config"]["image"] == "k:2"


def test_a_stop_listed_twice_is_refused(running: Any) -> None:
    drv = driver(running.address)
    p = make(drv, desired(K_NEW, N))
    alloc = _allocs(running, "modelsched-k")[0]

    def twice(op: dict[str, Any]) -> None:
        op["stops"] += [{"alloc_id": alloc["ID"], "node_id": alloc["NodeID"]}] * 2

    with pytest.raises(PlanFileError, match=r"listed twice"):
        apply(drv, _edited(p, twice))


def test_a_planned_removal_is_still_stopped_by_id(nomad_sim: Any) -> None:
    """A relabelled node: Nomad keeps the allocation while the job is unchanged, so the
    plan stops it by ID; the check lets exactly that stop through."""
    gpu = [nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"}) for i in (1, 2)]
    drv = driver(nomad_sim.address)
    assert apply(drv, make(drv, desired(K)))[0].ok
    nomad_sim.set_meta(gpu[1], {"tier": "cpu"})
    p = make(drv, desired(K))
    (op,) = p.driver_data["jobs"]  # type: ignore[index]
    assert [s["node_id"] for s in op["stops"]] == [gpu[1]]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert [a["NodeID"] for a in _allocs(nomad_sim, "modelsched-k")] == [gpu[0]]
