"""`modelsched render`: job JSON for review, never a cluster request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelsched.cli.render import render

CONFIG = """\
nomad:
  job_name_prefix: ms-
models:
  - model_name: gpt-oss
    node_selector: {tier: gpu}
    replicas: all
  - model_name: whisper
    node_selector: {tier: cpu}
    min_replicas: 1
    max_replicas: 2
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "scheduling.yaml"
    path.write_text(CONFIG)
    return path


def test_writes_one_file_per_model(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_ADDR", "http://127.0.0.1:1")  # nothing listens: render must not connect
    out = tmp_path / "jobs"
    result = CliRunner().invoke(render, ["--config", str(config), "--out-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["ms-gpt-oss.json", "ms-whisper.json"]
    spread = json.loads((out / "ms-gpt-oss.json").read_text())["Job"]
    assert spread["Type"] == "system" and spread["Constraints"][0]["RTarget"] == "gpu"
    bounded = json.loads((out / "ms-whisper.json").read_text())["Job"]
    assert bounded["Type"] == "service" and bounded["TaskGroups"][0]["Scaling"]["Max"] == 2


def test_prints_to_stdout_without_out_dir(config: Path) -> None:
    result = CliRunner().invoke(render, ["--config", str(config), "--nomad-namespace", "ml"])
    assert result.exit_code == 0, result.output
    assert result.output.count('"Job"') == 2 and '"Namespace": "ml"' in result.output


def test_custom_template_option(config: Path, tmp_path: Path) -> None:
    tpl = tmp_path / "t.j2"
    tpl.write_text('{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": {{ model | tojson }}, "Driver": "exec"}]}]}')
    result = CliRunner().invoke(render, ["--config", str(config), "--job-template", str(tpl)])
    assert result.exit_code == 0, result.output
    assert '"Driver": "exec"' in result.output


def test_examples_custom_template_renders(tmp_path: Path) -> None:
    root = Path(__file__).parents[2] / "examples" / "nomad"
    result = CliRunner().invoke(
        render, ["--config", str(root / "scheduling.yaml"), "--job-template", str(root / "localai.nomad.json.j2")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args", [["--nomad-namespace", "*"], ["--nomad-region", "eu west"]], ids=["namespace", "region"]
)
def test_a_bad_namespace_or_region_is_refused(config: Path, args: list[str]) -> None:
    result = CliRunner().invoke(render, ["--config", str(config), *args])
    assert result.exit_code != 0 and "not a" in str(result.exception)


def test_model_names_and_vars_never_break_out_of_a_plain_template(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text('models:\n  - model_name: \'x", "Priority": 99, "y": "\'\n    replicas: all\n'
                   '    vars: {tag: "a\\"}, {\\"b"}\n')
    tpl = tmp_path / "t.j2"
    tpl.write_text('{"TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker",'
                   ' "Config": {"image": "img:{{ vars.tag }}", "args": ["{{ model }}"]}}]}]}')
    result = CliRunner().invoke(render, ["--config", str(cfg), "--job-template", str(tpl)])
    assert result.exit_code == 0, result.output
    job = json.loads(result.output)["Job"]
    assert "Priority" not in job
    assert job["TaskGroups"][0]["Tasks"][0]["Config"]["image"] == 'img:a"}, {"b'
