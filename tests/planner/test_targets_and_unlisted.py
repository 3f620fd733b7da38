"""`--target` narrows the plan to some listed models; unlisted models are reported, not touched."""

from __future__ import annotations

from modelsched.model.plan import UnlistedModel
from modelsched.planner import plan
from tests.builders import bounded, desired, node, observed, spread

NODES = [node("g1", tier="gpu"), node("g2", tier="gpu"), node("c1", tier="cpu")]


def test_a_target_plans_only_that_model_and_records_the_targets() -> None:
    obs = observed(NODES, [("llm", "g1")])
    p = plan(desired(spread("llm", tier="gpu"), spread("embed")), obs, targets=["llm"])
    assert [(c.model, c.node) for c in p.changes] == [("llm", "g2")]
    assert [m.model for m in p.models] == ["llm"]
    assert p.targets == ["llm"]


def test_an_untargeted_listed_model_is_neither_changed_nor_reported_as_unlisted_and_still_counts_as_load() -> None:
    # embed (listed, not targeted) sits on c1 twice; w must add one replica: c1 is busier, so g1.
    obs = observed([node("c1"), node("g1")], [("embed", "c1"), ("embed", "c1")])
    p = plan(desired(spread("embed"), bounded("w", lo=1)), obs, targets=["w"])
    assert [(c.model, c.node, c.action) for c in p.changes] == [("w", "g1", "add")]
    assert p.unlisted == []


def test_a_target_the_config_does_not_list_is_an_error_in_the_plan() -> None:
    p = plan(desired(spread("llm")), observed(NODES), targets=["lm"])
    assert [(d.level, d.message) for d in p.diagnostics] == [
        ("error", "--target lm: the config lists no model of that name")
    ]
    assert p.changes == []


def test_no_targets_means_every_listed_model_and_no_targets_recorded() -> None:
    p = plan(desired(spread("llm", tier="gpu")), observed(NODES))
    assert p.targets == []
    assert len(p.changes) == 2


def test_unlisted_models_are_listed_with_their_replica_and_node_counts_and_left_alone() -> None:
    obs = observed(NODES, [("old", "g1"), ("old", "g1"), ("old", "c1"), ("llm", "g1"), ("aa", "g2")])
    p = plan(desired(spread("llm", tier="gpu")), obs)
    assert p.unlisted == [
        UnlistedModel(model="aa", replicas=1, nodes=1, pruned=False),
        UnlistedModel(model="old", replicas=3, nodes=2, pruned=False),
    ]
    assert {c.model for c in p.changes} == {"llm"}


def test_with_prune_unlisted_models_are_marked_pruned_and_their_replicas_removed() -> None:
    obs = observed(NODES, [("old", "g1"), ("old", "c1")])
    p = plan(desired(), obs, prune=True)
    assert p.unlisted == [UnlistedModel(model="old", replicas=2, nodes=2, pruned=True)]
    assert [(c.model, c.node, c.reason) for c in p.changes] == [("old", "c1", "pruned"), ("old", "g1", "pruned")]


def test_a_blocked_unlisted_model_is_reported_but_never_marked_pruned() -> None:
    obs = observed(NODES, [("theirs", "g1")], blocked={"theirs": "owned by someone else"})
    p = plan(desired(), obs, prune=True)
    assert p.unlisted == [UnlistedModel(model="theirs", replicas=1, nodes=1, pruned=False)]
    assert p.changes == []
