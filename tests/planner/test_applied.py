"""`planner.applied`: the observed state after a plan's changes, as every driver sees it."""

from __future__ import annotations

import pytest

from modelsched.model.cluster import Observed, Replica
from modelsched.model.plan import Change
from modelsched.planner import MissingReplicaError, applied, plan
from tests.builders import desired, node, spread


def change(model: str, node_id: str, action: str) -> Change:
    reason = "spread" if action == "add" else "node_not_matching"
    return Change(model, node_id, action, reason, {}, node_id)  # type: ignore[arg-type]


def test_a_removal_takes_the_last_copy_on_the_node_so_the_first_keeps_its_backend_id() -> None:
    before = Observed.from_replicas(
        [node("a"), node("b")], [Replica("m", "a", "id1"), Replica("m", "b", "id2"), Replica("m", "a", "id3")], "x"
    )
    after = applied(before, [change("m", "a", "remove")])
    assert after.replicas == {"m": ["a", "b"]}
    assert after.replica_ids == {"m": ["id1", "id2"]}


def test_additions_are_appended_in_plan_order_without_a_backend_id() -> None:
    before = Observed.from_replicas([node("a"), node("b")], [Replica("m", "a", "id1")], "x")
    after = applied(before, [change("m", "b", "add"), change("n", "a", "add")])
    assert after.replicas == {"m": ["a", "b"], "n": ["a"]}
    assert after.replica_ids == {"m": ["id1", ""], "n": [""]}


def test_a_model_left_with_no_replica_disappears_and_the_input_is_not_changed() -> None:
    before = Observed.from_replicas([node("a")], [Replica("m", "a")], "x")
    after = applied(before, [change("m", "a", "remove")])
    assert after.replicas == {}
    assert before.replicas == {"m": ["a"]}
    assert after.nodes == before.nodes and after.fingerprint == before.fingerprint


def test_removing_a_replica_that_is_not_there_is_an_error_naming_it() -> None:
    before = Observed.from_replicas([node("a")], [Replica("m", "a")], "x")
    with pytest.raises(MissingReplicaError, match="no replica of 'm' on node 'a'"):
        applied(before, [change("m", "a", "remove"), change("m", "a", "remove")])


def test_applying_a_plan_then_planning_again_is_empty() -> None:
    before = Observed.from_replicas(
        [node("a", tier="gpu"), node("b", tier="gpu"), node("c")], [Replica("m", "c"), Replica("m", "a")], "x"
    )
    want = desired(spread("m", tier="gpu"))
    after = applied(before, plan(want, before).changes)
    assert plan(want, after).changes == []
