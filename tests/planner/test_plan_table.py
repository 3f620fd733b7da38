"""The planning semantics of DESIGN.md, one sentence per case."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from modelsched.model.cluster import Node
from modelsched.model.entry import Entry
from modelsched.planner import plan
from tests.builders import bounded, desired, entry, node, observed, spread

GPU = {"tier": "gpu"}


def gpu(name: str, **kw: object) -> Node:
    return node(name, tier="gpu", **kw)  # type: ignore[arg-type]


def cpu(name: str, **kw: object) -> Node:
    return node(name, tier="cpu", **kw)  # type: ignore[arg-type]


@dataclass
class Case:
    id: str
    entries: list[Entry]
    nodes: list[Node]
    replicas: list[tuple[str, str]] = field(default_factory=list)
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    prune: bool = False


CASES = [
    Case(
        "spread adds a replica on every matching node that has none",
        [spread("llm", tier="gpu")],
        [gpu("g1"), gpu("g2"), cpu("c1")],
        [("llm", "g1")],
        [("llm", "g2", "add", "spread")],
    ),
    Case(
        "spread with an empty selector covers every healthy node",
        [spread("embed")],
        [gpu("g1"), cpu("c1"), cpu("c2", status="down")],
        [],
        [("embed", "c1", "add", "spread"), ("embed", "g1", "add", "spread")],
    ),
    Case(
        "spread with no matching node is a warning, not an error",
        [spread("llm", tier="tpu")],
        [gpu("g1")],
        [],
        [],
        ["no healthy node matches selector {tier=tpu}"],
    ),
    Case(
        "a replica on an unknown node is removed first of all reasons",
        [spread("llm", tier="gpu")],
        [gpu("g1")],
        [("llm", "g1"), ("llm", "ghost")],
        [("llm", "ghost", "remove", "node_unknown")],
    ),
    Case(
        "a replica on a down node is removed as node_unhealthy",
        [spread("llm", tier="gpu")],
        [gpu("g1"), gpu("g2", status="down")],
        [("llm", "g1"), ("llm", "g2")],
        [("llm", "g2", "remove", "node_unhealthy")],
    ),
    Case(
        "a replica on an ineligible node is removed as node_unhealthy",
        [spread("llm", tier="gpu")],
        [gpu("g1", eligible=False), gpu("g2")],
        [("llm", "g1"), ("llm", "g2")],
        [("llm", "g1", "remove", "node_unhealthy")],
    ),
    Case(
        "an unhealthy node that also does not match reports node_unhealthy (first reason wins)",
        [spread("llm", tier="gpu")],
        [cpu("c1", status="draining"), gpu("g1")],
        [("llm", "c1"), ("llm", "g1")],
        [("llm", "c1", "remove", "node_unhealthy")],
    ),
    Case(
        "a replica on a node that no longer matches is removed as node_not_matching",
        [spread("llm", tier="gpu")],
        [gpu("g1"), cpu("c1")],
        [("llm", "g1"), ("llm", "c1")],
        [("llm", "c1", "remove", "node_not_matching")],
    ),
    Case(
        "extra copies on one node are removed and the first stays",
        [spread("llm", tier="gpu")],
        [gpu("g1")],
        [("llm", "g1"), ("llm", "g1"), ("llm", "g1")],
        [("llm", "g1", "remove", "duplicate_on_node"), ("llm", "g1", "remove", "duplicate_on_node")],
    ),
    Case(
        "bounded below min adds on the least-loaded matching nodes, then by name",
        [bounded("asr", 2, 3, tier="cpu")],
        [cpu("c1"), cpu("c2"), cpu("c3")],
        [("other", "c1"), ("other", "c2")],
        [("asr", "c3", "add", "min_replicas"), ("asr", "c1", "add", "min_replicas")],
    ),
    Case(
        "bounded keeps a live count that lies within bounds (never fights an autoscaler)",
        [bounded("asr", 1, 3, tier="cpu")],
        [cpu("c1"), cpu("c2"), cpu("c3")],
        [("asr", "c1"), ("asr", "c2")],
        [],
    ),
    Case(
        "bounded above max removes the most-loaded first, then name descending",
        [bounded("asr", 1, 1, tier="cpu")],
        [cpu("c1"), cpu("c2"), cpu("c3")],
        [("asr", "c1"), ("asr", "c2"), ("asr", "c3"), ("other", "c2")],
        [("asr", "c2", "remove", "max_replicas"), ("asr", "c3", "remove", "max_replicas")],
    ),
    Case(
        "bounded replaces a replica lost to an unhealthy node to stay at min",
        [bounded("asr", 2, 0, tier="cpu")],
        [cpu("c1"), cpu("c2", status="down"), cpu("c3")],
        [("asr", "c1"), ("asr", "c2")],
        [("asr", "c2", "remove", "node_unhealthy"), ("asr", "c3", "add", "min_replicas")],
    ),
    Case(
        "max_replicas 0 means unbounded: a count above min is kept",
        [bounded("asr", 1, 0)],
        [cpu("c1"), cpu("c2"), cpu("c3")],
        [("asr", "c1"), ("asr", "c2"), ("asr", "c3")],
        [],
    ),
    Case(
        "min above capacity places what fits and warns with the shortfall",
        [bounded("asr", 4, 0, tier="cpu")],
        [cpu("c1"), cpu("c2"), gpu("g1")],
        [],
        [("asr", "c1", "add", "min_replicas"), ("asr", "c2", "add", "min_replicas")],
        ["min_replicas is 4 but only 2 healthy node(s) match selector {tier=cpu}: 2 replica(s) short"],
    ),
    Case(
        "min 0 and max 0 keeps the count and only removes invalid replicas",
        [bounded("asr", 0, 0, tier="cpu")],
        [cpu("c1"), gpu("g1")],
        [("asr", "c1"), ("asr", "g1")],
        [("asr", "g1", "remove", "node_not_matching")],
    ),
    Case(
        "later models see earlier models' additions when choosing the least-loaded node",
        [bounded("a", 1, 1), bounded("b", 1, 1)],
        [cpu("c1"), cpu("c2")],
        [],
        [("a", "c1", "add", "min_replicas"), ("b", "c2", "add", "min_replicas")],
    ),
    Case(
        "unlisted models are never touched without prune, even on unknown nodes",
        [spread("llm", tier="gpu")],
        [gpu("g1")],
        [("llm", "g1"), ("old", "g1"), ("old", "ghost")],
        [],
    ),
    Case(
        "prune removes every replica of unlisted models",
        [spread("llm", tier="gpu")],
        [gpu("g1")],
        [("llm", "g1"), ("old", "g1"), ("old", "ghost")],
        [("old", "g1", "remove", "pruned"), ("old", "ghost", "remove", "pruned")],
        prune=True,
    ),
    Case(
        "selectors match exactly and case-sensitively",
        [spread("llm", tier="GPU")],
        [gpu("g1")],
        [],
        [],
        ["no healthy node matches selector {tier=GPU}"],
    ),
    Case(
        "a selector needs every pair on the node",
        [spread("llm", tier="gpu", zone="a")],
        [node("g1", tier="gpu", zone="a"), node("g2", tier="gpu", zone="b")],
        [],
        [("llm", "g1", "add", "spread")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_planning_semantics(case: Case) -> None:
    result = plan(desired(*case.entries), observed(case.nodes, case.replicas), prune=case.prune)
    got = [(c.model, c.node, c.action, c.reason) for c in result.changes]
    # Changes come sorted: model, removes before adds, then node.
    expected = sorted(case.changes, key=lambda c: (c[0], 0 if c[2] == "remove" else 1, c[1]))
    assert got == expected
    assert [d.message for d in result.diagnostics if d.level == "warning"] == case.warnings
    assert result.summary.add == sum(1 for c in got if c[2] == "add")
    assert result.summary.remove == sum(1 for c in got if c[2] == "remove")


def test_model_summaries_count_current_replicas_and_target() -> None:
    result = plan(
        desired(spread("llm", tier="gpu"), bounded("asr", 1, 2, tier="cpu")),
        observed(
            [gpu("g1"), gpu("g2"), gpu("g3", status="down"), cpu("c1"), cpu("c2")],
            [("llm", "g1"), ("llm", "g3"), ("asr", "c1")],
        ),
    )
    summaries = {m.model: (m.mode, m.selector, m.matching_nodes, m.current, m.target) for m in result.models}
    assert summaries == {
        "asr": ("bounded", {"tier": "cpu"}, 2, 1, 1),
        "llm": ("spread", {"tier": "gpu"}, 2, 2, 2),
    }


def test_blocked_models_are_left_alone_with_a_warning() -> None:
    result = plan(
        desired(spread("llm", tier="gpu")),
        observed([gpu("g1")], [("llm", "g1")], blocked={"llm": "job modelsched-llm is not ours"}),
        prune=True,
    )
    assert result.changes == []
    assert [(d.level, d.model, d.message) for d in result.diagnostics] == [
        ("warning", "llm", "job modelsched-llm is not ours")
    ]


def test_a_blocked_model_is_not_pruned_even_when_unlisted() -> None:
    result = plan(
        desired(spread("other", tier="gpu")),
        observed([gpu("g1")], [("llm", "g1"), ("other", "g1")], blocked={"llm": "job modelsched-llm is not ours"}),
        prune=True,
    )
    assert result.changes == []


def test_a_scope_from_the_driver_narrows_where_a_model_can_run() -> None:
    # e.g. a Nomad job's node pool: g2 matches the selector but the job cannot run there.
    result = plan(
        desired(spread("llm", tier="gpu"), bounded("big", 2, 0, tier="gpu")),
        observed([gpu("g1"), gpu("g2"), gpu("g3")], [("llm", "g2")], scopes={"llm": frozenset({"g1", "g3"})}),
    )
    assert [(c.model, c.action, c.node, c.reason) for c in result.changes] == [
        ("big", "add", "g1", "min_replicas"),
        ("big", "add", "g2", "min_replicas"),
        ("llm", "remove", "g2", "node_not_matching"),
        ("llm", "add", "g1", "spread"),
        ("llm", "add", "g3", "spread"),
    ]
    assert {m.model: m.matching_nodes for m in result.models} == {"big": 3, "llm": 2}


def test_change_carries_node_labels_sorted() -> None:
    result = plan(desired(spread("llm")), observed([node("n1", zone="a", tier="gpu")]))
    assert result.changes[0].labels == {"tier": "gpu", "zone": "a"}
    assert list(result.changes[0].labels) == ["tier", "zone"]


def test_plan_records_digest_fingerprint_driver_and_cluster() -> None:
    d = desired(entry("m"))
    result = plan(d, observed([node("n1")]), driver="local", cluster={"state": "/x.yaml"})
    assert result.desired_digest == d.digest()
    assert result.observed_fingerprint == "sha256:test"
    assert (result.driver, result.cluster) == ("local", {"state": "/x.yaml"})
