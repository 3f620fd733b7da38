"""Apply's wait: live per-model status, a timeout that says what runs, Ctrl-C that reports what was done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.base import ModelProgress
from modelsched.model.entry import Entry
from tests.nomad.flow import Recorder, apply, desired, driver, make

TWO = (
    Entry(model_name="a", node_selector={"tier": "gpu"}, spread=True),
    Entry(model_name="b", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=1),
)
ONLY_NOWHERE = """{"TaskGroups": [{"Name": "localai",
  "Constraints": [{"LTarget": "${attr.unique.hostname}", "RTarget": "nowhere", "Operand": "="}],
  "Tasks": [{"Name": "localai", "Driver": "docker", "Config": {"image": "localai/localai"}}]}]}
"""


@pytest.fixture
def two_gpus(nomad_sim: Any) -> list[str]:
    return [nomad_sim.add_node(f"gpu-{i}", meta={"tier": "gpu"}) for i in (1, 2)]


def test_the_wait_reports_each_models_progress_until_it_matches(nomad_sim: Any, two_gpus: list[str]) -> None:
    drv = driver(nomad_sim.address)
    rec = Recorder()
    report, _ = apply(drv, make(drv, desired(*TWO)), rec)
    assert report.ok, report.errors
    assert rec.statuses, "progress.waiting was never called"
    last = {m.model: m for s in rec.statuses for m in s.models}
    assert last["a"] == ModelProgress(model="a", running=2, wanted=2)
    assert last["b"] == ModelProgress(model="b", running=1, wanted=1)
    assert [s.elapsed for s in rec.statuses] == sorted(s.elapsed for s in rec.statuses)
    assert report.status == rec.statuses[-1]


def test_a_timeout_keeps_the_last_status_and_says_what_runs_and_why_not(
    nomad_sim: Any, two_gpus: list[str], tmp_path: Path
) -> None:
    template = tmp_path / "nowhere.nomad.json.j2"
    template.write_text(ONLY_NOWHERE)
    drv = driver(nomad_sim.address, wait_timeout=0.3, job_template=str(template))
    report, _ = apply(drv, make(drv, desired(TWO[1])))
    assert not report.ok and report.status is not None
    [status] = report.status.models
    assert (status.model, status.running, status.wanted, status.pending) == ("b", 0, 1, 0)
    assert "group localai" in status.detail and "node(s) evaluated" in status.detail
    [(change, why)] = report.failed
    assert change.model == "b"
    assert why.startswith("allocations did not match the plan before the timeout: 0/1 running, 0 pending, 0 failed")
    assert "Nomad: group localai" in why


def test_ctrl_c_during_the_registers_reports_what_was_done_and_not_attempted(
    nomad_sim: Any, two_gpus: list[str]
) -> None:
    drv = driver(nomad_sim.address)
    p = make(drv, desired(*TWO))
    real = drv.client.register
    calls: list[str] = []

    def register(job: dict[str, Any], index: int) -> dict[str, Any]:
        calls.append(job["ID"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job, index)

    drv.client.register = register  # type: ignore[method-assign]
    report, _ = apply(drv, p)
    assert report.interrupted and not report.ok
    assert {c.model for c in report.applied} == {"a"}
    assert {c.model for c in report.not_attempted} == {"b"}
    assert any("interrupted during register of job modelsched-b" in m for m in report.messages)
    assert nomad_sim.job("modelsched-b") is None


def test_ctrl_c_while_waiting_stops_the_wait_and_keeps_the_status(nomad_sim: Any, two_gpus: list[str]) -> None:
    nomad_sim.alloc_start_delay = 30.0
    drv = driver(nomad_sim.address)
    p = make(drv, desired(TWO[0]))
    real = drv.client.allocations
    rounds: list[int] = []

    def allocations(expr: str) -> list[dict[str, Any]]:
        rounds.append(1)
        if len(rounds) == 3:
            raise KeyboardInterrupt
        return real(expr)

    drv.client.allocations = allocations  # type: ignore[method-assign]
    report, _ = apply(drv, p)
    assert report.interrupted and not report.applied and not report.failed
    assert {c.model for c in report.not_attempted} == {"a"}
    assert report.status is not None and report.status.models[0].pending == 2
    assert nomad_sim.job("modelsched-a") is not None  # what was sent stays sent


def alloc(node: str, status: str = "running", version: int = 2, alloc_id: str = "") -> dict[str, Any]:
    return {"ID": alloc_id or f"alloc-{node}-{status}", "JobID": "modelsched-m", "NodeID": node,
            "ClientStatus": status, "JobVersion": version}


def watch(version: int | None = None, **wait: Any) -> Any:
    from modelsched.drivers.nomad.jobops import JobOp, Wait
    from modelsched.drivers.nomad.waiting import Watch

    return Watch(JobOp("m", "modelsched-m", "update", 1, Wait(**wait)), None, version)


@pytest.mark.parametrize(
    ("wait", "allocs", "version", "ok"),
    [
        ({"count": 2, "exact_nodes": ("A", "B")}, [alloc("A"), alloc("B")], None, True),
        ({"count": 2, "exact_nodes": ("A", "B")}, [alloc("A"), alloc("B"), alloc("C")], None, False),
        ({"count": 2, "exact_nodes": ("A", "B")}, [alloc("A"), alloc("B"), alloc("C", "pending")], None, False),
        ({"count": 2, "exact_nodes": ("A", "B")}, [alloc("A"), alloc("B", "pending")], None, False),
        ({"count": 1, "at_least_nodes": ("A",)}, [alloc("A"), alloc("B")], None, True),
        ({"count": 2, "at_least_nodes": ("A", "B")}, [alloc("A")], None, False),
        ({"count": 2}, [alloc("A"), alloc("B")], None, True),
        ({"count": 2}, [alloc("A"), alloc("B"), alloc("C")], None, False),
        ({"count": 2}, [alloc("A"), alloc("B"), alloc("C", "pending")], None, False),
        ({"count": 2}, [alloc("A"), alloc("B"), alloc("C", "complete")], None, True),
        ({"count": 2, "gone": ("old",)}, [alloc("A"), alloc("B", alloc_id="old")], None, False),
        ({"count": 2}, [alloc("A"), alloc("B", version=1)], 2, False),
        ({"count": 2}, [alloc("A", version=3), alloc("B", version=2)], 2, True),
        ({"count": 1, "at_least_nodes": ("A",)}, [alloc("A"), alloc("B", version=1)], 2, False),
    ],
    ids=["exact nodes", "exact: one node too many", "exact: an extra pending allocation", "exact: one still pending",
         "at least: more nodes are fine", "at least: one missing", "count", "count: one too many",
         "count: an extra pending allocation", "count: terminal allocations do not count",
         "an allocation the plan stops still runs", "a destructive update: one still on the old version",
         "a destructive update: all on the new version or later", "spread: an old version left on another node"],
)
def test_a_model_matches_its_plan_exactly_when(wait: dict[str, Any], allocs: list[dict[str, Any]],
                                                 version: int | None, ok: bool) -> None:
    from modelsched.drivers.nomad.waiting import progress_of

    others = [dict(alloc("A"), JobID="modelsched-other", ID="x")]
    prog, matched = progress_of(watch(version, **wait), allocs + others)
    assert matched is ok
    assert prog.running == sum(1 for a in allocs if a["ClientStatus"] == "running"
                               and (version is None or a["JobVersion"] >= version))
