"""A saved plan's LocalAI driver data is untrusted: it is decoded strictly in one place and
anything wrong is refused before a single request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.localai.data import (
    Expect,
    PlanData,
    RowSpec,
    RowWrite,
    Unload,
    decode_plan_data,
)
from modelsched.errors import PlanFileError
from tests.clirun import Run
from tests.localai.conftest import env_for, writes
from tests.localaisim.server import LocalAISim

Config = Callable[[list[dict[str, Any]]], str]


def sample() -> PlanData:
    return PlanData(
        address="http://127.0.0.1:8080",
        listed=("llama",),
        writes=(RowWrite(action="create", spec=RowSpec(model_name="llama", node_selector={"tier": "gpu"},
                                                       spread_all=True)),),
        deletes=("old",),
        unloads=(Unload(model="llama", node_id="n-1", node_name="cpu-1"),),
        expect=(Expect(model="llama", listed=True, selector={"tier": "gpu"}, target=2, gone_from=("n-1",)),),
        rows={"old": "abc"},
    )


def test_driver_data_round_trips_through_json() -> None:
    data = sample()
    assert decode_plan_data(json.loads(json.dumps(data.to_data()))) == data


def _edit(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    raw: Any = json.loads(json.dumps(sample().to_data()))
    target = raw
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("version",), 2, "no LocalAI driver data of version 1"),
        (("writes", 0, "spec", "model_name"), "llama\x1b[31m", "writes.0.spec.model_name"),
        (("writes", 0, "spec", "model_name"), "", "writes.0.spec.model_name"),
        (("writes", 0, "spec", "min_replicas"), -1, "writes.0.spec.min_replicas"),
        (("writes", 0, "spec", "min_replicas"), 2**31, "writes.0.spec.min_replicas"),
        (("writes", 0, "spec", "balance_rel_threshold"), float("inf"), "balance_rel_threshold"),
        (("writes", 0, "spec", "spread_all"), "yes", "writes.0.spec.spread_all"),
        (("writes", 0, "action"), "replace", "writes.0.action"),
        (("writes", 0, "spec", "replicas"), "all", "writes.0.spec.replicas"),
        (("unloads", 0, "node_id"), "n-1\n", "unloads.0.node_id"),
        (("expect", 0, "target"), -3, "expect.0.target"),
        (("deletes",), ["llama"], "both written and deleted"),
        (("deletes",), ["old", "old"], "deleted twice"),
        (("extra",), 1, "extra"),
        (("address",), KeyError, "address"),
    ],
    ids=[
        "another data version",
        "a model name with control characters",
        "an empty model name",
        "a negative count",
        "a count beyond 2^31-1",
        "an infinite threshold",
        "a string for a bool",
        "an unknown row action",
        "an unknown row field",
        "a node ID with a newline",
        "a negative awaited count",
        "a row both written and deleted",
        "a row deleted twice",
        "an unknown key",
        "a missing address",
    ],
)
def test_tampered_driver_data_is_refused_naming_the_field(path: tuple[str | int, ...], value: Any, says: str) -> None:
    with pytest.raises(PlanFileError) as err:
        decode_plan_data(_edit(path, value))
    assert says in str(err.value)


def test_a_plan_file_that_unloads_what_its_changes_do_not_remove_sends_nothing(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    gpu = sim.add_node("gpu-1", {"tier": "gpu"})
    cpu = sim.add_node("cpu-1", {"tier": "cpu"})
    sim.load_replica(cpu, "llama")
    sim.load_replica(gpu, "llama")
    out = tmp_path / "plan.json"
    cfg = config([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "replicas": "all"}])
    assert run("plan", "--driver", "localai", "--config", cfg, "--out", str(out), env=env_for(sim)).code == 0
    saved = json.loads(out.read_text())
    saved["driver_data"]["unloads"][0]["node_id"] = gpu
    out.write_text(json.dumps(saved))
    sim.reset_requests()
    got = run("apply", str(out), env=env_for(sim))
    assert got.code == 1 and "which the plan's changes do not remove" in got.err
    assert sim.requests == []


def test_a_plan_made_by_another_driver_is_refused(run: Run, sim: LocalAISim, config: Config, tmp_path: Path) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    out = tmp_path / "plan.json"
    cfg = config([{"model_name": "llama", "replicas": "all"}])
    assert run("plan", "--driver", "localai", "--config", cfg, "--out", str(out), env=env_for(sim)).code == 0
    saved = json.loads(out.read_text())
    saved["driver_data"] = {"version": 1, "jobs": {}}
    out.write_text(json.dumps(saved))
    sim.reset_requests()
    got = run("apply", str(out), env=env_for(sim))
    assert got.code == 1 and "corrupt plan file: LocalAI driver data" in got.err
    assert sim.requests == []


ROW_M = [{"model_name": "m", "min_replicas": 1, "node_selector": {"tier": "gpu"}}]


def _saved_plan(run: Run, sim: LocalAISim, config: Config, tmp_path: Path, *extra: str) -> tuple[Path, Any]:
    sim.add_node("gpu-1", {"tier": "gpu"})
    out = tmp_path / "plan.json"
    assert run("plan", "--driver", "localai", "--config", config(ROW_M), "--out", str(out), *extra,
               env=env_for(sim)).code == 0
    return out, json.loads(out.read_text())


def test_the_reviewers_repro_a_plan_showing_one_row_cannot_write_another_or_delete_rows(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    out, saved = _saved_plan(run, sim, config, tmp_path)
    shown = run("show", str(out))
    assert "create scheduling row m" in shown.out and "min 1, max unbounded, selector {tier=gpu}" in shown.out
    data = saved["driver_data"]
    data["deletes"] = ["other"]
    data["writes"][0]["spec"]["min_replicas"] = 7
    data["writes"][0]["spec"]["node_selector"] = {}
    out.write_text(json.dumps(saved))
    sim.seed([{"model_name": "other", "min_replicas": 1}])
    sim.reset_requests()
    got = run("apply", str(out), "--no-wait", env=env_for(sim))
    assert got.code == 1 and "corrupt plan file: LocalAI driver data" in got.err and "nothing was applied" in got.err
    assert sim.requests == []
    assert [r["model_name"] for r in sim.rows()] == ["other"]


def _set_spec(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(saved: dict[str, Any]) -> None:
        saved["driver_data"]["writes"][0]["spec"][key] = value
    return edit


def _add_delete(saved: dict[str, Any]) -> None:
    saved["driver_data"]["deletes"] = ["other"]


def _selector_and_detail(saved: dict[str, Any]) -> None:
    """The write and the shown detail agree, but not with the plan's selector for the model."""
    saved["driver_data"]["writes"][0]["spec"]["node_selector"] = {}
    op = next(o for o in saved["operations"] if o["action"] == "create")
    op["detail"] = "min 1, max unbounded, selector {} (every node)"


