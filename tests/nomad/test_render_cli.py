"""`modelsched render`: job JSON for review, never a cluster request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize(
    "option",
    ["--nomad-addr", "--nomad-cacert", "--nomad-capath", "--nomad-client-cert", "--nomad-client-key",
     "--nomad-tls-server-name", "--nomad-skip-verify", "--nomad-timeout", "--adopt"],
)
def test_render_offers_only_the_options_it_uses(config: Path, option: str) -> None:
    """render never contacts Nomad: no address, TLS, timeout or --adopt in its help, and
    passing one is a usage error, not silently ignored."""
    help_text = CliRunner().invoke(render, ["--help"]).output
    assert option not in help_text
    assert all(kept in help_text for kept in ("--nomad-namespace", "--nomad-region", "--job-template"))
    args = [option] if option in ("--nomad-skip-verify", "--adopt") else [option, "x"]
    result = CliRunner().invoke(render, ["--config", str(config), *args])
    assert result.exit_code != 0 and "No such option" in result.output


def test_namespace_precedence_is_the_connections(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """option > NOMAD_NAMESPACE > the config's nomad.namespace, as for plan."""
    with_ns = config.with_name("ns.yaml")
    with_ns.write_text(CONFIG.replace("  job_name_prefix: ms-\n", "  job_name_prefix: ms-\n  namespace: cfg\n"))

    def namespace(*args: str) -> str:
        result = CliRunner().invoke(render, ["--config", str(with_ns), *args])
        assert result.exit_code == 0, result.output
        return str(json.loads(result.output.split("\n}\n")[0] + "\n}")["Job"]["Namespace"])

    assert namespace() == "cfg"
    monkeypatch.setenv("NOMAD_NAMESPACE", "env")
    assert namespace() == "env"
    assert namespace("--nomad-namespace", "opt") == "opt"


def test_each_template_is_compiled_once_however_many_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from modelsched.drivers.nomad import template

    template._compiled.cache_clear()
    compiled: list[str] = []
    real = ImmutableSandboxedEnvironment.from_string

    def counting(self: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(source))
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(ImmutableSandboxedEnvironment, "from_string", counting)
    cfg = tmp_path / "many.yaml"
    cfg.write_text("models:\n" + "".join(f"  - {{model_name: m{i}, replicas: all}}\n" for i in range(25)))
    result = CliRunner().invoke(render, ["--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert len(compiled) == 1
    assert result.output.count('"Job"') == 25


@pytest.mark.parametrize(
    "value",
    ["plain", "caf\u00e9 \u2603 \U0001f600", 1e16, 0.1, 1e-07, 2**70, "\ud800"],
    ids=["ASCII", "non-ASCII and astral", "a big float", "a float", "a small float", "a big integer",
         "a lone surrogate"],
)
def test_job_json_is_byte_identical_to_json_dumps(value: Any) -> None:
    from modelsched.cli.render import job_json

    job = {"ID": "x", "Meta": {"b": "1", "a": value}, "TaskGroups": [{"Count": 2, "Name": "g"}]}
    assert job_json(job) == json.dumps({"Job": job}, indent=2, sort_keys=True)


@pytest.mark.parametrize("command", ["render", "plan"])
def test_job_template_dev_zero_ends_at_once_with_one_message(
    run: Any, config: Path, nomad_sim: Any, command: str
) -> None:
    from tests.clirun import EXAMPLES

    cfg = str(config) if command == "render" else str(EXAMPLES / "localai-scheduling.yaml")
    extra = ["--driver", "nomad"] if command == "plan" else []
    got = run(command, "--config", cfg, *extra, "--job-template", "/dev/zero", env={"NOMAD_ADDR": nomad_sim.address})
    assert got.code == 1
    assert "job template /dev/zero: cannot read it" in got.err and "at most 1 MiB" in got.err, got.err
    assert "Traceback" not in got.err
