"""Planner invariants over random clusters and configs (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from modelsched.model.cluster import Node, Observed
from modelsched.model.entry import Desired, Entry
from modelsched.model.plan import Plan, dump_plan
from modelsched.planner import applied, plan

NODE_NAMES = [f"n{i}" for i in range(7)]
LISTED = ["m0", "m1", "m2", "m3"]
UNLISTED = ["old0", "old1"]
PAIRS = [("tier", "gpu"), ("tier", "cpu"), ("zone", "a"), ("zone", "b")]


@st.composite
def nodes(draw: st.DrawFn) -> list[Node]:
    names = draw(st.lists(st.sampled_from(NODE_NAMES), unique=True, max_size=len(NODE_NAMES)))
    out = []
    for name in names:
        labels = dict(draw(st.lists(st.sampled_from(PAIRS), max_size=2)))
        status = draw(st.sampled_from(["ready", "ready", "ready", "down", "draining", "initializing"]))
        slots = draw(st.sampled_from([1, 1, 1, 2, 3]))
        out.append(Node(name, name, labels, status, draw(st.booleans() | st.just(True)), slots=slots))
    return out


@st.composite
def entries(draw: st.DrawFn) -> list[Entry]:
    out = []
    for name in draw(st.lists(st.sampled_from(LISTED), unique=True)):
        selector = dict(draw(st.lists(st.sampled_from(PAIRS), max_size=2)))
        if draw(st.booleans()):
            out.append(Entry(model_name=name, node_selector=selector, spread=True))
        else:
            hi = draw(st.integers(0, 4))
            lo = draw(st.integers(0, hi if hi else 4))
            out.append(Entry(model_name=name, node_selector=selector, min_replicas=lo, max_replicas=hi))
    return out


replica_lists = st.lists(
    st.fixed_dictionaries(
        {"model": st.sampled_from(LISTED + UNLISTED), "node": st.sampled_from([*NODE_NAMES, "ghost"])}
    ),
    max_size=14,
)


def observe(ns: list[Node], replicas: list[dict[str, str]]) -> Observed:
    grouped: dict[str, list[str]] = {}
    for r in replicas:
        grouped.setdefault(r["model"], []).append(r["node"])
    return Observed(nodes=tuple(ns), replicas=grouped, fingerprint="sha256:x")


def run(
    ns: list[Node], es: list[Entry], replicas: list[dict[str, str]], prune: bool
) -> tuple[Plan, list[dict[str, str]]]:
    before = observe(ns, replicas)
    p = plan(Desired(entries=tuple(es)), before, prune=prune)
    after = applied(before, p.changes)
    return p, [{"model": m, "node": n} for m in sorted(after.replicas) for n in after.replicas[m]]


def matching(ns: list[Node], e: Entry) -> set[str]:
    return {n.id for n in ns if n.healthy and all(n.labels.get(k) == v for k, v in e.node_selector.items())}


@settings(max_examples=300, deadline=None)
@given(nodes(), entries(), replica_lists, st.booleans())
def test_applying_a_plan_then_planning_again_gives_no_changes(
    ns: list[Node], es: list[Entry], replicas: list[dict[str, str]], prune: bool
) -> None:
    _, after = run(ns, es, replicas, prune)
    again, _ = run(ns, es, after, prune)
    assert again.changes == []


@settings(max_examples=150, deadline=None)
@given(nodes(), entries(), replica_lists, st.booleans(), st.randoms())
def test_the_same_input_gives_byte_identical_json_whatever_the_entry_order(
    ns: list[Node], es: list[Entry], replicas: list[dict[str, str]], prune: bool, rnd: object
) -> None:
    first = dump_plan(plan(Desired(entries=tuple(es)), observe(ns, replicas), prune=prune))
    shuffled = list(es)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    second = dump_plan(plan(Desired(entries=tuple(shuffled)), observe(ns, replicas), prune=prune))
    assert first == second


@settings(max_examples=300, deadline=None)
@given(nodes(), entries(), replica_lists)
def test_no_change_touches_an_unlisted_model_without_prune(
    ns: list[Node], es: list[Entry], replicas: list[dict[str, str]]
) -> None:
    p, _ = run(ns, es, replicas, prune=False)
    listed = {e.model_name for e in es}
    assert {c.model for c in p.changes} <= listed


@settings(max_examples=300, deadline=None)
@given(nodes(), entries(), replica_lists, st.booleans())
def test_after_apply_each_model_is_where_its_entry_says(
    ns: list[Node], es: list[Entry], replicas: list[dict[str, str]], prune: bool
) -> None:
    _, after = run(ns, es, replicas, prune)
    for e in es:
        placed = [r["node"] for r in after if r["model"] == e.model_name]
        want = matching(ns, e)
        # Every replica on a matching healthy node, at most the node's slots on one node.
        slots = {n.id: n.slots for n in ns}
        assert set(placed) <= want
        assert all(placed.count(n) <= slots[n] for n in placed)
        cap = sum(slots[n] for n in want)
        if e.spread:
            assert set(placed) == want
        else:
            max_eff = e.max_replicas or cap
            if e.min_replicas <= cap:
                assert e.min_replicas <= len(placed) <= max_eff
            else:
                assert len(placed) == cap
    if prune:
        assert {r["model"] for r in after} <= {e.model_name for e in es}


def test_changes_are_sorted_by_model_then_removes_before_adds_then_node() -> None:
    ns = [Node(n, n, {"tier": "gpu"}) for n in NODE_NAMES]
    es = [Entry(model_name="m0", spread=True), Entry(model_name="m1", min_replicas=2)]
    replicas = [{"model": m, "node": "ghost"} for m in ("m1", "m0")]
    p, _ = run(ns, es, replicas, prune=False)
    keys = [(c.model, c.action != "remove", c.node) for c in p.changes]
    assert keys == sorted(keys)
    assert [k for k, _ in itertools.groupby(c.model for c in p.changes)] == ["m0", "m1"]
