"""The real CLI against the Nomad API test server: a LocalAI scheduling file on a mixed
tier=gpu / tier=cpu cluster, plan -> saved plan -> apply -> empty re-plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.clirun import EXAMPLES, Run
from tests.nomad.flow import TOKEN


def mixed(sim: Any) -> None:
    for i in (1, 2):
        sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    for i in (1, 2, 3):
        sim.add_node(f"cpu-{i}", meta={"tier": "cpu"})


def test_localai_file_plan_apply_replan_through_the_cli(run: Run, nomad_sim_acl: Any, tmp_path: Path) -> None:
    mixed(nomad_sim_acl)
    env = {"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": TOKEN, "MODELSCHED_DRIVER": "nomad"}
    config = str(EXAMPLES / "localai-scheduling.yaml")
    planned = run("plan", "--config", config, "--out", "plan.json", "--detailed-exitcode", env=env)
    assert planned.code == 2, planned.err
    assert "Plan: 8 to add, 0 to remove." in planned.out  # gpt-oss 2 + nomic 5 + whisper 1
    assert "register modelsched-whisper" in planned.out and "Nomad may place it" in planned.out
    saved = (tmp_path / "plan.json").read_text()
    applied = run("apply", "plan.json", env=env)
    assert applied.code == 0, applied.err + applied.out
    assert "registered job modelsched-gpt-oss" in applied.err and "Apply complete" in applied.out
    again = run("plan", "--config", config, "--detailed-exitcode", env=env)
    assert again.code == 0, again.out + again.err
    for text in (saved, planned.out, planned.err, applied.out, applied.err):
        assert TOKEN not in text


def test_explicit_address_contradicting_the_plan_file_is_refused(run: Run, nomad_sim: Any) -> None:
    mixed(nomad_sim)
    env = {"NOMAD_ADDR": nomad_sim.address, "MODELSCHED_DRIVER": "nomad"}
    config = str(EXAMPLES / "localai-scheduling.yaml")
    assert run("plan", "--config", config, "--out", "plan.json", env=env).code == 0
    got = run("apply", "plan.json", "--nomad-addr", "http://127.0.0.1:9", env=env)
    assert got.code == 1 and "http://127.0.0.1:9" in got.err and nomad_sim.address in got.err
    assert nomad_sim.job("modelsched-gpt-oss") is None


def test_refused_token_is_one_clear_error(run: Run, nomad_sim_acl: Any) -> None:
    env = {"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": "nope-nope", "MODELSCHED_DRIVER": "nomad"}
    got = run("plan", "--config", str(EXAMPLES / "localai-scheduling.yaml"), env=env)
    assert got.code == 1 and "HTTP 403" in got.err and "nope-nope" not in got.err + got.out
    assert "Traceback" not in got.err
