"""End to end against the Nomad API test server: plan, apply, re-plan; cluster events;
staleness, conflicts, refused tokens, outages; pinned placement; ownership; pruning."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from modelsched.errors import DriverError, StalePlanError
from modelsched.model.entry import Entry
from tests.nomad.flow import TOKEN, apply, desired, driver, make

Ids = dict[str, str]


def gpu(i: int) -> str:
    return f"gpu-{i}"


@pytest.fixture
def cluster(nomad_sim: Any) -> dict[str, str]:
    """Mixed cluster: 3 tier=gpu, 2 tier=cpu nodes, one of them in another datacenter."""
    ids = {}
    for i in (1, 2, 3):
        ids[gpu(i)] = nomad_sim.add_node(gpu(i), meta={"tier": "gpu"})
    ids["cpu-1"] = nomad_sim.add_node("cpu-1", meta={"tier": "cpu"})
    ids["cpu-2"] = nomad_sim.add_node("cpu-2", meta={"tier": "cpu"}, datacenter="dc2")
    return ids


LOCALAI = (
    Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True),
    Entry(model_name="nomic-embed-text", spread=True),
    Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=1, max_replicas=0),
)


def nodes_of(sim: Any, job_id: str) -> list[str]:
    return sorted(a["NodeID"] for a in sim.allocations(job_id=job_id))


def test_localai_file_on_mixed_gpu_cpu_cluster_plan_apply_replan_is_empty(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(*LOCALAI)
    p = make(drv, want)
    assert p.summary.add == 3 + 5 + 1 and p.summary.remove == 0
    assert {op.action for op in p.operations} == {"register"}
    whisper_add = [c for c in p.changes if c.model == "whisper"]
    assert whisper_add[0].note and "Nomad may place it" in whisper_add[0].note
    report, lines = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    assert len(report.applied) == 9 and any("registered job modelsched-gpt-oss" in x for x in lines)
    assert nodes_of(nomad_sim, "modelsched-gpt-oss") == sorted(cluster[gpu(i)] for i in (1, 2, 3))
    assert len(nomad_sim.allocations(job_id="modelsched-nomic-embed-text")) == 5
    job = nomad_sim.job("modelsched-whisper")
    assert job["Type"] == "service" and job["TaskGroups"][0]["Count"] == 1
    again = make(drv, want)
    assert not again.has_changes, (again.changes, again.operations)


def test_observe_request_budget_is_one_plus_selectors(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(*LOCALAI, Entry(model_name="bert", node_selector={"tier": "cpu"}, spread=True))
    apply(drv, make(drv, want))
    nomad_sim.reset_requests()
    drv.observe(want)
    paths = [(m, p) for m, p, _ in nomad_sim.requests]
    # At most one version check, then nodes + 2 Meta selectors (tier=gpu, tier=cpu; the empty
    # one is free) + jobs + allocations.
    assert paths.count(("GET", "/v1/agent/self")) <= 1
    paths = [x for x in paths if x != ("GET", "/v1/agent/self")]
    assert len(paths) == 1 + 2 + 1 + 1, paths
    assert sum(1 for _, p in paths if p == "/v1/nodes") == 3
    assert all(m == "GET" for m, _ in paths)


def allocs_by_node(sim: Any, job_id: str) -> dict[str, str]:
    return {a["NodeID"]: a["ID"] for a in sim.allocations(job_id=job_id)}


def test_spread_follows_joins_and_leaves_and_a_relabelled_node_is_stopped_by_apply(
    nomad_sim: Any, cluster: Ids
) -> None:
    """Scheduler-chosen spread = a system job: Nomad places on a joining node and loses the
    allocation of a node that left by itself; a relabelled node keeps its allocation while the
    job is unchanged (genericAllocUpdateFn), so the plan removes it and apply stops exactly it."""
    drv = driver(nomad_sim.address)
    want = desired(LOCALAI[0])
    apply(drv, make(drv, want))
    new = nomad_sim.add_node("gpu-4", meta={"tier": "gpu"})
    nomad_sim.remove_node(cluster["gpu-1"])
    nomad_sim.set_meta(cluster["gpu-2"], {"tier": "cpu"})
    assert nodes_of(nomad_sim, "modelsched-gpt-oss") == sorted([cluster["gpu-2"], cluster["gpu-3"], new])
    before = allocs_by_node(nomad_sim, "modelsched-gpt-oss")
    p = make(drv, want)
    assert [(c.action, c.node) for c in p.changes] == [("remove", "gpu-2")]
    assert [op.action for op in p.operations] == ["stop"]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    after = allocs_by_node(nomad_sim, "modelsched-gpt-oss")
    assert after == {n: a for n, a in before.items() if n != cluster["gpu-2"]}
    assert not make(drv, want).has_changes


@pytest.mark.parametrize("mode", ["pinned spread", "pinned bounded", "scheduler bounded"])
def test_node_joins_leaves_and_relabels_between_runs(nomad_sim: Any, cluster: Ids, mode: str) -> None:
    if mode == "pinned spread":
        entry = Entry(model_name="m", node_selector={"tier": "gpu"}, spread=True, placement="pinned")
    else:
        entry = Entry(model_name="m", node_selector={"tier": "gpu"}, min_replicas=3, max_replicas=3,
                      placement="pinned" if mode == "pinned bounded" else None)
    drv = driver(nomad_sim.address)
    want = desired(entry)
    assert apply(drv, make(drv, want))[0].ok
    nomad_sim.remove_node(cluster["gpu-1"])
    nomad_sim.set_meta(cluster["gpu-2"], {"tier": "cpu"})
    new = nomad_sim.add_node("gpu-4", meta={"tier": "gpu"})
    p = make(drv, want)
    if mode == "scheduler bounded":
        # Nomad replaced the lost allocation on gpu-4 by itself; gpu-2 no longer matches.
        assert [(c.action, c.node) for c in p.changes] == [("remove", "gpu-2")]
    else:
        # Pinned: a new node gets nothing until the plan says so.
        assert [(c.action, c.node) for c in p.changes] == [("remove", "gpu-2"), ("add", "gpu-4")]
        assert "set_contains_any" in json.dumps(p.driver_data)
    kept = allocs_by_node(nomad_sim, "modelsched-m")[cluster["gpu-3"]]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert nodes_of(nomad_sim, "modelsched-m") == sorted([cluster["gpu-3"], new])
    assert allocs_by_node(nomad_sim, "modelsched-m")[cluster["gpu-3"]] == kept  # untouched allocation stays
    assert not make(drv, want).has_changes


def test_saved_plan_is_refused_when_a_node_joins(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    p = make(drv, desired(*LOCALAI))
    nomad_sim.add_node("late", meta={"tier": "gpu"})
    with pytest.raises(StalePlanError, match=r"^Saved plan is stale: .*nothing was applied"):
        apply(drv, p)
    assert nomad_sim.job("modelsched-gpt-oss") is None


def test_saved_plan_is_refused_when_a_job_changed(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(LOCALAI[2])
    apply(drv, make(drv, want))
    want2 = desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=2, max_replicas=2))
    p = make(drv, want2)
    job = nomad_sim.job("modelsched-whisper")
    job["Priority"] = 70
    nomad_sim.register_job_direct(job)
    with pytest.raises(StalePlanError):
        apply(drv, p)


def test_concurrent_change_during_apply_is_refused_by_check_index(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    apply(drv, make(drv, desired(LOCALAI[2])))
    p = make(drv, desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=2, max_replicas=2)))
    real = drv.client.register

    def racing(job: Mapping[str, Any], index: int) -> dict[str, Any]:
        other = nomad_sim.job("modelsched-whisper")
        other["Priority"] = 80
        nomad_sim.register_job_direct(other)  # someone else registers in between
        return real(job, index)

    drv.client.register = racing  # type: ignore[method-assign,assignment]
    report, _ = apply(drv, p)
    assert not report.ok
    assert any("changed since the plan" in e for e in report.errors), report.errors
    assert [c.model for c, _ in report.failed] == ["whisper"]
    assert nomad_sim.job("modelsched-whisper")["Priority"] == 80


def test_token_refused_names_address_and_never_the_token(nomad_sim_acl: Any) -> None:
    nomad_sim_acl.add_node("n1", meta={"tier": "gpu"})
    drv = driver(nomad_sim_acl.address, token="wrong-token-456")
    with pytest.raises(DriverError) as err:
        drv.observe(desired(*LOCALAI))
    text = str(err.value)
    assert "403" in text and nomad_sim_acl.address in text and "NOMAD_TOKEN" in text
    assert "wrong-token-456" not in text


def test_token_never_in_plan_file_or_progress(nomad_sim_acl: Any) -> None:
    nomad_sim_acl.add_node("n1", meta={"tier": "gpu"})
    drv = driver(nomad_sim_acl.address, token=TOKEN)
    p = make(drv, desired(*LOCALAI))
    report, lines = apply(drv, p)
    assert report.ok, report.errors
    blob = json.dumps(p.model_dump(mode="json")) + "\n".join(lines) + repr(report)
    assert TOKEN not in blob


def test_unreachable_server_names_the_address() -> None:
    drv = driver("http://127.0.0.1:9")
    with pytest.raises(DriverError, match=r"127\.0\.0\.1:9 is unreachable.*NOMAD_ADDR"):
        drv.observe(desired(*LOCALAI))


def test_server_down_mid_apply_reports_and_rerun_converges(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(*LOCALAI)
    p = make(drv, want)
    # The second job's register fails as if the server went away.
    nomad_sim.drop(times=1, path_prefix="/v1/job/modelsched-nomic-embed-text", method="POST")
    report, _ = apply(drv, p)
    assert not report.ok
    assert {c.model for c in report.applied} == {"gpt-oss"}
    assert {c.model for c, _ in report.failed} == {"nomic-embed-text"}
    assert {c.model for c in report.not_attempted} == {"whisper"}
    # The connection dropped after the request was sent: Nomad may have done it.
    assert any("may or may not have been done" in e for e in report.errors), report.errors
    report2, _ = apply(drv, make(drv, want))
    assert report2.ok, report2.errors
    assert not make(drv, want).has_changes


def test_pinned_placement_keeps_untouched_allocations(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(Entry(model_name="llama", node_selector={"tier": "gpu"}, min_replicas=2, max_replicas=2,
                         placement="pinned"))
    p = make(drv, want)
    planned = sorted(c.node_id for c in p.changes)
    assert all(c.note is None for c in p.changes)
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    before = {a["NodeID"]: a["ID"] for a in nomad_sim.allocations(job_id="modelsched-llama")}
    assert sorted(before) == planned  # what the plan says is what runs
    # One planned node leaves the selector: the plan moves that replica only.
    moved, kept = planned
    nomad_sim.set_meta(moved, {"tier": "cpu"})
    p2 = make(drv, want)
    assert sorted((c.action, c.node_id) for c in p2.changes)[0] == ("add", sorted(
        set(cluster[gpu(i)] for i in (1, 2, 3)) - set(planned))[0])
    report2, _ = apply(drv, p2)
    assert report2.ok, report2.errors
    after = {a["NodeID"]: a["ID"] for a in nomad_sim.allocations(job_id="modelsched-llama")}
    assert after[kept] == before[kept]  # same allocation ID: not restarted
    assert moved not in after and len(after) == 2


def test_type_change_replaces_the_job(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    apply(drv, make(drv, desired(LOCALAI[0])))
    want = desired(Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, min_replicas=1, max_replicas=2))
    p = make(drv, want)
    assert [(op.action, op.target) for op in p.operations] == [("replace", "modelsched-gpt-oss")]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert nomad_sim.job("modelsched-gpt-oss")["Type"] == "service"
    assert not make(drv, want).has_changes


def test_spec_only_change_is_an_operation_and_unchanged_jobs_get_no_request(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    apply(drv, make(drv, desired(*LOCALAI)))
    changed = (Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True, vars={"image": "x:2"}),
               *LOCALAI[1:])
    p = make(drv, desired(*changed))
    assert not p.changes and p.has_changes
    assert [(op.action, op.target) for op in p.operations] == [("update", "modelsched-gpt-oss")]
    nomad_sim.reset_requests()
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    touched = {path for _, path, _ in nomad_sim.requests if path.startswith("/v1/job/")}
    assert touched == {"/v1/job/modelsched-gpt-oss"}
    img = nomad_sim.job("modelsched-gpt-oss")["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
    assert img == "x:2"


def test_foreign_job_with_our_name_is_blocked_unless_adopt(nomad_sim: Any, cluster: Ids) -> None:
    foreign = {"ID": "modelsched-gpt-oss", "Name": "modelsched-gpt-oss", "Type": "service", "Datacenters": ["*"],
               "Meta": {"owner": "someone"},
               "TaskGroups": [{"Name": "web", "Count": 1, "Tasks": [{"Name": "web", "Driver": "docker"}]}]}
    nomad_sim.register_job_direct(foreign)
    drv = driver(nomad_sim.address)
    p = make(drv, desired(*LOCALAI))
    assert not [c for c in p.changes if c.model == "gpt-oss"]
    assert "modelsched-gpt-oss" not in {op.target for op in p.operations}
    assert [d.level for d in p.diagnostics if d.model == "gpt-oss"] == ["warning"]
    report, _ = apply(drv, p)  # the other models go ahead; the foreign job is untouched
    assert report.ok, report.errors
    assert nomad_sim.job("modelsched-gpt-oss")["Meta"] == {"owner": "someone"}
    assert nomad_sim.job("modelsched-whisper") is not None
    adopting = driver(nomad_sim.address, adopt=True)
    p2 = make(adopting, desired(LOCALAI[0]))
    assert [op.action for op in p2.operations] == ["replace"]  # service -> system


def test_prune_purges_only_owned_jobs(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    apply(drv, make(drv, desired(*LOCALAI)))
    nomad_sim.register_job_direct({"ID": "modelsched-mine-not", "Name": "modelsched-mine-not", "Type": "service",
                                   "Datacenters": ["*"], "TaskGroups": [{"Name": "g", "Count": 1,
                                   "Tasks": [{"Name": "t", "Driver": "docker"}]}]})
    want = desired(LOCALAI[0])
    assert not any(op.action == "purge" for op in make(drv, want).operations)
    p = make(drv, want, prune=True)
    assert sorted((op.action, op.target) for op in p.operations) == [
        ("purge", "modelsched-nomic-embed-text"), ("purge", "modelsched-whisper")]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert nomad_sim.job("modelsched-whisper") is None and nomad_sim.job("modelsched-mine-not") is not None


def test_server_dry_run_shows_nomads_counters(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address, server_dry_run=True)
    p = make(drv, desired(*LOCALAI))
    details = {op.target: op.detail for op in p.operations}
    assert "nomad plan: place 3" in details["modelsched-gpt-oss"]
    assert not [d for d in p.diagnostics if "disagrees" in d.message]


def test_wait_timeout_is_a_failure_with_what_was_done(nomad_sim: Any, cluster: Ids) -> None:
    nomad_sim.alloc_start_delay = 30.0
    drv = driver(nomad_sim.address, wait_timeout=0.5)
    report, lines = apply(drv, make(drv, desired(LOCALAI[0])))
    assert not report.ok and [c.model for c, _ in report.failed] == ["gpt-oss"] * 3
    assert any("waiting" in x for x in lines)


def test_no_wait_returns_after_registering(nomad_sim: Any, cluster: Ids) -> None:
    nomad_sim.alloc_start_delay = 30.0
    drv = driver(nomad_sim.address, wait=False)
    report, _ = apply(drv, make(drv, desired(LOCALAI[0])))
    assert report.ok and len(report.applied) == 3


def test_an_allocation_nomad_keeps_on_an_ineligible_node_is_stopped_by_id(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(LOCALAI[0])
    apply(drv, make(drv, want))
    alloc = next(a["ID"] for a in nomad_sim.allocations() if a["NodeID"] == cluster["gpu-1"])
    nomad_sim.set_eligibility(cluster["gpu-1"], False)
    p = make(drv, want)
    [change] = p.changes
    assert (change.action, change.node, change.reason) == ("remove", "gpu-1", "node_unhealthy")
    assert change.note == f"Nomad keeps an allocation while its job is unchanged: apply stops allocation {alloc[:8]}"
    # The job is unchanged: no register, no evaluation; exactly that allocation is stopped.
    assert [(op.action, op.target) for op in p.operations] == [("stop", "modelsched-gpt-oss")]
    assert "gpu-1" in p.operations[0].detail
    [op] = p.driver_data["jobs"]
    assert [s["alloc_id"] for s in op["stops"]] == [alloc]


def test_pinned_removes_from_an_ineligible_node(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(Entry(model_name="gpt-oss", node_selector={"tier": "gpu"}, spread=True, placement="pinned"))
    apply(drv, make(drv, want))
    nomad_sim.set_eligibility(cluster["gpu-1"], False)
    p = make(drv, want)
    assert [(c.action, c.node) for c in p.changes] == [("remove", "gpu-1")]
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert cluster["gpu-1"] not in nodes_of(nomad_sim, "modelsched-gpt-oss")
    assert not make(drv, want).has_changes


ONLY_CPU_1 = """{"TaskGroups": [{"Name": "localai",
  "Constraints": [{"LTarget": "${attr.unique.hostname}", "RTarget": "cpu-1", "Operand": "="}],
  "Tasks": [{"Name": "localai", "Driver": "docker", "Config": {"image": "localai/localai"}}]}]}
