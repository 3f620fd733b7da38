"""Translators from captured Nomad JSON: nodes, ownership, replicas, job IDs, fingerprint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.nomad import translate

FIX = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def test_node_stub_becomes_node_with_stub_labels_and_health() -> None:
    stubs = load("nodes.json")
    nodes = [translate.node_from_stub(s, {"tier": "gpu"} if s["Name"] == "gpu-1" else {}) for s in stubs]
    gpu1, gpu2, cpu1 = nodes
    assert gpu1.id == "f7476465-4d6e-c0de-26d0-e383c49be941"
    assert dict(gpu1.labels) == {
        "node.class": "gpu-large", "node.datacenter": "dc1", "node.pool": "default", "tier": "gpu"
    }
    assert gpu1.healthy
    assert gpu2.draining and not gpu2.eligible and not gpu2.healthy
    assert cpu1.status == "down" and not cpu1.healthy
    assert cpu1.labels["node.class"] == ""


@pytest.mark.parametrize(
    ("model", "job_id"),
    [
        ("gpt-oss", "modelsched-gpt-oss"),
        ("llama_3.1-8b", "modelsched-llama_3.1-8b"),
        ("org/model:q4", "modelsched-org-model-q4-"),
    ],
)
def test_job_id_for(model: str, job_id: str) -> None:
    assert translate.job_id_for("modelsched-", model).startswith(job_id)


def test_job_ids_of_sanitised_names_never_collide() -> None:
    assert translate.job_id_for("p-", "a/b") != translate.job_id_for("p-", "a:b")


def test_ownership_from_job_meta() -> None:
    listed = {"gpt-oss": "modelsched-gpt-oss", "whisper": "modelsched-whisper", "new": "modelsched-new"}
    own = translate.classify_jobs(load("jobs.json"), listed, adopt=False, address="http://n:4646")
    assert own.managed == {"modelsched-gpt-oss": "gpt-oss", "modelsched-old": "old"}
    assert set(own.blocked) == {"whisper"}
    assert "--adopt" in own.blocked["whisper"] and "http://n:4646" in own.blocked["whisper"]
    assert own.jobs["modelsched-gpt-oss"].modify_index == 52
    assert own.jobs["modelsched-nometa"].model is None


def test_adopt_manages_a_foreign_job_with_the_models_name() -> None:
    own = translate.classify_jobs(load("jobs.json"), {"whisper": "modelsched-whisper"}, adopt=True, address="x")
    assert own.managed["modelsched-whisper"] == "whisper" and not own.blocked


def test_job_of_another_model_is_blocked() -> None:
    stubs = [{"ID": "p-a", "Meta": {"modelsched_managed": "true", "modelsched_model": "b"}}]
    own = translate.classify_jobs(stubs, {"a": "p-a"}, adopt=False, address="x")
    assert "model 'b'" in own.blocked["a"]


def test_replicas_are_live_allocations_of_managed_jobs() -> None:
    managed = {"modelsched-gpt-oss": "gpt-oss", "modelsched-old": "old"}
    reps = translate.replicas_from_allocs(load("allocations.json"), managed)
    assert reps == [
        ("gpt-oss", "f7476465-4d6e-c0de-26d0-e383c49be941", "a1b2c3d4-0000-4000-8000-000000000001"),
        ("gpt-oss", "2d8f1b3a-95e1-4c7b-9a35-6c0b8e8f0a12", "a1b2c3d4-0000-4000-8000-000000000002"),
        ("old", "f7476465-4d6e-c0de-26d0-e383c49be941", "a1b2c3d4-0000-4000-8000-000000000005"),
    ]


def test_fingerprint_moves_with_nodes_labels_jobs_and_allocs() -> None:
    stubs = load("nodes.json")
    own = translate.classify_jobs(load("jobs.json"), {}, adopt=False, address="x")
    jobs = list(own.jobs.values())
    reps = [("m", "n1", "a1")]
    base = translate.fingerprint(stubs, {"s": ["n1"]}, jobs, reps)
    assert base == translate.fingerprint(list(reversed(stubs)), {"s": ["n1"]}, jobs, reps)
    drained = [dict(stubs[0], Drain=True), *stubs[1:]]
    assert translate.fingerprint(drained, {"s": ["n1"]}, jobs, reps) != base
    assert translate.fingerprint(stubs, {"s": ["n1", "n2"]}, jobs, reps) != base
    assert translate.fingerprint(stubs, {"s": ["n1"]}, jobs[1:], reps) != base
    assert translate.fingerprint(stubs, {"s": ["n1"]}, jobs, [("m", "n2", "a1")]) != base
    # ModifyIndex of a node moves on heartbeats/status bookkeeping: it is not part of it.
    assert translate.fingerprint([dict(stubs[0], ModifyIndex=999), *stubs[1:]], {"s": ["n1"]}, jobs, reps) == base


def test_a_jobs_node_pool_is_the_selectors_else_the_configs_else_all() -> None:
    assert translate.job_pool({"node.pool": "p"}, "q") == "p"
    assert translate.job_pool({}, "q") == "q"
    assert translate.job_pool({}, None) == "all"


@pytest.mark.parametrize(
    ("stub", "stopped"),
    [({"Status": "dead"}, False), ({"Status": "dead", "Stop": True}, True), ({"Status": "running"}, False)],
    ids=["a service job with count 0 is dead: its steady state", "nomad job stop sets Stop", "running"],
)
def test_only_the_stop_flag_means_the_job_must_be_registered_again(stub: dict[str, Any], stopped: bool) -> None:
    assert translate.job_info({"ID": "j", **stub}).stopped is stopped
