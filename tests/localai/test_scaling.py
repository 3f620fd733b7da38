"""The work prepare and apply's wait do grows with the cluster, not with its square: each
list is indexed once (per plan, per observed snapshot), not once per model or per unload."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from modelsched.drivers.base import WaitStatus
from modelsched.drivers.localai import apply as apply_mod
from modelsched.drivers.localai.data import Expect, LiveNode, LiveReplica, PlanData, Snapshot
from modelsched.drivers.localai.observe import observed_of
from modelsched.drivers.localai.prepare import prepare
from modelsched.model.entry import Desired
from modelsched.model.plan import Change, ModelPlan, Plan, Summary

NODES = 6
MODELS = 12


class Quiet:
    def __call__(self, message: str) -> None:
        pass

    def waiting(self, status: WaitStatus) -> None:
        pass


def cluster() -> Snapshot:
    nodes = tuple(LiveNode(id=f"n{i}", name=f"node-{i}", status="healthy", labels={"tier": "gpu"})
                  for i in range(NODES))
    replicas = tuple(LiveReplica(model=f"m{j}", node_id=f"n{i}") for j in range(MODELS) for i in range(NODES))
    return Snapshot(address="http://h:1", nodes=nodes, replicas=replicas, rows=(), fingerprint="sha256:x")


class CountingList(list[Change]):
    iterations = 0

    def __iter__(self) -> Any:
        CountingList.iterations += 1
        return super().__iter__()


def test_prepare_reads_the_changes_a_fixed_number_of_times_whatever_the_number_of_unloads() -> None:
    snap = cluster()
    changes = [Change(f"m{j}", f"node-{i}", "remove", "pruned", {}, f"n{i}")
               for j in range(MODELS) for i in range(NODES)]
    plan = Plan(generator="t", driver="localai", cluster={"address": "http://h:1"}, desired_digest="d",
                observed_fingerprint="sha256:x", prune=True, summary=Summary(remove=len(changes)))
    plan = plan.model_copy(update={"changes": CountingList(changes)})
    CountingList.iterations = 0
    got = prepare(plan, Desired(entries=()), observed_of(snap, []), snap)
    assert len(got.driver_data["unloads"]) == MODELS * NODES  # type: ignore[index]
    assert all(o.detail == "the model is not in the config (--prune)" for o in got.operations)
    assert CountingList.iterations < 10, f"{CountingList.iterations} passes over the changes"


def test_the_wait_indexes_each_snapshot_once_whatever_the_number_of_models(monkeypatch: pytest.MonkeyPatch) -> None:
    snap = cluster()
    calls: Counter[str] = Counter()
    row_map, schedulable = Snapshot.row_map, LiveNode.schedulable
    monkeypatch.setattr(apply_mod, "snapshot", lambda client, listed: snap)
    monkeypatch.setattr(Snapshot, "row_map", lambda self: (calls.update(["row_map"]), row_map(self))[1])
    monkeypatch.setattr(LiveNode, "schedulable",
                        property(lambda self: (calls.update(["schedulable"]), schedulable.fget(self))[1]))  # type: ignore[attr-defined]
    models = [ModelPlan(model=f"m{j}", mode="spread", selector={"tier": "gpu"}, matching_nodes=NODES,
                        current=NODES, target=NODES) for j in range(MODELS)]
    expect = [Expect(model=m.model, listed=True, selector={"tier": "gpu"}, target=NODES) for m in models]
    run = apply_mod._Run(client=None, data=PlanData(address="http://h:1"), progress=Quiet())  # type: ignore[arg-type]
    left = apply_mod._wait(run, expect, apply_mod.Timing(timeout=5, poll=0))
    assert left == {}
    assert run.report.status is not None
    assert [(m.model, m.running) for m in run.report.status.models] == [(f"m{j}", NODES) for j in sorted(
        range(MODELS), key=lambda j: f"m{j}")]
    assert calls == {"row_map": 1, "schedulable": NODES}
