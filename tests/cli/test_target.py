"""`--target MODEL`: plan and apply only those models; a saved plan records them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.fakes import write_files
from tests.clirun import Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_files(tmp_path)


def test_a_targeted_plan_changes_only_the_targeted_model(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--target", "asr")
    assert r.code == 0, r.err
    assert "+ cpu-1  {tier=cpu}  min_replicas" in r.out
    assert "llm" not in r.out
    assert r.out.rstrip().endswith("Plan: 1 to add, 0 to remove.")


def test_targets_repeat_and_a_saved_plan_records_them_sorted(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--target", "llm", "--target", "asr", "--target", "llm",
            "--out", "p.json")
    assert r.code == 0, r.err
    saved = json.loads(Path("p.json").read_text())
    assert saved["targets"] == ["asr", "llm"]
    assert saved["summary"] == {"add": 2, "remove": 1}


def test_an_untargeted_plan_records_no_targets(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    assert "targets" not in json.loads(Path("p.json").read_text())


def test_the_untargeted_models_keep_their_replicas_and_count_as_load(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", "--target", "asr", "--auto-approve")
    assert r.code == 0, r.err
    state = files[0].read_text()
    assert "{model: asr, node: cpu-1}" in state
    assert "{model: llm, node: cpu-2}" in state  # llm was not targeted: its invalid replica stays
    again = run("plan", "--config", "sched.yaml", "--target", "asr", "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out


def test_a_saved_targeted_plan_applies_what_it_says(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--target", "llm", "--out", "p.json")
    r = run("apply", "p.json", "--target", "llm")
    assert r.code == 0, r.err
    assert "Apply complete: 1 replica(s) added, 1 removed." in r.out
    assert "asr" not in files[0].read_text()


@pytest.mark.parametrize(
    ("plan_args", "apply_args", "message"),
    [
        (("--target", "llm"), ("--target", "asr"),
         "--target asr contradicts the plan file, which was made for llm"),
        ((), ("--target", "asr"), "--target asr contradicts the plan file, which was made for every model"),
    ],
    ids=["another target", "a target for a plan of every model"],
)
def test_a_target_contradicting_the_saved_plan_is_a_usage_error(
    run: Run, files: tuple[Path, Path], plan_args: tuple[str, ...], apply_args: tuple[str, ...], message: str
) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json", *plan_args)
    before = files[0].read_bytes()
    r = run("apply", "p.json", *apply_args)
    assert r.code == 1 and message in r.err
    assert files[0].read_bytes() == before


@pytest.mark.parametrize("command", ["plan", "apply"], ids=["plan", "apply"])
def test_prune_with_target_is_refused(run: Run, files: tuple[Path, Path], command: str) -> None:
    before = files[0].read_bytes()
    r = run(command, "--config", "sched.yaml", "--target", "asr", "--prune", "--auto-approve"
            if command == "apply" else "--no-color")
    assert r.code == 1
    assert "--prune cannot be combined with --target" in r.err
    assert files[0].read_bytes() == before


def test_an_unknown_target_names_the_config_and_suggests_a_model(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--target", "lmm")
    assert r.code == 1
    assert "--target lmm: no model of that name in sched.yaml (did you mean 'llm'?)" in r.err


def test_a_targeted_saved_plan_goes_stale_when_another_entry_changes(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--target", "asr", "--out", "p.json")
    files[1].write_text(files[1].read_text().replace("replicas: all", "min_replicas: 1"))
    r = run("apply", "p.json", "--config", "sched.yaml")
    assert r.code == 1
    assert "Saved plan is stale: the scheduling config (sched.yaml) changed" in r.err
