"""The bundled GitHub Actions workflow is valid, least-privilege, and its steps work as written."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def step(job: str, name: str) -> dict[str, Any]:
    for s in workflow()["jobs"][job]["steps"]:
        if s.get("name") == name:
            return dict(s)
    raise AssertionError(f"no step {name!r} in job {job}")


def test_the_workflow_validates_against_githubs_workflow_schema() -> None:
    pytest.importorskip("check_jsonschema")
    out = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_broken_workflow_fails_the_schema_check_so_the_check_is_real(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    out = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode != 0


def test_modelsched_is_installed_from_the_checkout_not_a_public_index() -> None:
    for job in ("plan", "apply"):
        assert step(job, "Install modelsched")["run"].strip() == "python -m pip install ."
    assert "pip install modelsched" not in WORKFLOW.read_text()


def test_tokens_follow_least_privilege() -> None:
    wf = workflow()
    assert wf["permissions"] == {}
    plan, apply = wf["jobs"]["plan"], wf["jobs"]["apply"]
    assert plan["env"]["NOMAD_TOKEN"] == "${{ secrets.NOMAD_READ_TOKEN }}"
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert apply["env"]["NOMAD_TOKEN"] == "${{ secrets.NOMAD_TOKEN }}"
    assert apply["permissions"] == {"contents": "read"}
    assert apply["environment"] == "modelsched-apply"
    assert "refs/heads/main" in apply["if"] and "github.event_name == 'push'" in apply["if"]
    assert "NOMAD_TOKEN" not in wf["env"]  # never workflow-wide: the write token reaches apply only
    assert WORKFLOW.read_text().count("${{ secrets.NOMAD_TOKEN }}") == 1


def test_the_plan_artifact_holds_the_json_and_html_plans_and_apply_uses_it() -> None:
    uploaded = step("plan", "Upload the plan")["with"]["path"].split()
    assert {"plan.json", "plan.html", "plan.md"} <= set(uploaded)
    fetched = step("apply", "Fetch the plan made by this run")["with"]["name"]
    assert fetched == step("plan", "Upload the plan")["with"]["name"]
    assert step("apply", "Apply")["run"].startswith("modelsched apply plan.json --config \"$CONFIG\"")


@pytest.fixture
def plan_step(tmp_path: Path) -> Path:
    """The Plan step's script, with `modelsched` on PATH running this checkout on the local driver."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "modelsched"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m modelsched "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "examples").mkdir()
    for name in ("scheduling.yaml", "cluster.yaml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / "examples" / name)
    script = tmp_path / "plan.sh"
    script.write_text(step("plan", "Plan")["run"])
    return script


def run_step(script: Path, **env: str) -> tuple[int, str]:
    out_file = script.parent / "github_output"
    out_file.write_text("")
    full = {
        **os.environ, "PATH": f"{script.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT), "GITHUB_OUTPUT": str(out_file), "CONFIG": "examples/scheduling.yaml",
        "MODELSCHED_DRIVER": "local", "MODELSCHED_STATE": "examples/cluster.yaml", **env,
    }
    done = subprocess.run(["bash", "-e", str(script)], cwd=script.parent, env=full, capture_output=True, text=True)
    return done.returncode, out_file.read_text()


def test_the_plan_step_runs_as_written_and_produces_every_plan(plan_step: Path) -> None:
    code, outputs = run_step(plan_step)
    assert code == 0
    assert outputs == "changes=true\n"
    folder = plan_step.parent
    assert (folder / "plan.md").read_text().startswith("### modelsched Plan:")
    assert (folder / "plan.json").read_text().startswith('{\n  "format_version": 1,')
    assert (folder / "plan.html").stat().st_size > 0


@pytest.mark.parametrize(
    ("exit_code", "step_exit", "outputs"),
    [(0, 0, "changes=false\n"), (2, 0, "changes=true\n"), (1, 1, ""), (3, 3, "")],
    ids=["no changes continues", "changes continue", "an error fails the job", "any other code fails the job"],
)
def test_plan_exit_codes_are_handled_explicitly(plan_step: Path, exit_code: int, step_exit: int, outputs: str) -> None:
    stub = plan_step.parent / "bin" / "modelsched"
    stub.write_text(f"#!/bin/sh\n[ \"$1\" = plan ] && exit {exit_code}\nexit 0\n")
    code, written = run_step(plan_step)
    assert (code, written) == (step_exit, outputs)
