"""The replicas a plan keeps on each node (`Plan.nodes`): what `plan --out` and the HTML
plan record, equal to min(before, after) with `after` from `planner.applied`, and
absent from every other output."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from modelsched import planner, workflow
from modelsched.model.cluster import Node, Observed
from modelsched.model.plan import Change, PlanNode, dump_plan
from modelsched.workflow import request
from modelsched.workflow.kept import kept_nodes

# Two replicas of llm on gpu-1 (slots 2), one of them over max_replicas; one on a down
# node; whisper kept on cpu-1; an unlisted model left alone on cpu-1.
CLUSTER = """\
nodes:
  - {name: gpu-1, labels: {tier: gpu}, slots: 2}
  - {name: gpu-2, labels: {tier: gpu}}
  - {name: cpu-1, labels: {tier: cpu}}
  - {name: cpu-0, labels: {tier: cpu}, status: down}
replicas:
  - {model: llm, node: gpu-1}
  - {model: llm, node: gpu-1}
  - {model: llm, node: cpu-0}
  - {model: whisper, node: cpu-1}
  - {model: legacy, node: cpu-1}
"""

CONFIG = """\
- {model_name: llm, node_selector: {tier: gpu}, min_replicas: 1, max_replicas: 1}
- {model_name: whisper, node_selector: {tier: cpu}, replicas: all}
- {model_name: asr, node_selector: {tier: gpu}, replicas: all}
"""


def via_applied(observed: Observed, changes: list[Change]) -> dict[str, dict[str, int]]:
    """The definition: per (model, node) min(replicas before, replicas after the plan)."""
    after = planner.applied(observed, changes)
    kept: dict[str, dict[str, int]] = {n.id: {} for n in observed.nodes}
    for model, nodes in observed.replicas.items():
        before, later = Counter(nodes), Counter(after.replicas.get(model, ()))
        for node_id in kept:
            if min(before[node_id], later[node_id]):
                kept[node_id][model] = min(before[node_id], later[node_id])
    return kept


def make_request(root: Path) -> workflow.Request:
    (root / "cluster.yaml").write_text(CLUSTER)
    (root / "sched.yaml").write_text(CONFIG)
    return workflow.Request(env={}, config=str(root / "sched.yaml"), state=str(root / "cluster.yaml"))


def test_a_saved_plan_records_per_node_the_replicas_applied_leaves_that_were_there(tmp_path: Path) -> None:
    req = make_request(tmp_path)
    saved = workflow.plan(req, str(tmp_path / "p.json"))
    observed = request.build_driver("local", req).observe(workflow.validate(req))
    assert saved.nodes is not None
    assert {n.id: n.kept for n in saved.nodes} == via_applied(observed, saved.changes)
    assert [(n.name, n.labels) for n in saved.nodes] == [
        ("cpu-0", {"tier": "cpu"}), ("cpu-1", {"tier": "cpu"}), ("gpu-1", {"tier": "gpu"}), ("gpu-2", {"tier": "gpu"})
    ], "every observed node, by name"
    assert {n.id: n.kept for n in saved.nodes} == {
        "cpu-0": {}, "cpu-1": {"legacy": 1, "whisper": 1}, "gpu-1": {"llm": 1}, "gpu-2": {},
    }, "one of two llm replicas stays on gpu-1; nothing stays on the down node"
    assert workflow.show(str(tmp_path / "p.json")).nodes == saved.nodes, "the plan file round-trips"


def test_only_saved_and_html_plans_carry_the_nodes(tmp_path: Path) -> None:
    req = make_request(tmp_path)
    plain = workflow.plan(req)
    assert plain.nodes is None
    assert "nodes" not in json.loads(dump_plan(plain)), "JSON without --out is unchanged"
    shown = workflow.plan(req, kept=True)
    assert shown.nodes is not None and len(shown.nodes) == 4
    assert shown.model_copy(update={"nodes": None}) == plain


def test_nodes_sort_by_name_then_id_and_models_by_name() -> None:
    observed = Observed(
        nodes=(Node("id-b", "same", {}), Node("id-a", "same", {}), Node("id-c", "alpha", {"k": "v"})),
        replicas={"zeta": ["id-a"], "alpha": ["id-a", "id-a"], "gone": ["ghost"]},
        fingerprint="x",
    )
    got = kept_nodes(observed, [])
    assert got == [
        PlanNode("id-c", "alpha", {"k": "v"}, {}),
        PlanNode("id-a", "same", {}, {"alpha": 2, "zeta": 1}),
        PlanNode("id-b", "same", {}, {}),
    ]
    assert list(got[1].kept) == ["alpha", "zeta"]


NODES = ("n1", "n2", "n3")


@st.composite
def observed_and_changes(draw: st.DrawFn) -> tuple[Observed, list[Change]]:
    pairs = draw(st.lists(st.tuples(st.sampled_from(("a", "b")), st.sampled_from((*NODES, "ghost"))), max_size=12))
    replicas: dict[str, list[str]] = {}
    for model, node in pairs:
        replicas.setdefault(model, []).append(node)
    drops = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    removed = [p for p, drop in zip(pairs, drops, strict=True) if drop]
    added = draw(st.lists(st.tuples(st.sampled_from(("a", "b", "c")), st.sampled_from(NODES)), max_size=6))
    changes = [Change(m, n, "remove", "max_replicas", {}, n) for m, n in removed]
    changes += [Change(m, n, "add", "spread", {}, n) for m, n in added]
    observed = Observed(nodes=tuple(Node(n, n, {}) for n in NODES), replicas=replicas, fingerprint="x")
    return observed, draw(st.permutations(changes))


@given(observed_and_changes())
def test_kept_is_min_of_before_and_after_for_any_changes(case: tuple[Observed, list[Change]]) -> None:
    observed, changes = case
    assert {n.id: n.kept for n in kept_nodes(observed, changes)} == via_applied(observed, changes)


def test_the_dumped_nodes_keep_the_contract_field_order(tmp_path: Path) -> None:
    saved = workflow.plan(make_request(tmp_path), str(tmp_path / "p.json"))
    data = json.loads((tmp_path / "p.json").read_text())
    assert list(data["nodes"][0]) == ["id", "name", "labels", "kept"]
    assert list(data)[-1] == "nodes", "after observed_nodes (no driver_data for local)"
    assert saved.nodes is not None
