"""End-to-end CLI behaviour on the local driver: plan, apply, show, validate, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.fakes import CLUSTER, CONFIG
from tests.clirun import EXAMPLES, Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "sched.yaml").write_text(CONFIG)
    return tmp_path / "cluster.yaml", tmp_path / "sched.yaml"


def test_plan_shows_per_node_changes_and_the_summary(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml")
    assert r.code == 0, r.err
    assert "# llm (spread, selector {tier=gpu}): 2 -> 2 replicas, 2 matching node(s)" in r.out
    assert "- cpu-2  {tier=cpu}  node_unhealthy" in r.out
    assert "+ gpu-2  {tier=gpu}  spread" in r.out
    assert "+ cpu-1  {tier=cpu}  min_replicas" in r.out
    assert r.out.rstrip().endswith("Plan: 2 to add, 1 to remove.")
    assert "\x1b[" not in r.out  # not a TTY: no colour


def test_detailed_exitcode_is_2_with_changes_and_0_without(run: Run, files: tuple[Path, Path]) -> None:
    assert run("plan", "--config", "sched.yaml", "--detailed-exitcode").code == 2
    assert run("apply", "--config", "sched.yaml", "--auto-approve").code == 0
    again = run("plan", "--config", "sched.yaml", "--detailed-exitcode")
    assert again.code == 0
    assert "No changes." in again.out


def test_apply_auto_approve_reports_and_converges(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", "--auto-approve")
    assert r.code == 0, r.err
    assert "Apply complete: 2 replica(s) added, 1 removed." in r.out
    cluster = files[0].read_text()
    assert "{model: asr, node: cpu-1}" in cluster and "{model: legacy, node: cpu-1}" in cluster
    assert "No changes." in run("plan", "--config", "sched.yaml").out


def test_a_saved_plan_applies_without_options_and_only_once(run: Run, files: tuple[Path, Path], tmp_path: Path) -> None:
    r = run("plan", "--config", "sched.yaml", "--out", "p.json", "--format", "json")
    assert r.code == 0
    saved = json.loads((tmp_path / "p.json").read_text())
    assert json.loads(r.out) == saved
    assert list(saved)[:11] == [
        "format_version", "generator", "driver", "cluster", "prune", "desired_digest",
        "observed_fingerprint", "changes", "models", "diagnostics", "summary",
    ]
    assert saved["cluster"] == {"state": str(files[0])}
    assert saved["changes"][0] == {
        "model": "asr", "node": "cpu-1", "action": "add", "reason": "min_replicas",
        "labels": {"tier": "cpu"}, "node_id": "cpu-1",
    }
    (tmp_path / "elsewhere").mkdir()
    applied = run("apply", str(tmp_path / "p.json"))
    assert applied.code == 0, applied.err
    before = files[0].read_bytes()
    stale = run("apply", str(tmp_path / "p.json"))
    assert stale.code == 1
    assert "nothing was applied" in stale.err.lower()
    assert files[0].read_bytes() == before


def test_show_renders_a_saved_plan_like_plan_did(run: Run, files: tuple[Path, Path]) -> None:
    text = run("plan", "--config", "sched.yaml", "--out", "p.json").out
    shown = run("show", "p.json").out
    assert shown in text
    md = run("show", "p.json", "--format", "markdown").out
    assert "| Model | Node | Change | Labels | Reason |" in md
    assert "| `llm` | `cpu-2` | ➖ remove | `{tier=cpu}` | `node_unhealthy` |" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--state", "other.yaml"), "contradicts the plan file"),
        (("--driver", "local"), "contradicts the plan file"),
        (("--prune",), "--prune contradicts the plan file"),
    ],
    ids=["another state file", "another driver", "prune when the plan was made without it"],
)
def test_an_option_contradicting_the_plan_file_is_refused(
    run: Run, files: tuple[Path, Path], args: tuple[str, ...], message: str
) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    if args[0] == "--driver":  # a plan made for another driver than the one asked for
        saved = json.loads(Path("p.json").read_text())
        Path("p.json").write_text(json.dumps({**saved, "driver": "nomad"}))
    before = files[0].read_bytes()
    r = run("apply", "p.json", *args)
    assert r.code == 1
    assert message in r.err
    assert files[0].read_bytes() == before


def test_a_changed_config_makes_a_saved_plan_stale(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    files[1].write_text(CONFIG.replace("min_replicas: 1", "min_replicas: 0"))
    r = run("apply", "p.json", "--config", "sched.yaml")
    assert r.code == 1
    assert "Error: Saved plan is stale: the scheduling config (sched.yaml) changed since the plan was made; " in r.err
    assert r.err.rstrip().endswith("nothing was applied. Run modelsched plan again.")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a modelsched plan file (invalid JSON"),
        ('{"format_version": 99, "generator": "modelsched 9.0"}', "format_version 99 (written by modelsched 9.0)"),
        ('{"format_version": 1, "driver": "local"}', "corrupt plan file"),
    ],
    ids=["corrupt JSON", "a plan file from another version", "a plan file with missing fields"],
)
def test_bad_plan_files_are_refused_with_a_located_message(
    run: Run, files: tuple[Path, Path], content: str, message: str
) -> None:
    Path("p.json").write_text(content)
    r = run("apply", "p.json")
    assert r.code == 1
    assert "p.json" in r.err and message in r.err
    assert "Traceback" not in r.err


def test_apply_without_a_terminal_or_auto_approve_refuses(run: Run, files: tuple[Path, Path]) -> None:
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml")
    assert r.code == 1
    assert "no terminal to ask on" in r.err and "--auto-approve" in r.err
    assert files[0].read_bytes() == before


@pytest.mark.parametrize("answer", ["no", "y", "YES", ""], ids=["no", "y", "upper-case YES", "empty"])
def test_any_answer_but_yes_cancels(run: Run, files: tuple[Path, Path], answer: str) -> None:
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml", input=answer + "\n", tty=True)
    assert r.code == 1
    assert "Apply cancelled." in r.out
    assert files[0].read_bytes() == before


def test_yes_applies(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", input="yes\n", tty=True)
    assert r.code == 0, r.err
    assert "Only 'yes' will be accepted" in r.out and "Apply complete" in r.out


def test_prune_removes_unlisted_models(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--prune")
    assert "# legacy (not listed: pruned)" in r.out
    assert "- cpu-1  {tier=cpu}  pruned" in r.out


def test_usage_errors_exit_1_not_2(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--no-such-option")
    assert r.code == 1
    assert "No such option" in r.err
    assert run("plan", "--format", "yaml").code == 1


def test_a_missing_state_file_is_an_error_without_traceback(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--state", "nope.yaml")
    assert r.code == 1
    assert "nope.yaml: file not found" in r.err
    assert "Traceback" not in r.err


def test_debug_shows_the_traceback(run: Run, files: tuple[Path, Path]) -> None:
    r = run("--debug", "plan", "--config", "sched.yaml", "--state", "nope.yaml")
    assert r.code == 1
    assert "Traceback" in r.err


def test_an_invalid_config_names_where_and_changes_nothing(run: Run, files: tuple[Path, Path]) -> None:
    files[1].write_text(CONFIG + "- model_name: llm\n  replicas: 3\n")
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml", "--auto-approve")
    assert r.code == 1
    assert "sched.yaml" in r.err and "invalid replicas value 3" in r.err
    assert "Traceback" not in r.err
    assert files[0].read_bytes() == before


def test_state_errors_reported_in_the_plan_make_plan_and_apply_fail(run: Run, files: tuple[Path, Path]) -> None:
    files[0].write_text(CLUSTER.replace("cpu-2", "gpu-1"))
    r = run("plan", "--config", "sched.yaml")
    assert r.code == 1
    assert "node 'gpu-1' is defined twice" in r.out
    assert "the plan has 1 error(s)" in r.err
    assert run("apply", "--config", "sched.yaml", "--auto-approve").code == 1


def test_driver_and_state_come_from_the_environment(run: Run, files: tuple[Path, Path], tmp_path: Path) -> None:
    files[0].rename(tmp_path / "elsewhere.yaml")
    r = run("plan", "--config", "sched.yaml", env={"MODELSCHED_STATE": "elsewhere.yaml", "MODELSCHED_DRIVER": "local"})
    assert r.code == 0, r.err
    bad = run("plan", "--config", "sched.yaml", env={"MODELSCHED_DRIVER": "kubernetes"})
    assert bad.code == 1 and "MODELSCHED_DRIVER='kubernetes' is not a driver" in bad.err


def test_a_localai_env_var_config_works_unchanged(run: Run, files: tuple[Path, Path]) -> None:
    cfg = json.dumps([{"model_name": "llm", "node_selector": {"tier": "gpu"}, "replicas": "all"}])
    r = run("plan", env={"LOCALAI_MODEL_SCHEDULING": cfg})
    assert r.code == 0, r.err
    assert "+ gpu-2  {tier=gpu}  spread" in r.out


def test_validate_prints_a_line_per_model(run: Run, files: tuple[Path, Path]) -> None:
    r = run("validate", "--config", "sched.yaml")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "asr: bounded: min 1, max unbounded; selector {tier=cpu}",
        "llm: spread: one replica on every matching node; selector {tier=gpu}",
        "Configuration is valid: 2 model(s) from sched.yaml.",
    ]


def test_the_bundled_examples_plan_cleanly(run: Run) -> None:
    r = run("plan", "--config", str(EXAMPLES / "scheduling.yaml"), "--state", str(EXAMPLES / "cluster.yaml"))
    assert r.code == 0, r.err
    assert "Plan:" in r.out
    local = run("validate", "--config", str(EXAMPLES / "localai-scheduling.yaml"))
    assert local.code == 0, local.err


def test_a_changed_env_config_makes_a_saved_plan_stale(run: Run, files: tuple[Path, Path]) -> None:
    first = json.dumps([{"model_name": "asr", "min_replicas": 2}])
    assert run("plan", "--out", "p.json", env={"MODELSCHED_SCHEDULING": first}).code == 0
    second = json.dumps([{"model_name": "asr", "max_replicas": 1}])
    before = files[0].read_bytes()
    r = run("apply", "p.json", env={"MODELSCHED_SCHEDULING": second})
    assert r.code == 1
    assert "(env MODELSCHED_SCHEDULING) changed since the plan was made" in r.err
    assert files[0].read_bytes() == before
    assert run("apply", "p.json", env={"MODELSCHED_SCHEDULING": first}).code == 0


def test_a_plan_file_whose_summary_disagrees_with_its_changes_is_refused(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    saved = json.loads(Path("p.json").read_text())
    saved["summary"]["add"] = 99
    Path("p.json").write_text(json.dumps(saved))
    r = run("show", "p.json")
    assert r.code == 1
    assert "summary says 99 to add" in r.err
