"""What the LocalAI plan says it will do, decided from the planner's changes and the
observed rows and replicas (pure: no server)."""

from __future__ import annotations

from typing import Any

import pytest

from modelsched.drivers.localai import wire
from modelsched.drivers.localai.apply import _progress_of, _View
from modelsched.drivers.localai.data import Expect, LiveNode, LiveReplica, LiveRow, RowSpec, Snapshot
from modelsched.drivers.localai.observe import observed_of
from modelsched.drivers.localai.prepare import ADD_NOTE, PARTIAL_NOTE, UNLOAD_NOTE, prepare, row_diff, spec_of
from modelsched.errors import DriverError
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Change, ModelPlan, Plan, Summary


def snap(replicas: list[tuple[str, str]], rows: tuple[LiveRow, ...] = ()) -> Snapshot:
    nodes = (
        LiveNode(id="a", name="gpu-1", status="healthy", labels={"tier": "gpu"}, slots=2),
        LiveNode(id="b", name="cpu-1", status="healthy", labels={"tier": "cpu"}),
    )
    return Snapshot(address="http://x", nodes=nodes, rows=rows, fingerprint="sha256:x",
                    replicas=tuple(LiveReplica(model=m, node_id=n) for m, n in replicas))


def change(action: str, node_id: str, reason: str, model: str = "llama") -> Change:
    name = {"a": "gpu-1", "b": "cpu-1"}[node_id]
    return Change(model, name, action, reason, {}, node_id)  # type: ignore[arg-type]


def a_plan(changes: list[Change], target: int) -> Plan:
    adds = sum(c.action == "add" for c in changes)
    return Plan(generator="t", driver="localai", cluster={"address": "http://x"}, desired_digest="d",
                observed_fingerprint="sha256:x", changes=changes,
                models=[ModelPlan(model="llama", mode="bounded", selector={"tier": "gpu"}, matching_nodes=1,
                                  current=2, target=target)],
                summary=Summary(add=adds, remove=len(changes) - adds))


DESIRED = Desired(entries=(Entry(model_name="llama", node_selector={"tier": "gpu"}, max_replicas=1),))


def test_removing_some_but_not_all_replicas_on_a_node_is_left_to_localai_and_not_unloaded() -> None:
    s = snap([("llama", "a"), ("llama", "a")])
    got = prepare(a_plan([change("remove", "a", "max_replicas")], 1), DESIRED, observed_of(s, ["llama"]), s)
    assert [o.action for o in got.operations] == ["create"]
    assert got.changes[0].note == PARTIAL_NOTE
    assert got.driver_data is not None
    assert got.driver_data["unloads"] == []
    assert got.driver_data["expect"][0]["target"] == 2  # the copy LocalAI keeps is not awaited away


def test_removing_every_replica_on_a_node_is_one_exact_unload() -> None:
    s = snap([("llama", "a"), ("llama", "b")])
    plan = a_plan([change("remove", "b", "node_not_matching"), change("add", "a", "min_replicas")], 1)
    got = prepare(plan, DESIRED, observed_of(s, ["llama"]), s)
    assert [(o.action, o.target) for o in got.operations] == [("create", "scheduling row llama"),
                                                             ("unload", "llama on cpu-1")]
    assert [c.note for c in got.changes] == [UNLOAD_NOTE, ADD_NOTE]
    assert got.driver_data is not None
    assert got.driver_data["unloads"] == [{"model": "llama", "node_id": "b", "node_name": "cpu-1"}]
    assert got.driver_data["expect"][0]["gone_from"] == ["b"]


def test_a_model_loaded_on_demand_without_a_row_is_not_managed() -> None:
    s = snap([("chat", "a")], rows=(LiveRow(spec=RowSpec(model_name="old")),))
    observed = observed_of(s, ["llama"])
    assert "chat" in observed.blocked and "old" not in observed.blocked


@pytest.mark.parametrize(
    ("old", "new", "lines"),
    [
        (None, RowSpec(model_name="m", spread_all=True, node_selector={"t": "g"}),
         ["+ node_selector: {t=g}", "+ spread_all: true"]),
        (RowSpec(model_name="m", min_replicas=1), RowSpec(model_name="m", min_replicas=2),
         ["~ min_replicas: 1 => 2"]),
        (RowSpec(model_name="m", node_selector={"t": "g"}), RowSpec(model_name="m"),
         ["~ node_selector: {t=g} => {}"]),
        (RowSpec(model_name="m", min_prefix_match=0.5), RowSpec(model_name="m", route_policy="prefix_cache"),
         ['~ route_policy: "" => "prefix_cache"', "~ min_prefix_match: 0.5 => 0.0"]),
    ],
    ids=["a new row lists its set fields", "a changed count", "a dropped selector", "routing fields"],
)
def test_row_diff_lines(old: RowSpec | None, new: RowSpec, lines: list[str]) -> None:
    assert row_diff(old, new) == lines


