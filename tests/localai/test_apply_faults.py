"""Faults during apply: every report says what was done and what was not, nothing is
applied from a stale plan, and running apply again converges."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.base import ModelProgress, WaitStatus
from modelsched.drivers.localai import Connection, LocalAIDriver
from modelsched.drivers.localai.apply import Timing
from modelsched.model.entry import Desired, Entry
from modelsched.workflow import plan_with
from tests.clirun import Result, Run
from tests.localai.conftest import ADMIN_KEY, Ticker, env_for, replicas_by_node, writes
from tests.localaisim.server import LocalAISim

Config = Callable[[list[dict[str, Any]]], str]
GPU_SPREAD = [{"model_name": "llama", "node_selector": {"tier": "gpu"}, "replicas": "all"}]


def cluster(sim: LocalAISim) -> dict[str, str]:
    ids = {name: sim.add_node(name, {"tier": tier}) for name, tier in
           (("gpu-1", "gpu"), ("gpu-2", "gpu"), ("cpu-1", "cpu"))}
    sim.load_replica(ids["gpu-1"], "llama")
    sim.load_replica(ids["cpu-1"], "llama")
    sim.mark_served("llama")
    return ids


def apply(run: Run, sim: LocalAISim, cfg: str, *extra: str) -> Result:
    return run("apply", "--driver", "localai", "--config", cfg, "--auto-approve", *extra, env=env_for(sim))


def converges(run: Run, sim: LocalAISim, cfg: str) -> None:
    again = apply(run, sim, cfg)
    assert again.code == 0, again.err
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1, "gpu-2": 1}
    assert "No changes." in run("plan", "--driver", "localai", "--config", cfg, env=env_for(sim)).out


def test_a_failed_unload_reports_the_row_as_done_and_the_unload_as_failed_and_a_rerun_converges(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    ids = cluster(sim)
    cfg = config(GPU_SPREAD)
    sim.fail(status=500, path_prefix=f"/api/nodes/{ids['cpu-1']}/models/unload")
    got = apply(run, sim, cfg)
    assert got.code == 1
    assert "applied: create scheduling row llama" in got.out
    assert "failed: unload llama on node cpu-1" in got.out
    assert "Apply incomplete" in got.err
    assert "failed: remove llama on cpu-1: unload llama on node cpu-1 failed" in got.err
    assert "(HTTP 500): simulated failure" in got.err
    assert [r["model_name"] for r in sim.rows()] == ["llama"]
    converges(run, sim, cfg)


@pytest.mark.parametrize(
    "fault",
    ["drop", "delay"],
    ids=["the connection drops after the row is sent", "the frontend answers the row write too late"],
)
def test_a_write_with_an_unknown_outcome_says_so_stops_and_a_rerun_converges(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker, fault: str
) -> None:
    cluster(sim)
    cfg = config(GPU_SPREAD)
    if fault == "drop":
        sim.drop(path_prefix="/api/nodes/scheduling", method="POST")
    else:
        sim.delay(2.0, path_prefix="/api/nodes/scheduling", method="POST")
    got = apply(run, sim, cfg, "--localai-timeout", "0.5")
    assert got.code == 1
    assert "did not answer writing the scheduling row of llama" in got.err
    assert "it may or may not have been done" in got.err
    assert "not attempted: unload llama on node cpu-1" in got.out
    assert not any(p.endswith("/unload") for _, p in writes(sim))
    converges(run, sim, cfg)


def test_a_frontend_down_before_apply_changes_nothing(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    cluster(sim)
    out = str(tmp_path / "plan.json")
    assert run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), "--out", out, env=env_for(sim)).code == 0
    sim.set_down(True)
    got = run("apply", out, env=env_for(sim))
    assert got.code == 1 and "is unreachable" in got.err and "Nothing was applied" in got.err


def test_a_model_that_never_served_is_reported_with_what_to_do(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    cfg = config([{"model_name": "fresh", "node_selector": {"tier": "gpu"}, "min_replicas": 1, "max_replicas": 1}])
    got = apply(run, sim, cfg, "--timeout", "0.3")
    assert got.code == 1
    assert "applied: create scheduling row fresh" in got.out
    assert "failed: add fresh on gpu-1: 0 of 1 replicas on matching nodes after 0.3s" in got.err
    assert "if fresh has never served a request, LocalAI cannot replicate it: send it one request" in got.err
    assert "localai: waiting for LocalAI's reconciler" in got.err
    assert "fresh: not converged: 0 of 1 replicas on matching nodes" in got.out


def test_the_plan_warns_about_a_model_with_no_replica_and_about_a_capacity_cooldown(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    sim.mark_served("llama")
    sim.seed([{"model_name": "llama", "node_selector": {"tier": "none"}, "min_replicas": 1}])
    for _ in range(3):
        sim.tick()
    assert sim.rows()[0]["unsatisfiable_until"] is not None
    cfg = config([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "min_replicas": 1}])
    got = run("plan", "--driver", "localai", "--config", cfg, "--format", "json", env=env_for(sim))
    messages = [d["message"] for d in json.loads(got.out)["diagnostics"]]
    assert any(m.startswith("LocalAI put it in a capacity cooldown until ") for m in messages)
    assert any("replicates only a model that has served a request" in m for m in messages)


@pytest.mark.parametrize(
    ("move", "says"),
    [
        ("labels", "1 node changed (cpu-1 labels or status changed)"),
        ("row", "1 scheduling row changed (llama)"),
        ("replica", "1 node changed (gpu-2 replicas changed)"),
    ],
    ids=["a node's labels changed", "a scheduling row was written meanwhile", "a replica was loaded meanwhile"],
)
def test_a_stale_saved_plan_is_refused_naming_what_moved(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path, move: str, says: str
) -> None:
    ids = cluster(sim)
    out = str(tmp_path / "plan.json")
    assert run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), "--out", out, env=env_for(sim)).code == 0
    assert json.loads(Path(out).read_text())["observed_nodes"]
    if move == "labels":
        sim.set_labels(ids["cpu-1"], {"tier": "gpu"})
    elif move == "row":
        sim.seed([{"model_name": "llama", "min_replicas": 1}])
    else:
        sim.load_replica(ids["gpu-2"], "llama")
    sim.reset_requests()
    got = run("apply", out, env=env_for(sim))
    assert got.code == 1
    assert "Saved plan is stale" in got.err and says in got.err and "nothing was applied" in got.err
    assert writes(sim) == []


class Hook:
    """A Reporter that records everything and runs `on_wait` at the first wait snapshot."""

    def __init__(self, on_wait: Callable[[], None]) -> None:
        self.lines: list[str] = []
        self.snapshots: list[WaitStatus] = []
        self.on_wait = on_wait

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def waiting(self, status: WaitStatus) -> None:
        self.snapshots.append(status)
        if len(self.snapshots) == 1:
            self.on_wait()


def driver_plan(sim: LocalAISim, timeout: float = 5.0) -> tuple[LocalAIDriver, Any]:
    drv = LocalAIDriver(Connection(address=sim.address, api_key=ADMIN_KEY), timing=Timing(timeout=timeout, poll=0.01))
    desired = Desired(entries=(Entry(model_name="llama", node_selector={"tier": "gpu"}, spread=True),))
    return drv, plan_with(drv, desired, prune=False)


def test_ctrl_c_while_waiting_returns_the_report_interrupted_with_the_last_status(sim: LocalAISim) -> None:
    cluster(sim)
    drv, plan = driver_plan(sim)

    def interrupt() -> None:
        raise KeyboardInterrupt

    hook = Hook(interrupt)
    report = drv.apply(plan, hook)
    assert report.interrupted and not report.ok
    assert [(c.action, c.node) for c in report.applied] == [("remove", "cpu-1")]
    assert [(c.action, c.node) for c in report.not_attempted] == [("add", "gpu-2")]
    assert report.status == WaitStatus(report.status.elapsed, (ModelProgress("llama", 1, 2, pending=1),))


def test_a_frontend_failing_while_waiting_keeps_what_was_done(sim: LocalAISim) -> None:
    cluster(sim)
    drv, plan = driver_plan(sim)
    hook = Hook(lambda: sim.fail(times=100, status=502))
    report = drv.apply(plan, hook)
    assert not report.ok and not report.interrupted
    assert "applied: create scheduling row llama" in report.messages
    assert [(c.action, c.node) for c in report.applied] == [("remove", "cpu-1")]
    assert [(c.action, c.node) for c in report.not_attempted] == [("add", "gpu-2")]
    assert any("while waiting" in e and "(HTTP 502)" in e for e in report.errors)


def test_the_wait_reports_each_model_running_and_wanted(sim: LocalAISim) -> None:
    cluster(sim)
    drv, plan = driver_plan(sim)
    hook = Hook(sim.tick)
    report = drv.apply(plan, hook)
    assert report.ok, report.errors
    assert hook.snapshots[0].models == (ModelProgress("llama", 1, 2, pending=1),)
    assert hook.snapshots[-1].models == (ModelProgress("llama", 2, 2),)
    assert "localai: llama: placement matches the plan" in hook.lines


class StopAfter:
    """A Reporter that raises KeyboardInterrupt (Ctrl-C) when it sees `line`."""

    def __init__(self, line: str) -> None:
        self.line = line

    def __call__(self, message: str) -> None:
        if message == self.line:
            raise KeyboardInterrupt

    def waiting(self, status: WaitStatus) -> None:
        del status


def test_ctrl_c_between_requests_reports_what_was_done_and_sends_nothing_more(sim: LocalAISim) -> None:
    cluster(sim)
    drv, plan = driver_plan(sim)
    report = drv.apply(plan, StopAfter("localai: create scheduling row llama: done"))
    assert report.interrupted
    assert report.messages == ["applied: create scheduling row llama"]
    assert sorted((c.action, c.node) for c in report.not_attempted) == [("add", "gpu-2"), ("remove", "cpu-1")]
    assert not any(p.endswith("/unload") for _, p in writes(sim))
    assert replicas_by_node(sim, "llama") == {"cpu-1": 1, "gpu-1": 1}


def test_no_wait_applies_the_operations_and_says_additions_are_not_awaited(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    cluster(sim)
    report = tmp_path / "report.json"
    got = apply(run, sim, config(GPU_SPREAD), "--no-wait", "--report", str(report))
    assert got.code == 0, got.err
    assert "not waited for (--no-wait)" in got.out
    assert "llama: 1 replica(s) to add: row written; placement left to LocalAI (not awaited)" in got.out
    assert "added on" not in got.out  # the plan's node for an addition is LocalAI's to choose
    assert "llama: removed from cpu-1" in got.out  # a removal is an exact unload: applied
    assert "Apply complete: 0 replica(s) added, 1 removed." in got.out
    data = json.loads(report.read_text())
    assert data["summary"]["applied"] == 1 and data["models"][0]["applied"] == {"add": 0, "remove": 1}
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1}
    assert not any("waiting" in line for line in got.err.splitlines())


def test_no_wait_says_an_addition_with_an_unchanged_row_is_left_to_localai(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    cluster(sim)
    sim.seed(GPU_SPREAD)
    got = apply(run, sim, config(GPU_SPREAD), "--no-wait")
    assert got.code == 0, got.err
    assert "llama: 1 replica(s) to add: row already as planned; placement left to LocalAI (not awaited)" in got.out
    assert "Apply complete: 0 replica(s) added, 1 removed." in got.out


def test_ctrl_c_before_any_change_reports_everything_not_attempted(sim: LocalAISim) -> None:
    cluster(sim)
    drv, plan = driver_plan(sim)
    sim.reset_requests()
    report = drv.apply(plan, StopAfter(f"localai: re-observing {sim.address}"))
    assert report.interrupted and report.applied == [] and len(report.not_attempted) == 2
    assert sim.requests == []


class DownAfter:
    """A Reporter that takes the frontend down (and drops the client's open connections)
    when it sees `line`."""

    def __init__(self, sim: LocalAISim, drv: LocalAIDriver, line: str) -> None:
        self.sim, self.drv, self.line = sim, drv, line
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)
        if message == self.line:
            self.sim.set_down(True)
            self.drv.client.session.close()

    def waiting(self, status: WaitStatus) -> None:
        del status


def test_a_frontend_going_down_mid_apply_reports_done_and_not_done_and_a_rerun_converges(
    sim: LocalAISim, reconciler: Ticker
) -> None:
    cluster(sim)
    sim.add_node("cpu-2", {"tier": "cpu"})
    sim.load_replica(next(n.id for n in sim.state.nodes.values() if n.name == "cpu-2"), "llama")
    drv, plan = driver_plan(sim)
    report = drv.apply(plan, DownAfter(sim, drv, "localai: unload llama on node cpu-1: done"))
    assert not report.ok
    assert report.messages == [
        "applied: create scheduling row llama",
        "applied: unload llama on node cpu-1",
        "failed: unload llama on node cpu-2",
    ]
    assert [(c.action, c.node) for c in report.applied] == [("remove", "cpu-1")]
    assert [(c.action, c.node) for c, _ in report.failed] == [("remove", "cpu-2")]
    assert [(c.action, c.node) for c in report.not_attempted] == [("add", "gpu-2")]
    assert any("is unreachable during unloading llama on node cpu-2" in e for e in report.errors)
    sim.set_down(False)
    drv, plan = driver_plan(sim)
    assert drv.apply(plan, Hook(lambda: None)).ok
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1, "gpu-2": 1}
