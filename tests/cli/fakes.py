"""A scripted driver for CLI tests of apply outcomes the local driver cannot produce
(failures, a timeout with the wait's status, Ctrl-C): it observes and prepares like
the local driver and answers `apply` from a script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modelsched import workflow
from modelsched.drivers.base import ApplyReport, ModelProgress, Reporter, WaitStatus
from modelsched.drivers.local import LocalDriver
from modelsched.model.cluster import Observed
from modelsched.model.entry import Desired
from modelsched.model.plan import Plan
from modelsched.workflow import flows

Script = Callable[[Plan, Reporter], ApplyReport]


class ScriptedDriver:
    name = "local"

    def __init__(self, state: Path, script: Script) -> None:
        self._local = LocalDriver(state)
        self._script = script

    def cluster(self) -> dict[str, str]:
        return self._local.cluster()

    def observe(self, desired: Desired) -> Observed:
        return self._local.observe(desired)

    def prepare(self, plan: Plan, desired: Desired, observed: Observed) -> Plan:
        return plan

    def apply(self, plan: Plan, progress: Reporter) -> ApplyReport:
        return self._script(plan, progress)


def use_script(monkeypatch: pytest.MonkeyPatch, script: Script) -> None:
    def build(
        name: str, req: workflow.Request, plan_cluster: dict[str, str] | None = None, desired: object = None
    ) -> ScriptedDriver:
        return ScriptedDriver(workflow.state_path(req.state, req.env), script)

    monkeypatch.setattr(flows, "build_driver", build)


def status(elapsed: float, *models: tuple[str, int, int, int, int, str]) -> WaitStatus:
    return WaitStatus(elapsed, tuple(ModelProgress(*m) for m in models))


# A small cluster and config whose plan adds asr on cpu-1, removes llm from cpu-2 (down)
# and adds llm on gpu-2.
CLUSTER = """\
nodes:
  - {name: gpu-1, labels: {tier: gpu}}
  - {name: gpu-2, labels: {tier: gpu}}
  - {name: cpu-1, labels: {tier: cpu}}
  - {name: cpu-2, labels: {tier: cpu}, status: down}
replicas:
  - {model: llm, node: gpu-1}
  - {model: llm, node: cpu-2}
  - {model: legacy, node: cpu-1}
"""

CONFIG = """\
- model_name: llm
  node_selector: {tier: gpu}
  replicas: all
- model_name: asr
  node_selector: {tier: cpu}
  min_replicas: 1
  max_replicas: 0
"""


def write_files(root: Path) -> tuple[Path, Path]:
    (root / "cluster.yaml").write_text(CLUSTER)
    (root / "sched.yaml").write_text(CONFIG)
    return root / "cluster.yaml", root / "sched.yaml"
