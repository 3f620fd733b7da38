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
from tests.localai.conftest import env_for
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
