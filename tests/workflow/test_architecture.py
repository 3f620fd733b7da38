"""ARCHITECTURE.md stays true: its skeleton driver runs through the workflow, and the
contract table lists exactly the members of `drivers.base.Driver`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modelsched import workflow
from modelsched.drivers.base import Driver, LineReporter

DOC = (Path(__file__).resolve().parents[2] / "ARCHITECTURE.md").read_text()


def skeleton() -> Any:
    code = re.search(r"```python\n(.*?)```", DOC, flags=re.S)
    assert code is not None
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), "ARCHITECTURE.md", "exec"), scope)
    return scope["ExampleDriver"]("http://example:1")


def test_the_skeleton_driver_plans_and_applies_through_the_workflow() -> None:
    driver = skeleton()
    desired = workflow.Desired(entries=(workflow.Entry(model_name="asr", node_selector={"tier": "gpu"},
                                                        min_replicas=1),))
    plan = workflow.plan_with(driver, desired, prune=False)
    assert [(c.model, c.node, c.action) for c in plan.changes] == [("asr", "gpu-1", "add")]
    lines: list[str] = []
    report = driver.apply(plan, LineReporter(lines.append))
    assert report.ok and lines == ["example: add asr on gpu-1"]


def test_the_contract_table_lists_every_member_of_the_driver_protocol() -> None:
    members = {name for name in vars(Driver) if not name.startswith("_")} | set(Driver.__annotations__)
    table = set(re.findall(r"^\| `(\w+)[(:]", DOC, flags=re.M))
    assert table == members