def test_the_row_body_always_sends_spread_all_and_every_routing_field_never_replicas() -> None:
    body = spec_of(Entry(model_name="m", spread=True, node_selector={"b": "2", "a": "1"})).body()
    assert body == {"model_name": "m", "node_selector": {"a": "1", "b": "2"}, "min_replicas": 0, "max_replicas": 0,
                    "spread_all": True, "route_policy": "", "balance_abs_threshold": 0,
                    "balance_rel_threshold": 0.0, "min_prefix_match": 0.0}


ROW: dict[str, Any] = {"id": "x", "model_name": "m", "node_selector": '{"tier":"gpu"}', "min_replicas": 1,
                       "max_replicas": 2, "unsatisfiable_ticks": 0}


@pytest.mark.parametrize(
    ("item", "selector"),
    [(ROW, {"tier": "gpu"}), ({**ROW, "node_selector": {"tier": "gpu"}}, {"tier": "gpu"}),
     ({k: v for k, v in ROW.items() if k != "node_selector"}, {})],
    ids=["a selector sent as JSON text", "a selector sent as an object", "an omitted selector"],
)
def test_rows_decode_localai_selector_quirks(item: dict[str, Any], selector: dict[str, str]) -> None:
    (row,) = wire.rows("http://x", [item])
    assert row.spec.node_selector == selector and row.spec.spread_all is False


def test_only_loaded_replicas_count_and_zero_slots_means_one() -> None:
    reps = wire.replicas("http://x", [{"node_id": "a", "model_name": "m", "state": s} for s in
                                      ("loaded", "loading", "staging", "unloading")])
    assert [r.model for r in reps] == ["m"]
    (node,) = wire.nodes("http://x", [{"id": "a", "name": "n", "status": "healthy", "max_replicas_per_model": 0}])
    assert node.slots == 1


@pytest.mark.parametrize(
    ("items", "says"),
    [
        ([{"id": "a", "status": "healthy"}, {"id": "a", "status": "healthy"}], "node ID a twice"),
        ([{"id": "a", "max_replicas_per_model": "2"}], "max_replicas_per_model is str"),
        (["a"], "not an object"),
    ],
    ids=["a duplicate node ID", "a count as text", "an item that is not an object"],
)
def test_malformed_node_lists_are_errors(items: list[Any], says: str) -> None:
    with pytest.raises(DriverError) as err:
        wire.nodes("http://x", items)
    assert says in str(err.value)


def test_node_status_maps_to_health() -> None:
    s = Snapshot(address="x", replicas=(), rows=(), fingerprint="f", nodes=tuple(
        LiveNode(id=st, name=st, status=st, node_type=kind)
        for st, kind in (("healthy", "backend"), ("draining", ""), ("unhealthy", ""), ("offline", ""),
                         ("pending", ""), ("healthy", "agent"))))
    got = observed_of(s, [])
    assert [n.healthy for n in got.nodes] == [True, False, False, False, False, False]


@pytest.mark.parametrize(
    ("replicas", "expect", "done", "running"),
    [
        ([("llama", "a")], {"target": 1}, True, 1),
        ([("llama", "a")], {"target": 2}, False, 1),
        ([("llama", "a"), ("llama", "b")], {"target": 1}, False, 1),
        ([("llama", "a"), ("llama", "a")], {"target": 2}, True, 2),
        ([("llama", "b")], {"target": None, "listed": False, "gone_from": ("b",)}, False, 0),
        ([("chat", "b")], {"target": None, "listed": False, "gone_from": ("b",)}, True, 0),
    ],
    ids=[
        "the planned count on matching nodes is done",
        "fewer than planned is not done",
        "a replica left on a non-matching node is not done",
        "two replicas in a two-slot node count twice",
        "a pruned model still on its node is not done",
        "another model on that node does not count",
    ],
)
def test_when_the_wait_counts_a_model_as_placed(
    replicas: list[tuple[str, str]], expect: dict[str, Any], done: bool, running: int
) -> None:
    e = Expect(model="llama", listed=expect.get("listed", True), selector={"tier": "gpu"},
               target=expect["target"], gone_from=expect.get("gone_from", ()))
    got_done, prog = _progress_of(_View(snap(replicas)), e)
    assert (got_done, prog.running) == (done, running)
    if not done and any(n == "b" for _, n in replicas):
        assert "still loaded on cpu-1" in prog.detail


def test_config_keys_a_row_cannot_carry_are_warned_about_not_dropped_silently() -> None:
    desired = Desired(entries=(Entry(model_name="llama", node_selector={"tier": "gpu"}, scorer_weights={"a": 1},
                                     placement="pinned"),))
    s = snap([("llama", "a")])
    got = prepare(a_plan([], 1), desired, observed_of(s, ["llama"]), s)
    messages = [d.message for d in got.diagnostics]
    assert any(m.startswith("scorer_weights is not written") for m in messages)
    assert any(m.startswith("placement: pinned is a Nomad setting") for m in messages)
