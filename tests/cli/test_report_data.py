"""The `--report` JSON, built from an apply outcome: per-model results and counts."""

from __future__ import annotations

from typing import Any

import pytest

from modelsched import workflow
from modelsched.cli.report import report_data
from modelsched.drivers.base import ApplyReport
from modelsched.model.plan import Change, Plan, Summary


def change(model: str, node: str, action: str = "add") -> Change:
    return Change(model=model, node=node, action=action, reason="spread" if action == "add" else "node_unhealthy",
                  labels={}, node_id=node)  # type: ignore[arg-type]


A1, A2, B1 = change("a", "n1"), change("a", "n2", "remove"), change("b", "n1")
PLAN = Plan(generator="modelsched test", driver="local", cluster={"state": "/s.yaml"}, desired_digest="sha256:d",
            observed_fingerprint="sha256:o", changes=[A1, A2, B1], summary=Summary(add=2, remove=1))


def models_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in data["models"]}


@pytest.mark.parametrize(
    ("report", "a", "b", "result"),
    [
        (ApplyReport(applied=[A1, A2, B1]), "applied", "applied", "applied"),
        (ApplyReport(applied=[A1], not_attempted=[A2, B1]), "partial", "not_attempted", "incomplete"),
        (ApplyReport(applied=[A1, B1], failed=[(A2, "refused")]), "failed", "applied", "incomplete"),
        (ApplyReport(applied=[A1], not_attempted=[A2, B1], interrupted=True), "partial", "not_attempted",
         "interrupted"),
        (ApplyReport(applied=[A1, A2, B1], errors=["could not check"]), "applied", "applied", "incomplete"),
    ],
    ids=["everything applied", "stopped after the first change", "one change failed", "interrupted",
         "applied, but an error after it"],
)
def test_per_model_results(report: ApplyReport, a: str, b: str, result: str) -> None:
    data = report_data(workflow.Applied(PLAN, report), None)
    assert (models_of(data)["a"]["result"], models_of(data)["b"]["result"], data["result"]) == (a, b, result)
    assert data["ok"] is (result == "applied")
    counted = data["summary"]["applied"] + data["summary"]["failed"] + data["summary"]["not_attempted"]
    assert counted == 3


def test_counts_split_adds_and_removes_and_keep_the_errors() -> None:
    data = report_data(workflow.Applied(PLAN, ApplyReport(applied=[A1, B1], failed=[(A2, "refused by the backend")])),
                       None)
    a = models_of(data)["a"]
    assert (a["applied"], a["failed"], a["not_attempted"]) == (
        {"add": 1, "remove": 0}, {"add": 0, "remove": 1}, {"add": 0, "remove": 0}
    )
    assert a["errors"] == ["refused by the backend"]
    assert data["summary"] == {"applied": 2, "failed": 1, "not_attempted": 0, "unknown": 0}


def test_an_error_before_applying_marks_every_change_not_attempted() -> None:
    data = report_data(None, PLAN, error="Saved plan is stale: x")
    assert (data["result"], data["ok"], data["errors"]) == ("error", False, ["Saved plan is stale: x"])
    assert data["summary"] == {"applied": 0, "failed": 0, "not_attempted": 3, "unknown": 0}
    assert {m["result"] for m in data["models"]} == {"not_attempted"}
