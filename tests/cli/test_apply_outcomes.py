"""What apply says and writes (`--report FILE`) when it completes, fails, times out or is interrupted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.base import ApplyReport, Reporter
from modelsched.model.plan import Plan
from tests.cli.fakes import status, use_script, write_files
from tests.clirun import Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_files(tmp_path)


def report_of(path: str = "report.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def by_model(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in data["models"]}


def test_a_complete_apply_reports_every_model_applied(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json")
    assert r.code == 0, r.err
    data = report_of()
    assert (data["result"], data["ok"], data["interrupted"]) == ("applied", True, False)
    assert data["summary"] == {"applied": 3, "failed": 0, "not_attempted": 0, "unknown": 0}
    models = by_model(data)
    assert models["llm"]["result"] == "applied" and models["llm"]["applied"] == {"add": 1, "remove": 1}
    assert models["asr"]["applied"] == {"add": 1, "remove": 0}
    assert data["driver"] == "local" and data["cluster"] == {"state": str(files[0])}


def test_no_changes_is_a_successful_report(run: Run, files: tuple[Path, Path]) -> None:
    assert run("apply", "--config", "sched.yaml", "--auto-approve").code == 0
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json")
    assert r.code == 0 and "No changes. Nothing to apply." in r.out
    assert (report_of()["result"], report_of()["ok"], report_of()["models"]) == ("no_changes", True, [])


def timed_out(plan: Plan, progress: Reporter) -> ApplyReport:
    asr = [c for c in plan.changes if c.model == "asr"]
    llm = [c for c in plan.changes if c.model == "llm"]
    for elapsed in (0.5, 5.0, 10.2, 14.0, 20.1):
        progress.waiting(status(elapsed, ("asr", 1, 1, 0, 0, ""), ("llm", 1, 2, 1, 0, "")))
    last = status(300.0, ("asr", 1, 1, 0, 0, ""), ("llm", 1, 2, 1, 0, "no node has the gpu class"))
    return ApplyReport(
        applied=asr,
        failed=[(c, "allocations did not match the plan before the timeout") for c in llm],
        errors=[],
        status=last,
    )


def test_a_timeout_reports_per_model_what_runs_is_pending_and_why(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_script(monkeypatch, timed_out)
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json")
    assert r.code == 1
    waiting = [line for line in r.err.splitlines() if line.startswith("Still waiting")]
    assert waiting == [
        "Still waiting: llm 1/2 running, 1 pending [10s elapsed]",
        "Still waiting: llm 1/2 running, 1 pending [20s elapsed]",
    ]
    assert "Apply incomplete: 1 replica(s) added, 0 removed." in r.err
    assert "  llm: 1/2 running, 1 pending, 0 failed: no node has the gpu class" in r.err
    assert "Re-running modelsched plan and apply converges" in r.err
    assert "Error: apply did not complete" in r.err
    data = report_of()
    assert (data["result"], data["ok"]) == ("incomplete", False)
    models = by_model(data)
    assert models["asr"]["result"] == "applied"
    assert models["llm"]["result"] == "failed"
    assert models["llm"]["failed"] == {"add": 1, "remove": 1}
    assert models["llm"]["errors"] == ["allocations did not match the plan before the timeout"]
    assert models["llm"]["wait"] == {
        "running": 1, "wanted": 2, "pending": 1, "failed": 0, "detail": "no node has the gpu class"
    }


def interrupted(plan: Plan, progress: Reporter) -> ApplyReport:
    asr = [c for c in plan.changes if c.model == "asr"]
    rest = [c for c in plan.changes if c.model != "asr"]
    return ApplyReport(applied=asr, not_attempted=rest, interrupted=True)


def test_ctrl_c_reports_what_was_applied_and_how_to_converge(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_script(monkeypatch, interrupted)
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json")
    assert r.code == 1
    assert "  asr: added on cpu-1" in r.out
    assert "Apply interrupted: 1 replica(s) added, 0 removed." in r.err
    assert "  not attempted: remove llm on cpu-2" in r.err and "  not attempted: add llm on gpu-2" in r.err
    assert "Re-running modelsched plan and apply converges" in r.err
    data = report_of()
    assert (data["result"], data["interrupted"]) == ("interrupted", True)
    assert by_model(data)["llm"]["result"] == "not_attempted"
    assert by_model(data)["llm"]["not_attempted"] == {"add": 1, "remove": 1}


def escaped_interrupt(plan: Plan, progress: Reporter) -> ApplyReport:
    progress("registered something")
    raise KeyboardInterrupt


def test_ctrl_c_that_escapes_the_driver_says_the_outcome_is_unknown(
    run: Run, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_script(monkeypatch, escaped_interrupt)
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json")
    assert r.code == 1
    assert "some changes may have been applied" in r.err and "Run modelsched plan" in r.err
    data = report_of()
    assert data["result"] == "interrupted"
    assert data["summary"]["unknown"] == 3
    assert {m["result"] for m in data["models"]} == {"unknown"}


def test_a_stale_saved_plan_writes_a_report_with_nothing_attempted(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    files[1].write_text(files[1].read_text().replace("min_replicas: 1", "min_replicas: 0"))
    r = run("apply", "p.json", "--config", "sched.yaml", "--report", "report.json")
    assert r.code == 1
    data = report_of()
    assert data["result"] == "error" and data["ok"] is False
    assert data["errors"][0].startswith("Saved plan is stale: the scheduling config (sched.yaml) changed")
    assert data["summary"]["not_attempted"] == 3 and data["summary"]["applied"] == 0
    assert {m["result"] for m in data["models"]} == {"not_attempted"}


@pytest.mark.parametrize(
    "target",
    ["cluster.yaml", "sched.yaml", "p.json", "link-to-state.yaml"],
    ids=["the state file", "the config", "the plan file being applied", "a link to the state file"],
)
def test_the_report_never_replaces_an_input(run: Run, files: tuple[Path, Path], target: str) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    Path("link-to-state.yaml").symlink_to(files[0])
    before = {p: Path(p).read_bytes() for p in ("cluster.yaml", "sched.yaml", "p.json")}
    r = run("apply", "p.json", "--report", target)
    assert r.code == 1
    assert f"--report {target} " in r.err and "Nothing was written" in r.err
    assert {p: Path(p).read_bytes() for p in before} == before


def test_a_config_error_before_applying_still_protects_the_state_file(run: Run, files: tuple[Path, Path]) -> None:
    files[1].write_text("- model_name: x\n  replicas: 3\n")
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "cluster.yaml")
    assert r.code == 1
    assert files[0].read_bytes() == before


def test_a_report_replaces_the_previous_report(run: Run, files: tuple[Path, Path]) -> None:
    assert run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json").code == 0
    assert report_of()["result"] == "applied"
    assert run("apply", "--config", "sched.yaml", "--auto-approve", "--report", "report.json").code == 0
    assert report_of()["result"] == "no_changes"


def test_a_cancelled_apply_writes_a_cancelled_report(run: Run, files: tuple[Path, Path]) -> None:
    r = run("apply", "--config", "sched.yaml", "--report", "report.json", input="no\n", tty=True)
    assert r.code == 1 and "Apply cancelled." in r.out
    assert (report_of()["result"], report_of()["ok"]) == ("cancelled", False)