"""


def only_cpu_1(tmp_path: Any) -> str:
    """A job template whose own constraint the planner cannot know: Nomad places on cpu-1 only."""
    path = tmp_path / "only-cpu-1.nomad.json.j2"
    path.write_text(ONLY_CPU_1)
    return str(path)


def test_server_dry_run_disagreement_and_placement_failures_are_warnings(
    nomad_sim: Any, cluster: Ids, tmp_path: Any
) -> None:
    # The template pins the group to cpu-1, but cpu-2 carries the label too: our plan and Nomad's differ.
    drv = driver(nomad_sim.address, server_dry_run=True, job_template=only_cpu_1(tmp_path))
    want = desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=2, max_replicas=2))
    p = make(drv, want)
    warnings = [d.message for d in p.diagnostics if d.level == "warning" and d.model == "whisper"]
    assert any("disagrees" in w and "place 1" in w for w in warnings), warnings
    assert any("cannot place all allocations" in w for w in warnings), warnings
    assert "nomad plan: place 1" in p.operations[0].detail


def test_unplaceable_replicas_fail_after_the_wait_with_nomads_reasons(
    nomad_sim: Any, cluster: Ids, tmp_path: Any
) -> None:
    drv = driver(nomad_sim.address, wait_timeout=0.5, job_template=only_cpu_1(tmp_path))
    want = desired(Entry(model_name="whisper", node_selector={"tier": "cpu"}, min_replicas=2, max_replicas=2))
    report, _ = apply(drv, make(drv, want))
    assert not report.ok
    reasons = {why for _, why in report.failed}
    assert any("did not match the plan" in r and "group localai" in r for r in reasons), reasons


def test_config_namespace_is_used_when_nothing_else_sets_it(nomad_sim: Any, cluster: Ids) -> None:
    nomad_sim.add_namespace("ml")
    drv = driver(nomad_sim.address)
    p = make(drv, desired(LOCALAI[0], namespace="ml"))
    assert p.cluster["namespace"] == "ml"
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert nomad_sim.job("modelsched-gpt-oss", namespace="ml") is not None
    assert nomad_sim.job("modelsched-gpt-oss") is None


def test_a_stopped_job_is_registered_again(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(LOCALAI[0])
    apply(drv, make(drv, want))
    job = nomad_sim.job("modelsched-gpt-oss")
    nomad_sim.register_job_direct({**job, "Stop": True})
    p = make(drv, want)
    assert [op.action for op in p.operations] == ["update"] and p.summary.add == 3
    report, _ = apply(drv, p)
    assert report.ok, report.errors
    assert len(nodes_of(nomad_sim, "modelsched-gpt-oss")) == 3


def test_a_plan_with_errors_is_not_applied(nomad_sim: Any, cluster: Ids) -> None:
    from modelsched.model.plan import Diagnostic

    drv = driver(nomad_sim.address)
    p = make(drv, desired(LOCALAI[0]))
    broken = p.model_copy(update={"diagnostics": [Diagnostic(level="error", model=None, message="bad")]})
    nomad_sim.reset_requests()
    with pytest.raises(DriverError, match="plan has errors"):
        apply(drv, broken)
    assert nomad_sim.requests == []


def test_nomad_datacenters_narrow_the_plan_so_apply_converges(nomad_sim: Any, cluster: Ids) -> None:
    drv = driver(nomad_sim.address)
    want = desired(
        Entry(model_name="embed", spread=True),
        Entry(model_name="llm", node_selector={"tier": "cpu"}, min_replicas=2),
        datacenters=["dc1"],
    )
    p = make(drv, want)
    assert cluster["cpu-2"] not in {c.node_id for c in p.changes}  # cpu-2 is in dc2
    assert {m.model: m.matching_nodes for m in p.models} == {"embed": 4, "llm": 1}
    assert any(d.model == "llm" and "only 1 healthy node" in d.message for d in p.diagnostics)
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    assert make(drv, want).changes == []


def test_a_node_pool_narrows_the_plan_unless_the_selector_names_a_pool(nomad_sim: Any) -> None:
    ids = {
        "a": nomad_sim.add_node("a", meta={"tier": "gpu"}, pool="gpu"),
        "b": nomad_sim.add_node("b", meta={"tier": "gpu"}, pool="gpu"),
        "c": nomad_sim.add_node("c", meta={"tier": "gpu"}),  # pool "default"
    }
    drv = driver(nomad_sim.address)
    want = desired(
        Entry(model_name="llm", node_selector={"tier": "gpu"}, spread=True),
        Entry(model_name="side", node_selector={"node.pool": "default"}, spread=True),
        node_pool="gpu",
    )
    p = make(drv, want)
    placed = {(c.model, c.node_id) for c in p.changes}
    assert placed == {("llm", ids["a"]), ("llm", ids["b"]), ("side", ids["c"])}
    report, _ = apply(drv, p)
    assert report.ok, (report.errors, report.failed)
    assert make(drv, want).changes == []
