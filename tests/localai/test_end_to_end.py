"""The LocalAI driver end to end: the real CLI against the LocalAI API test server over HTTP.

Plan shows per-node changes (unloads of replicas LocalAI leaves on non-matching nodes
included) and the row operations; apply writes rows with spread_all, unloads exactly
those replicas, waits for LocalAI's reconciler; a second plan is then empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.clirun import Run
from tests.localai.conftest import Ticker, env_for, replicas_by_node, writes
from tests.localaisim.server import LocalAISim

Config = Callable[[list[dict[str, Any]]], str]
GPU_SPREAD = [{"model_name": "llama", "node_selector": {"tier": "gpu"}, "replicas": "all"}]


def gpu_cluster(sim: LocalAISim) -> dict[str, str]:
    """gpu-1 (llama loaded), gpu-2 (empty), cpu-1 (llama loaded: the wrong node for a gpu selector)."""
    ids = {
        "gpu-1": sim.add_node("gpu-1", {"tier": "gpu"}),
        "gpu-2": sim.add_node("gpu-2", {"tier": "gpu"}),
        "cpu-1": sim.add_node("cpu-1", {"tier": "cpu"}),
    }
    sim.load_replica(ids["gpu-1"], "llama")
    sim.load_replica(ids["cpu-1"], "llama")
    return ids


def plan_json(run: Run, sim: LocalAISim, cfg: str, *extra: str) -> dict[str, Any]:
    got = run("plan", "--driver", "localai", "--config", cfg, "--format", "json", *extra, env=env_for(sim))
    assert got.code == 0, got.err
    return json.loads(got.out)  # type: ignore[no-any-return]


def test_plan_shows_the_per_node_changes_the_row_to_create_and_an_unload_on_the_non_matching_node(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    gpu_cluster(sim)
    got = run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), env=env_for(sim))
    assert got.code == 0, got.err
    lines = got.out.splitlines()
    assert any(line.strip().startswith("- cpu-1") and "node_not_matching" in line for line in lines)
    assert any(line.strip().startswith("+ gpu-2") and "spread" in line for line in lines)
    assert not any("gpu-1" in line and line.strip()[:1] in "+-" for line in lines)
    assert "+ create scheduling row llama: spread_all, selector {tier=gpu}" in got.out
    assert "~ unload llama on cpu-1: the node no longer matches the selector" in got.out
    assert "Plan: 1 to add, 1 to remove." in got.out
    assert writes(sim) == []


def test_plan_notes_that_localai_places_additions_and_that_removals_are_exact(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    gpu_cluster(sim)
    plan = plan_json(run, sim, config(GPU_SPREAD))
    notes = {(c["action"], c["node"]): c["note"] for c in plan["changes"]}
    assert "picks among matching healthy nodes with a free slot" in notes[("add", "gpu-2")]
    assert notes[("remove", "cpu-1")].startswith("exact")
    ops = [(o["action"], o["target"]) for o in plan["operations"]]
    assert ops == [("create", "scheduling row llama"), ("unload", "llama on cpu-1")]
    assert plan["cluster"] == {"address": sim.address}
    assert plan["driver"] == "localai"


def test_detailed_exitcode_is_2_with_changes(run: Run, sim: LocalAISim, config: Config) -> None:
    gpu_cluster(sim)
    got = run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), "--detailed-exitcode", env=env_for(sim))
    assert got.code == 2


def test_apply_writes_spread_all_unloads_exactly_the_wrong_replica_and_a_second_plan_is_empty(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    ids = gpu_cluster(sim)
    sim.mark_served("llama")
    kept = [r["id"] for r in sim.replicas("llama") if r["node_id"] == ids["gpu-1"]]
    cfg = config(GPU_SPREAD)
    got = run("apply", "--driver", "localai", "--config", cfg, "--auto-approve", env=env_for(sim))
    assert got.code == 0, got.err
    assert "Apply complete: 1 replica(s) added, 1 removed." in got.out
    (row,) = sim.rows()
    assert (row["model_name"], row["spread_all"], row["node_selector"]) == ("llama", True, '{"tier":"gpu"}')
    assert (row["min_replicas"], row["max_replicas"]) == (0, 0)
    assert writes(sim) == [
        ("POST", "/api/nodes/scheduling"),
        ("POST", f"/api/nodes/{ids['cpu-1']}/models/unload"),
    ]
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1, "gpu-2": 1}
    assert kept[0] in [r["id"] for r in sim.replicas("llama")]  # the valid replica was never touched
    assert "localai: llama: placement matches the plan" in got.err
    assert "llama: converged (2 replica(s) on matching nodes)" in got.out
    again = run("plan", "--driver", "localai", "--config", cfg, "--detailed-exitcode", env=env_for(sim))
    assert again.code == 0, again.out + again.err
    assert "No changes." in again.out


def test_saved_plan_applies_without_the_config_and_records_the_address(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker, tmp_path: Path
) -> None:
    gpu_cluster(sim)
    sim.mark_served("llama")
    out = str(tmp_path / "plan.json")
    assert run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), "--out", out, env=env_for(sim)).code == 0
    saved = json.loads(Path(out).read_text())
    assert saved["cluster"] == {"address": sim.address}
    assert "LOCALAI" not in json.dumps(saved["driver_data"])  # no secret, no env in the plan file
    got = run("apply", out, env=env_for(sim))
    assert got.code == 0, got.err
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1, "gpu-2": 1}


def test_bounded_model_keeps_its_count_on_matching_nodes(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    ids = gpu_cluster(sim)
    sim.mark_served("llama")
    cfg = config([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "min_replicas": 2, "max_replicas": 2}])
    got = run("apply", "--driver", "localai", "--config", cfg, "--auto-approve", env=env_for(sim))
    assert got.code == 0, got.err
    (row,) = sim.rows()
    assert (row["min_replicas"], row["max_replicas"], row["spread_all"]) == (2, 2, False)
    assert replicas_by_node(sim, "llama") == {"gpu-1": 1, "gpu-2": 1}
    assert ("POST", f"/api/nodes/{ids['cpu-1']}/models/unload") in writes(sim)
    assert "No changes." in run("plan", "--driver", "localai", "--config", cfg, env=env_for(sim)).out


def test_a_row_that_differs_is_an_update_with_a_field_diff_and_warns_about_the_env_seed(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    sim.seed([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "min_replicas": 1, "max_replicas": 1}])
    cfg = config([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "min_replicas": 1, "max_replicas": 3,
                   "route_policy": "prefix_cache"}])
    plan = plan_json(run, sim, cfg)
    (op,) = plan["operations"]
    assert (op["action"], op["target"]) == ("update", "scheduling row llama")
    assert op["diff"] == ["~ max_replicas: 1 => 3", '~ route_policy: "" => "prefix_cache"']
    (warning,) = [d for d in plan["diagnostics"] if "LOCALAI_MODEL_SCHEDULING" in d["message"]]
    assert warning["model"] == "llama"
    assert "next boot overwrites the row" in warning["message"]


def test_a_row_equal_to_the_config_is_left_alone(run: Run, sim: LocalAISim, config: Config) -> None:
    nid = sim.add_node("gpu-1", {"tier": "gpu"})
    sim.load_replica(nid, "llama")
    sim.seed([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "replicas": "all"}])
    plan = plan_json(run, sim, config(GPU_SPREAD))
    assert plan["changes"] == [] and "operations" not in plan
    assert plan["diagnostics"] == []


def test_prune_deletes_unlisted_rows_and_unloads_their_replicas_but_never_on_demand_models(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    gpu = sim.add_node("gpu-1", {"tier": "gpu"})
    sim.load_replica(gpu, "llama")
    sim.load_replica(gpu, "old-model")
    sim.load_replica(gpu, "on-demand")  # loaded by a request, no scheduling row
    sim.seed([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "replicas": "all"},
              {"model_name": "old-model", "min_replicas": 1}])
    cfg = config(GPU_SPREAD)
    plan = plan_json(run, sim, cfg, "--prune")
    ops = [(o["action"], o["target"]) for o in plan["operations"]]
    assert ops == [("delete", "scheduling row old-model"), ("unload", "old-model on gpu-1")]
    assert [(c["model"], c["action"], c["reason"]) for c in plan["changes"]] == [("old-model", "remove", "pruned")]
    got = run("apply", "--driver", "localai", "--config", cfg, "--prune", "--auto-approve", env=env_for(sim))
    assert got.code == 0, got.err
    assert [r["model_name"] for r in sim.rows()] == ["llama"]
    assert sorted({r["model_name"] for r in sim.replicas()}) == ["llama", "on-demand"]
    assert plan_json(run, sim, cfg, "--prune")["changes"] == []


def test_without_prune_unlisted_rows_and_replicas_stay(run: Run, sim: LocalAISim, config: Config) -> None:
    gpu = sim.add_node("gpu-1", {"tier": "gpu"})
    sim.load_replica(gpu, "old-model")
    sim.seed([{"model_name": "old-model", "min_replicas": 1}])
    plan = plan_json(run, sim, config([]))
    assert plan["changes"] == [] and "operations" not in plan


def test_observe_uses_three_requests_whatever_the_cluster_size(run: Run, sim: LocalAISim, config: Config) -> None:
    def requests_for(nodes: int) -> int:
        for _ in range(nodes):
            nid = sim.add_node(f"n-{len(sim.state.nodes):03d}", {"tier": "gpu"})
            sim.load_replica(nid, "llama")
        sim.reset_requests()
        assert run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), env=env_for(sim)).code == 0
        return len(sim.requests)

    assert requests_for(2) == requests_for(40) == 3


def test_a_node_with_two_slots_holds_two_replicas_of_a_bounded_model(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker
) -> None:
    big = sim.add_node("gpu-big", {"tier": "gpu"}, max_replicas_per_model=2)
    sim.add_node("cpu-1", {"tier": "cpu"})
    sim.load_replica(big, "llama")
    cfg = config([{"model_name": "llama", "node_selector": {"tier": "gpu"}, "min_replicas": 2, "max_replicas": 2}])
    plan = plan_json(run, sim, cfg)
    assert [(c["action"], c["node"]) for c in plan["changes"]] == [("add", "gpu-big")]
    assert plan["models"][0]["target"] == 2
    got = run("apply", "--driver", "localai", "--config", cfg, "--auto-approve", env=env_for(sim))
    assert got.code == 0, got.err
    assert replicas_by_node(sim, "llama") == {"gpu-big": 2}
    assert plan_json(run, sim, cfg)["changes"] == []


def test_a_model_loaded_on_demand_meanwhile_does_not_make_a_saved_plan_stale(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker, tmp_path: Path
) -> None:
    ids = gpu_cluster(sim)
    sim.mark_served("llama")
    out = str(tmp_path / "plan.json")
    assert run("plan", "--driver", "localai", "--config", config(GPU_SPREAD), "--out", out, env=env_for(sim)).code == 0
    sim.load_replica(ids["gpu-2"], "chat")  # a request loaded another model: not modelsched's
    got = run("apply", out, env=env_for(sim))
    assert got.code == 0, got.err


def test_prune_deletes_rows_whose_names_hold_slashes_spaces_and_url_characters(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    names = ["org/llama-3", "my model", "q?x#y%z", "a+b@c"]
    sim.seed([{"model_name": n, "min_replicas": 1} for n in names])
    got = run("apply", "--driver", "localai", "--config", config([]), "--prune", "--auto-approve",
              env=env_for(sim))
    assert got.code == 0, got.err
    assert sim.rows() == []


def test_replicas_on_a_node_that_is_not_healthy_are_warned_about(run: Run, sim: LocalAISim, config: Config) -> None:
    ids = gpu_cluster(sim)
    sim.set_status(ids["cpu-1"], "unhealthy")  # keeps its replica rows; /api/nodes/models hides them
    plan = plan_json(run, sim, config(GPU_SPREAD))
    (warning,) = [d for d in plan["diagnostics"] if d["message"].startswith("node cpu-1")]
    assert warning["message"].startswith("node cpu-1 is unhealthy and holds 1 loaded replica(s)")
    assert "may add fewer than planned" in warning["message"]
    assert all(c["node"] != "cpu-1" for c in plan["changes"])
