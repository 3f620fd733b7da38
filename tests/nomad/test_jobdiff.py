"""What Nomad does with an update: destructive or in place (tasksUpdated), and the field diff shown."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from modelsched.drivers.nomad import jobdiff, jobspec
from modelsched.drivers.nomad.template import load_template
from modelsched.model.entry import Entry

NODE_A = "11111111-1111-4111-8111-111111111111"
NODE_B = "22222222-2222-4222-8222-222222222222"
NODE_C = "33333333-3333-4333-8333-333333333333"


def job(entry: Entry | None = None, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(job_id="modelsched-m", namespace=None, region=None, datacenters=("*",),
                                node_pool=None, placement="scheduler", count=2, matching=3)
    base.update(kw)
    e = entry or Entry(model_name="m", min_replicas=1, max_replicas=4, vars={"image": "a"})
    return jobspec.build_job(e, load_template(None), jobspec.JobParams(**base))


def task(j: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = j["TaskGroups"][0]["Tasks"][0]
    return t


def edited(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    j = job()
    change(j)
    return j


DESTRUCTIVE: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "image (task config)": (lambda j: task(j)["Config"].update(image="b"), "task config"),
    "task env": (lambda j: task(j)["Env"].update(X="1"), "task env"),
    "task driver": (lambda j: task(j).update(Driver="exec"), "task driver"),
    "task user": (lambda j: task(j).update(User="nobody"), "task user"),
    "task resources": (lambda j: task(j)["Resources"].update(MemoryMB=1), "task resources"),
    "job Meta": (lambda j: j["Meta"].update(team="x"), "task meta"),
    "group Meta": (lambda j: j["TaskGroups"][0].update(Meta={"a": "b"}), "task meta"),
    "task Meta": (lambda j: task(j).update(Meta={"a": "b"}), "task meta"),
    "group network": (lambda j: j["TaskGroups"][0]["Networks"][0]["DynamicPorts"][0].update(To=9), "network"),
    "templates": (lambda j: task(j).update(Templates=[{"DestPath": "x"}]), "task templates"),
    "ephemeral disk": (lambda j: j["TaskGroups"][0].update(EphemeralDisk={"SizeMB": 1}), "ephemeral disk"),
    "a task added": (lambda j: j["TaskGroups"][0]["Tasks"].append(dict(task(j), Name="t2")), "number of tasks"),
}
IN_PLACE: dict[str, Callable[[dict[str, Any]], None]] = {
    "count": lambda j: j["TaskGroups"][0].update(Count=3),
    "scaling bounds": lambda j: j["TaskGroups"][0]["Scaling"].update(Max=9),
    "a job constraint": lambda j: j.update(Constraints=[{"LTarget": "${meta.x}", "RTarget": "y", "Operand": "="}]),
    "service tags": lambda j: j["TaskGroups"][0]["Services"][0].update(Tags=["other"]),
    "priority": lambda j: j.update(Priority=70),
    "restart policy": lambda j: j["TaskGroups"][0].update(RestartPolicy={"Attempts": 9}),
}


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_a_change_nomad_replaces_allocations_for_is_destructive(name: str) -> None:
    change, why = DESTRUCTIVE[name]
    assert jobdiff.destructive(job(), edited(change)) == why


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_a_change_nomad_applies_in_place_is_not_destructive(name: str) -> None:
    assert jobdiff.destructive(job(), edited(IN_PLACE[name])) is None


def test_pinning_another_node_is_in_place() -> None:
    entry = Entry(model_name="m", min_replicas=2, max_replicas=3, placement="pinned")
    before = job(entry, placement="pinned", pinned_nodes=(NODE_A, NODE_B))
    after = job(entry, placement="pinned", pinned_nodes=(NODE_A, NODE_B, NODE_C))
    assert jobdiff.destructive(before, after) is None
    assert jobdiff.diff_lines(before, after) == [
        f"~ Constraint ${{node.unique.id}} pinned nodes: +1 ({NODE_C})"
    ]


def live_copy(j: dict[str, Any]) -> dict[str, Any]:
    """The job as Nomad returns it: defaults filled in, its own service-discovery constraint added."""
    live: dict[str, Any] = json.loads(json.dumps(j))
    live.update({"Priority": 50, "Region": "global", "Status": "running", "Stop": False, "Version": 3})
    group = live["TaskGroups"][0]
    group["Constraints"] = [*group.get("Constraints", []), dict(jobdiff.SERVICE_DISCOVERY)]
    group["RestartPolicy"] = {"Attempts": 2, "Mode": "fail"}
    task(live)["Resources"].update(DiskMB=0, IOPS=0)
    task(live)["Config"]["image"] = task(j)["Config"]["image"]
    return live


def test_server_defaults_and_nomads_own_constraint_are_not_a_change() -> None:
    j = job()
    assert jobdiff.differs(j, live_copy(j)) == []
    old = jobdiff.project(j, live_copy(j))
    assert jobdiff.destructive(old, j) is None and jobdiff.diff_lines(old, j) == []


def test_an_image_change_is_one_diff_line_naming_the_task_and_the_image() -> None:
    before = job()
    after = job(Entry(model_name="m", min_replicas=1, max_replicas=4, vars={"image": "b"}))
    old = jobdiff.project(after, live_copy(before))
    assert jobdiff.diff_lines(old, after) == ['~ Task "localai" Config.image: "a" => "b"']
    assert jobdiff.destructive(old, after) == "task config"


def test_a_count_change_is_shown_like_nomad_job_plan() -> None:
    before, after = job(count=2), job(count=3)
    assert jobdiff.diff_lines(before, after) == ["~ Count: 2 => 3"]


def test_added_and_removed_fields_are_marked() -> None:
    before = job()
    after = copy.deepcopy(before)
    after["TaskGroups"][0]["Tasks"][0]["Env"]["NEW"] = "1"
    del after["TaskGroups"][0]["Tasks"][0]["Env"]["LOCALAI_MODEL"]
    assert jobdiff.diff_lines(before, after) == [
        '- Task "localai" Env.LOCALAI_MODEL: "m"',
        '+ Task "localai" Env.NEW: "1"',
    ]


def test_long_values_are_cut_in_the_diff() -> None:
    after = edited(lambda j: task(j)["Config"].update(image="x" * 500))
    [line] = jobdiff.diff_lines(job(), after)
    assert line.endswith('..."') is False and line.endswith("...") and len(line) < 140


@pytest.mark.parametrize(
    ("version", "new"),
    [((1, 10, 6), 5), ("1.10.6", 5), ((1, 11, 0), 1), ("2.0.6+ent", 1), (None, 1)],
    ids=["1.10 tuple: Place is new placements", "1.10 text", "1.11: Place counts every candidate",
         "2.0 text", "unknown: the current rule"],
)
def test_system_job_new_placements_follow_the_servers_counting_rule(version: Any, new: int) -> None:
    from collections import Counter

    from modelsched.drivers.nomad import dryrun

    total = Counter({"Place": 5, "Ignore": 2, "InPlaceUpdate": 1, "DestructiveUpdate": 1})
    assert dryrun.new_placements(total, "system", dryrun.version_tuple(version)) == new
    assert dryrun.new_placements(total, "service", dryrun.version_tuple(version)) == 5
