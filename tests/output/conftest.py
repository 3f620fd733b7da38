"""Shared plans for output tests: the benchmark's churn plan is built once per run."""

from __future__ import annotations

import pytest

from benchmarks.plan_scale import build_desired, build_state, perturb
from modelsched.model.cluster import Node, Observed, Replica
from modelsched.model.plan import Plan
from modelsched.planner import plan
from modelsched.workflow.kept import kept_nodes


def benchmark_churn_plan(nodes: int = 5000, models: int = 500, *, kept: bool = False) -> Plan:
    """The benchmark's churn plan: `nodes` nodes, `models` models, 10% of nodes changed
    (half down, half relabelled), planned by the real planner; `kept`: with `Plan.nodes`."""
    desired = build_desired(models)
    state = perturb(build_state(nodes, desired), 0.10)
    observed = Observed.from_replicas(
        [Node(n["name"], n["name"], n["labels"], n.get("status", "ready")) for n in state["nodes"]],
        (Replica(r["model"], r["node"]) for r in state["replicas"]),
        "sha256:churn",
    )
    result = plan(desired, observed)
    if kept:  # as `plan --format html` makes it: every node with the replicas kept on it
        result = result.model_copy(update={"nodes": kept_nodes(observed, result.changes)})
    return result


@pytest.fixture(scope="session")
def churn() -> Plan:
    return benchmark_churn_plan()


@pytest.fixture(scope="session")
def churn_kept() -> Plan:
    return benchmark_churn_plan(kept=True)