def _spread_and_detail(saved: dict[str, Any]) -> None:
    saved["driver_data"]["writes"][0]["spec"].update(spread_all=True, min_replicas=0)
    op = next(o for o in saved["operations"] if o["action"] == "create")
    op["detail"] = "spread_all, selector {tier=gpu}"


def _write_another_model(saved: dict[str, Any]) -> None:
    saved["driver_data"]["writes"][0]["spec"]["model_name"] = "other"


def _drop_the_write(saved: dict[str, Any]) -> None:
    saved["driver_data"]["writes"] = []


def _action(saved: dict[str, Any]) -> None:
    saved["driver_data"]["writes"][0]["action"] = "update"


@pytest.mark.parametrize(
    "edit",
    [
        _add_delete,
        _set_spec("min_replicas", 7),
        _set_spec("max_replicas", 3),
        _set_spec("node_selector", {}),
        _set_spec("route_policy", "prefix_cache"),
        _selector_and_detail,
        _spread_and_detail,
        _write_another_model,
        _drop_the_write,
        _action,
    ],
    ids=[
        "a delete the plan does not show (no --prune) is refused",
        "a min_replicas other than the shown one is refused",
        "a max_replicas other than the shown one is refused",
        "a selector other than the shown one is refused",
        "a routing field the shown diff does not set is refused",
        "a selector other than the plan's for the model is refused even when the detail agrees",
        "spread mode other than the plan's for the model is refused even when the detail agrees",
        "a write of a row the plan does not show is refused",
        "a shown row write the data does not do is refused",
        "an update where the plan shows a create is refused",
    ],
)
def test_a_row_write_or_delete_the_plan_does_not_show_is_refused_before_any_request(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    out, saved = _saved_plan(run, sim, config, tmp_path)
    edit(saved)
    out.write_text(json.dumps(saved))
    sim.reset_requests()
    got = run("apply", str(out), "--no-wait", env=env_for(sim))
    assert got.code == 1 and "corrupt plan file: LocalAI driver data" in got.err, got.err
    assert sim.requests == [] and sim.rows() == []


def _pruned_plan(run: Run, sim: LocalAISim, config: Config, tmp_path: Path) -> tuple[Path, Any]:
    sim.seed([{"model_name": "old", "min_replicas": 1}])
    return _saved_plan(run, sim, config, tmp_path, "--prune")


def test_a_shown_prune_delete_is_applied(run: Run, sim: LocalAISim, config: Config, tmp_path: Path) -> None:
    out, saved = _pruned_plan(run, sim, config, tmp_path)
    assert saved["driver_data"]["deletes"] == ["old"]
    got = run("apply", str(out), "--no-wait", env=env_for(sim))
    assert got.code == 0, got.err
    assert [r["model_name"] for r in sim.rows()] == ["m"]


@pytest.mark.parametrize(
    "target",
    ["m", "unshown"],
    ids=["a delete of a listed model is refused", "a delete without a shown delete operation is refused"],
)
def test_a_prune_plan_deletes_only_the_unlisted_rows_it_shows(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path, target: str
) -> None:
    out, saved = _pruned_plan(run, sim, config, tmp_path)
    saved["driver_data"]["deletes"] = ["old", target]
    if target == "m":
        saved["driver_data"]["writes"] = []
        saved["operations"] = [o for o in saved["operations"] if o["action"] != "create"]
        saved["operations"].append({"model": "m", "target": "scheduling row m", "action": "delete"})
    out.write_text(json.dumps(saved))
    sim.reset_requests()
    got = run("apply", str(out), "--no-wait", env=env_for(sim))
    assert got.code == 1 and "corrupt plan file: LocalAI driver data" in got.err, got.err
    assert sim.requests == [] and [r["model_name"] for r in sim.rows()] == ["old"]


def test_an_update_setting_a_field_its_shown_diff_does_not_is_refused_before_any_write(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    sim.seed([{"model_name": "m", "min_replicas": 2, "node_selector": {"tier": "gpu"}}])
    out, saved = _saved_plan(run, sim, config, tmp_path)
    op = next(o for o in saved["operations"] if o["action"] == "update")
    assert op["diff"] == ["~ min_replicas: 2 => 1"]
    saved["driver_data"]["writes"][0]["spec"]["route_policy"] = "prefix_cache"
    out.write_text(json.dumps(saved))
    sim.reset_requests()
    got = run("apply", str(out), "--no-wait", env=env_for(sim))
    assert got.code == 1 and "with fields other than the plan's diff shows" in got.err, got.err
    assert writes(sim) == [] and sim.rows()[0]["min_replicas"] == 2
