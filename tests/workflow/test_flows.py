"""The workflow's flows, driven directly: checks between steps, what a saved plan records,
and that the environment comes from the request, never from the process."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from modelsched import workflow
from modelsched.drivers.base import ApplyReport, LineReporter
from modelsched.errors import PlanError, PlanFileError, StalePlanError, UsageError
from modelsched.model.drift import node_digests
from modelsched.model.plan import Diagnostic, Plan, dump_plan
from modelsched.workflow import flows, request
from tests.cli.fakes import CLUSTER, CONFIG, ScriptedDriver

QUIET = LineReporter(lambda _: None)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "sched.yaml").write_text(CONFIG)
    return tmp_path


def req(root: Path, **kw: Any) -> workflow.Request:
    env = kw.pop("env", {})
    kw.setdefault("config", str(root / "sched.yaml"))
    kw.setdefault("state", str(root / "cluster.yaml"))
    return workflow.Request(env=env, **kw)


def test_the_environment_comes_from_the_request_not_the_process(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSCHED_STATE", str(root / "missing.yaml"))
    monkeypatch.setenv("MODELSCHED_DRIVER", "nomad")
    got = workflow.plan(workflow.Request(env={"MODELSCHED_STATE": str(root / "cluster.yaml")},
                                         config=str(root / "sched.yaml")))
    assert got.cluster == {"state": str(root / "cluster.yaml")}


def test_a_saved_plan_records_a_digest_of_every_observed_node(root: Path) -> None:
    saved = workflow.plan(req(root), str(root / "p.json"))
    observed = request.build_driver("local", req(root)).observe(workflow.validate(req(root)))
    assert saved.observed_nodes == node_digests(observed)
    assert workflow.show(str(root / "p.json")).observed_nodes == saved.observed_nodes
    assert workflow.plan(req(root)).observed_nodes is None  # only saved plans carry them


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [(None, {}, ("local", "the default")), ("nomad", {"MODELSCHED_DRIVER": "local"}, ("nomad", "--driver")),
     (None, {"MODELSCHED_DRIVER": " nomad "}, ("nomad", "MODELSCHED_DRIVER")),
     (None, {"MODELSCHED_DRIVER": ""}, ("local", "the default"))],
    ids=["nothing set: local", "the option beats the environment", "the environment, trimmed",
         "an empty variable counts as unset"],
)
def test_driver_choice(option: str | None, env: dict[str, str], expected: tuple[str, str]) -> None:
    assert workflow.driver_choice(option, env) == expected


def test_an_unknown_driver_in_the_environment_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="MODELSCHED_DRIVER='k8s' is not a driver"):
        workflow.driver_choice(None, {"MODELSCHED_DRIVER": "k8s"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"driver": "nomad"}, "--driver nomad contradicts the plan file"),
     ({"prune": True}, "--prune contradicts the plan file"),
     ({"targets": ("asr",)}, "--target asr contradicts the plan file"),
     ({"state": "other.yaml"}, "contradicts the plan file, which was made for")],
    ids=["another driver", "prune", "a target", "another state file"],
)
def test_options_contradicting_a_saved_plan_are_one_kind_of_error(
    root: Path, overrides: dict[str, Any], message: str
) -> None:
    workflow.plan(req(root), str(root / "p.json"))
    before = (root / "cluster.yaml").read_bytes()
    with pytest.raises(UsageError, match=message):
        workflow.apply_saved(req(root, config=None, **overrides), str(root / "p.json"), QUIET)
    assert (root / "cluster.yaml").read_bytes() == before


def test_a_changed_config_makes_the_saved_plan_stale_in_the_usual_words(root: Path) -> None:
    workflow.plan(req(root), str(root / "p.json"))
    (root / "sched.yaml").write_text(CONFIG.replace("min_replicas: 1", "min_replicas: 2"))
    with pytest.raises(StalePlanError) as caught:
        workflow.apply_saved(req(root), str(root / "p.json"), QUIET)
    text = str(caught.value)
    assert text.startswith("Saved plan is stale: the scheduling config (")
    assert text.endswith("; nothing was applied. Run modelsched plan again.")


def test_a_config_from_the_environment_is_checked_too(root: Path) -> None:
    workflow.plan(req(root), str(root / "p.json"))
    env = {"LOCALAI_MODEL_SCHEDULING": '[{"model_name": "asr", "min_replicas": 1}]'}
    with pytest.raises(StalePlanError, match=r"\(env LOCALAI_MODEL_SCHEDULING\) changed"):
        workflow.apply_saved(req(root, config=None, env=env), str(root / "p.json"), QUIET)


def with_error(plan: Plan, count: int = 1) -> Plan:
    errors = [Diagnostic(level="error", model=None, message="bad")]
    errors += [Diagnostic(level="error", model=f"m{i}", message=f"bad {i}") for i in range(1, count)]
    return plan.model_copy(update={"diagnostics": errors})


def test_a_saved_plans_errors_are_listed_since_the_plan_was_not_shown(root: Path) -> None:
    (root / "p.json").write_text(dump_plan(with_error(workflow.plan(req(root)), count=5)))
    with pytest.raises(PlanError) as caught:
        workflow.apply_saved(req(root, config=None), str(root / "p.json"), QUIET)
    assert str(caught.value) == (
        "the plan has 5 error(s): bad; m1: bad 1; m2: bad 2; and 2 more; fix them and plan again; nothing was applied"
    )


def test_a_plan_with_errors_is_never_handed_to_the_driver(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Plan] = []

    def script(plan: Plan, progress: Any) -> ApplyReport:
        calls.append(plan)
        return ApplyReport(applied=list(plan.changes))

    monkeypatch.setattr(flows, "build_driver", lambda *a, **k: ScriptedDriver(root / "cluster.yaml", script))
    (root / "p.json").write_text(dump_plan(with_error(workflow.plan(req(root)))))
    with pytest.raises(PlanError, match=r"^the plan has 1 error\(s\): bad; fix them and plan again; "
                                        "nothing was applied$"):
        workflow.apply_saved(req(root, config=None), str(root / "p.json"), QUIET)
    assert calls == []
    with pytest.raises(PlanError, match=r"the plan has 1 error\(s\) \(see above\); fix them and plan again$"):
        workflow.refuse_errors(with_error(workflow.plan(req(root))))
    workflow.refuse_errors(workflow.plan(req(root)))  # a plan without errors passes


def test_ctrl_c_escaping_the_driver_becomes_an_interrupted_outcome_of_unknown_extent(root: Path) -> None:
    def script(plan: Plan, progress: Any) -> ApplyReport:
        raise KeyboardInterrupt

    fresh = workflow.plan(req(root))
    got = flows._apply(ScriptedDriver(root / "cluster.yaml", script), fresh, QUIET)
    assert got.unknown and got.report is not None and got.report.interrupted and not got.report.ok


def test_apply_now_shows_the_plan_before_asking_and_applies_nothing_when_declined(root: Path) -> None:
    events: list[str] = []

    def decline() -> bool:
        events.append("asked")
        return False

    before = (root / "cluster.yaml").read_bytes()
    got = workflow.apply_now(req(root), QUIET, show_plan=lambda p: events.append("shown"), confirm=decline)
    assert events == ["shown", "asked"] and got.cancelled and got.report is None
    assert (root / "cluster.yaml").read_bytes() == before


def test_apply_now_without_a_question_applies(root: Path) -> None:
    got = workflow.apply_now(req(root), QUIET, show_plan=lambda p: None, confirm=None)
    assert got.report is not None and got.report.ok and len(got.report.applied) == 3


def test_a_config_from_stdin_cannot_be_confirmed(root: Path) -> None:
    stdin = io.StringIO(CONFIG)
    with pytest.raises(UsageError, match="read from stdin"):
        workflow.apply_now(req(root, config="-", stdin=stdin), QUIET, show_plan=lambda p: None, confirm=lambda: True)


def test_the_stdin_config_is_read_from_the_request(root: Path) -> None:
    got = workflow.plan(req(root, config="-", stdin=io.StringIO(CONFIG)))
    assert got.summary.add == 2


def test_a_driver_named_by_the_environment_must_be_the_saved_plans(root: Path) -> None:
    workflow.plan(req(root), str(root / "p.json"))
    with pytest.raises(StalePlanError) as caught:
        workflow.apply_saved(req(root, config=None, env={"MODELSCHED_DRIVER": "nomad"}), str(root / "p.json"), QUIET)
    assert str(caught.value) == (
        "Saved plan is stale: it was made for driver local, but MODELSCHED_DRIVER selects nomad; "
        "nothing was applied. Run modelsched plan again."
    )
    same = workflow.apply_saved(req(root, config=None, env={"MODELSCHED_DRIVER": "local"}), str(root / "p.json"),
                                QUIET)
    assert same.report is not None and same.report.ok


def test_a_plan_file_for_a_driver_this_version_lacks_is_refused(root: Path) -> None:
    import json

    workflow.plan(req(root), str(root / "p.json"))
    data = json.loads((root / "p.json").read_text())
    (root / "p.json").write_text(json.dumps({**data, "driver": "kubernetes"}))
    with pytest.raises(PlanFileError, match='driver: "kubernetes" is not a driver'):
        workflow.apply_saved(req(root, config=None), str(root / "p.json"), QUIET)


def test_plan_shows_the_plan_before_refusing_its_errors(root: Path) -> None:
    (root / "cluster.yaml").write_text(CLUSTER.replace("cpu-2", "gpu-1"))
    shown: list[Plan] = []
    with pytest.raises(PlanError):
        workflow.plan(req(root), show_plan=shown.append)
    assert len(shown) == 1 and shown[0].diagnostics[0].level == "error"
