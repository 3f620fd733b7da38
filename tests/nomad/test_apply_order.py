"""Apply's order and its skips, read from the test server's request log."""

from __future__ import annotations

from typing import Any

from modelsched.drivers.base import LineReporter
from modelsched.drivers.nomad import apply as nomad_apply
from modelsched.drivers.nomad.jobops import JobOp, Wait
from modelsched.model.entry import Entry
from tests.nomad.flow import apply, desired, driver, make

A = Entry(model_name="a", node_selector={"tier": "gpu"}, spread=True)
Z = Entry(model_name="z", node_selector={"tier": "gpu"}, spread=True)


def writes(sim: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in sim.requests if m in ("POST", "PUT", "DELETE")]


def test_purges_of_pruned_models_come_after_every_other_job(nomad_sim: Any) -> None:
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    drv = driver(nomad_sim.address)
    apply(drv, make(drv, desired(A)))
    p = make(drv, desired(Z), prune=True)  # "a" is pruned, "z" is new: purge sorts first by name
    nomad_sim.reset_requests()
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert writes(nomad_sim) == [("POST", "/v1/job/modelsched-z"), ("DELETE", "/v1/job/modelsched-a")]


def test_an_update_whose_job_nomad_already_runs_is_not_registered(nomad_sim: Any) -> None:
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    drv = driver(nomad_sim.address)
    p = make(drv, desired(A))
    apply(drv, p)
    assert p.driver_data is not None
    job = p.driver_data["jobs"][0]["job"]
    index = nomad_sim.job("modelsched-a")["JobModifyIndex"]
    op = JobOp("a", "modelsched-a", "update", index, Wait(count=1, at_least_nodes=()), job=job)
    nomad_sim.reset_requests()
    lines: list[str] = []
    report = nomad_apply.run(drv.client, p.model_copy(update={"changes": []}), [op], LineReporter(lines.append),
                             wait=False, timeout=1.0)
    assert report.ok and writes(nomad_sim) == []
    assert "nomad: job modelsched-a unchanged, not registered" in lines
