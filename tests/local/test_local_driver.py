"""The local driver: observe, apply, staleness, atomic writes, bad state files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelsched.drivers.local import LocalDriver
from modelsched.errors import StalePlanError, StateError
from modelsched.model.drift import node_digests
from modelsched.model.plan import Plan
from modelsched.planner import plan
from tests.builders import bounded, desired, spread

STATE = """\
# my cluster
nodes:
  - name: g1
    labels: {tier: gpu}   # keep this comment
  - name: g2
    labels: {tier: gpu}
  - name: c1
    labels: {tier: cpu, rack: 1}
    eligible: false
replicas:
  - {model: llm, node: g1}
  - {model: llm, node: c1}

# trailing comment stays
"""


def make(tmp_path: Path, text: str = STATE, name: str = "cluster.yaml") -> LocalDriver:
    path = tmp_path / name
    path.write_text(text)
    return LocalDriver(path)


def plan_for(drv: LocalDriver, *entries: object, prune: bool = False) -> Plan:
    """A plan as `plan --out` saves it: with the digests of the nodes it observed."""
    d = desired(*entries)  # type: ignore[arg-type]
    observed = drv.observe(d)
    made = plan(d, observed, prune=prune, driver="local", cluster=drv.cluster())
    return made.model_copy(update={"observed_nodes": node_digests(observed)})


def test_observe_reads_nodes_health_labels_and_replicas(tmp_path: Path) -> None:
    obs = make(tmp_path).observe(desired())
    assert [(n.name, dict(n.labels), n.healthy) for n in obs.nodes] == [
        ("g1", {"tier": "gpu"}, True),
        ("g2", {"tier": "gpu"}, True),
        ("c1", {"rack": "1", "tier": "cpu"}, False),
    ]
    assert obs.replicas == {"llm": ["g1", "c1"]}
    assert obs.fingerprint.startswith("sha256:")


def test_apply_then_plan_again_is_empty_and_keeps_comments(tmp_path: Path) -> None:
    drv = make(tmp_path)
    first = plan_for(drv, spread("llm", tier="gpu"), bounded("asr", 1, 0))
    assert first.summary.add == 2 and first.summary.remove == 1
    report = drv.apply(first, lambda _: None)
    assert report.ok and len(report.applied) == 3
    text = drv.path.read_text()
    assert "# keep this comment" in text and "# trailing comment stays" in text
    again = plan_for(drv, spread("llm", tier="gpu"), bounded("asr", 1, 0))
    assert again.changes == []


def test_apply_refuses_a_stale_plan_and_changes_nothing(tmp_path: Path) -> None:
    drv = make(tmp_path)
    p = plan_for(drv, spread("llm", tier="gpu"))
    drv.path.write_text(STATE.replace("g2", "g9"))
    before = drv.path.read_bytes()
    with pytest.raises(StalePlanError) as err:
        drv.apply(p, lambda _: None)
    assert str(err.value) == (
        "Saved plan is stale: 2 nodes changed (g2 left, g9 joined); nothing was applied. Run modelsched plan again."
    )
    assert drv.path.read_bytes() == before


def test_a_crash_while_writing_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drv = make(tmp_path)
    p = plan_for(drv, spread("llm", tier="gpu"))

    def crash(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StateError, match="cannot write: disk on fire; the file was not changed"):
        drv.apply(p, lambda _: None)
    assert drv.path.read_text() == STATE
    assert [f.name for f in tmp_path.iterdir() if f.suffix == ".tmp"] == []


def test_json_state_round_trips(tmp_path: Path) -> None:
    doc = {"nodes": [{"name": "n1", "labels": {"tier": "gpu"}}], "replicas": []}
    drv = make(tmp_path, json.dumps(doc), "cluster.json")
    p = plan_for(drv, spread("llm"))
    drv.apply(p, lambda _: None)
    assert json.loads(drv.path.read_text())["replicas"] == [{"model": "llm", "node": "n1"}]
    assert plan_for(drv, spread("llm")).changes == []


def test_duplicates_on_a_node_remove_the_later_copies(tmp_path: Path) -> None:
    text = (
        "nodes: [{name: n1}]\nreplicas:\n  - {model: a, node: n1}\n  - {model: b, node: n1}\n  - {model: a, node: n1}\n"
    )
    drv = make(tmp_path, text)
    drv.apply(plan_for(drv, spread("a")), lambda _: None)
    assert "replicas:\n  - {model: a, node: n1}\n  - {model: b, node: n1}\n" in drv.path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes: [", "invalid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("nodes: []\nreplica: []\n", "unknown top-level key 'replica'"),
        ("nodes:\n  - {name: n1, status: sleeping}\n", "nodes[0].status: 'sleeping' is not one of"),
        ("nodes:\n  - {name: n1, eligible: maybe}\n", "nodes[0].eligible: eligible must be true or false"),
        ("nodes:\n  - {name: n1, colour: red}\n", "nodes[0]: unknown key 'colour'"),
        ("nodes:\n  - {labels: {}}\n", "nodes[0]: name must be a non-empty string"),
        ("nodes: []\nreplicas:\n  - {model: a}\n", "replicas[0]: expected {model: <name>, node: <node name>}"),
        ("nodes: []\nnodes: []\n", "duplicate key 'nodes' at line 2 (first at line 1)"),
    ],
    ids=[
        "malformed YAML",
        "a list instead of a mapping",
        "an unknown top-level key",
        "an unknown node status",
        "a non-boolean eligible",
        "an unknown node key",
        "a node without a name",
        "a replica without a node",
        "a duplicated key",
    ],
)
def test_a_corrupt_state_file_is_an_error_and_is_left_untouched(tmp_path: Path, text: str, message: str) -> None:
    drv = make(tmp_path, text)
    with pytest.raises(StateError) as err:
        drv.observe(desired())
    assert message in str(err.value)
    assert str(drv.path) in str(err.value)
    assert drv.path.read_text() == text


def test_a_missing_state_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"file not found .*--state PATH or set MODELSCHED_STATE"):
        LocalDriver(tmp_path / "nope.yaml").observe(desired())


def test_duplicate_node_names_and_unknown_nodes_are_reported_in_the_plan(tmp_path: Path) -> None:
    text = "nodes:\n  - {name: n1}\n  - {name: n1}\nreplicas:\n  - {model: a, node: ghost}\n"
    drv = make(tmp_path, text)
    p = plan_for(drv, spread("a"))
    levels = [(d.level, d.message.split(": ", 1)[1]) for d in p.diagnostics]
    assert ("error", "node 'n1' is defined twice (nodes[0] and nodes[1]); the first definition is used") in levels
    assert ("warning", "a replica of 'a' names unknown node 'ghost'") in levels
    assert ("a", "ghost", "remove", "node_unknown") in [(c.model, c.node, c.action, c.reason) for c in p.changes]


def test_yaml_label_scalars_are_strings(tmp_path: Path) -> None:
    drv = make(tmp_path, "nodes:\n  - {name: n1, labels: {rack: 1, gpu: true}}\n")
    assert dict(drv.observe(desired()).nodes[0].labels) == {"gpu": "true", "rack": "1"}


def test_two_concurrent_applies_of_one_plan_apply_exactly_once(tmp_path: Path) -> None:
    import threading

    drv = make(tmp_path)
    p = plan_for(drv, spread("llm", tier="gpu"), bounded("asr", 1, 0))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            LocalDriver(drv.path, lock_timeout=30).apply(p, lambda _: None)
            outcomes.append("applied")
        except StalePlanError:
            outcomes.append("stale")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "stale"]
    assert plan_for(drv, spread("llm", tier="gpu"), bounded("asr", 1, 0)).changes == []


@pytest.mark.parametrize(
    "text",
    [
        "{nodes: [{name: g1, labels: {tier: gpu}}], replicas: []}\n",
        '{"nodes": [{"name": "g1", "labels": {"tier": "gpu"}}], "replicas": []}\n',
        "{replicas: [], nodes: [{name: g1, labels: {tier: gpu}}]}\n",
        "  nodes:\n    - {name: g1, labels: {tier: gpu}}\n  replicas: []\n",
    ],
    ids=["a flow-style root", "JSON syntax in a .yaml file", "replicas before nodes in flow style", "indented keys"],
)
def test_unusual_yaml_layouts_keep_every_node(tmp_path: Path, text: str) -> None:
    drv = make(tmp_path, text)
    report = drv.apply(plan_for(drv, spread("llm", tier="gpu")), lambda _: None)
    assert report.ok
    obs = drv.observe(desired())
    assert [n.name for n in obs.nodes] == ["g1"]
    assert obs.replicas == {"llm": ["g1"]}


def test_comments_between_the_replicas_block_and_the_next_key_survive(tmp_path: Path) -> None:
    text = "replicas:\n  - {model: llm, node: g9}\n  # about the nodes below\nnodes:\n  - {name: g1}\n"
    drv = make(tmp_path, text)
    drv.apply(plan_for(drv, spread("llm")), lambda _: None)
    expected = "replicas:\n  - {model: llm, node: g1}\n  # about the nodes below\nnodes:\n  - {name: g1}\n"
    assert drv.path.read_text() == expected


def test_slots_are_read_into_the_nodes_and_kept_by_apply(tmp_path: Path) -> None:
    text = "nodes:\n  - name: g1\n    slots: 3   # three replicas of a model fit\n  - {name: g2}\nreplicas: []\n"
    drv = make(tmp_path, text)
    assert [(n.name, n.slots) for n in drv.observe(desired()).nodes] == [("g1", 3), ("g2", 1)]
    drv.apply(plan_for(drv, spread("llm")), lambda _: None)
    assert drv.path.read_text().startswith("nodes:\n  - name: g1\n    slots: 3   # three replicas of a model fit\n")


def test_a_json_state_keeps_slots_through_apply(tmp_path: Path) -> None:
    drv = make(tmp_path, json.dumps({"nodes": [{"name": "n1", "slots": 2}], "replicas": []}), "cluster.json")
    drv.apply(plan_for(drv, spread("llm")), lambda _: None)
    assert json.loads(drv.path.read_text())["nodes"] == [{"name": "n1", "slots": 2}]
    assert drv.observe(desired()).nodes[0].slots == 2


def test_a_stale_plan_names_the_node_that_was_drained(tmp_path: Path) -> None:
    drv = make(tmp_path)
    p = plan_for(drv, spread("llm", tier="gpu"))
    drv.path.write_text(STATE.replace("  - name: g2\n", "  - name: g2\n    status: draining\n"))
    with pytest.raises(StalePlanError, match=r"^Saved plan is stale: 1 node changed \(g2 now draining\); nothing"):
        drv.apply(p, lambda _: None)


def test_a_plan_saved_without_node_digests_is_still_refused_when_stale(tmp_path: Path) -> None:
    drv = make(tmp_path)
    p = plan_for(drv, spread("llm", tier="gpu")).model_copy(update={"observed_nodes": None})
    drv.path.write_text(STATE + "# an edit\n")
    with pytest.raises(StalePlanError, match=r"^Saved plan is stale: the cluster changed; nothing was applied"):
        drv.apply(p, lambda _: None)
    assert drv.path.read_text() == STATE + "# an edit\n"


def test_apply_reports_what_it_wrote(tmp_path: Path) -> None:
    drv = make(tmp_path)
    messages: list[str] = []
    drv.apply(plan_for(drv, spread("llm", tier="gpu")), messages.append)
    assert messages == [f"wrote {drv.path}"]


def test_a_plan_with_errors_is_refused_before_the_lock_is_taken(tmp_path: Path) -> None:
    text = "nodes:\n  - {name: n1}\n  - {name: n1}\n"
    drv = make(tmp_path, text)
    with pytest.raises(StateError, match="the plan has errors"):
        drv.apply(plan_for(drv, spread("a")), lambda _: None)
    assert not (tmp_path / "cluster.yaml.lock").exists()
