"""Helpers for the plan-tampering tests: real plans made by the real CLI, and what
requests a Nomad apply may make.

Plans are made at test time by running `modelsched plan --out` (never checked-in
files: the drivers change, and a tampering test must start from what they write
today).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.clirun import EXAMPLES, Result, Run

CLUSTER = """\
nodes:
  - {name: gpu-1, labels: {tier: gpu}}
  - {name: gpu-2, labels: {tier: gpu}}
  - {name: cpu-1, labels: {tier: cpu}}
replicas:
  - {model: llm, node: gpu-1}
  - {model: legacy, node: cpu-1}
"""

CONFIG = """\
- model_name: llm
  node_selector: {tier: gpu}
  replicas: all
- model_name: asr
  node_selector: {tier: cpu}
  min_replicas: 1
"""

NOMAD_CONFIG = str(EXAMPLES / "localai-scheduling.yaml")

# The endpoints the Nomad driver uses (NOMAD.md): job, node, allocation, evaluation and
# agent endpoints, with IDs that cannot leave their path segment. Anything else in the
# test server's request log means a plan file steered a request somewhere else.
_ID = r"[A-Za-z0-9._:@-]+"
ALLOWED = [
    re.compile(p)
    for p in (
        r"/v1/jobs",
        rf"/v1/job/{_ID}",
        rf"/v1/job/{_ID}/(allocations|evaluate|plan|evaluations|versions)",
        r"/v1/nodes",
        rf"/v1/node/{_ID}",
        r"/v1/allocations",
        rf"/v1/allocation/{_ID}",
        rf"/v1/evaluation/{_ID}",
        r"/v1/evaluations",
        r"/v1/agent/self",
        r"/v1/status/leader",
        r"/v1/validate/job",
    )
]


def outside(requests: list[tuple[str, str, Any]]) -> list[str]:
    """Requests whose path is not one of the driver's endpoints (or is a dot segment)."""
    bad = []
    for method, path, _ in requests:
        segments = path.split("/")
        if ".." in segments or "." in segments or not any(p.fullmatch(path) for p in ALLOWED):
            bad.append(f"{method} {path}")
    return bad


def writes(requests: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{m} {p}" for m, p, _ in requests if m in ("POST", "PUT", "DELETE")]


def local_plan(run: Run, tmp_path: Path) -> dict[str, Any]:
    """A real local plan (adds and a pruned removal), saved as plan.json in the run's cwd."""
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    (tmp_path / "sched.yaml").write_text(CONFIG)
    (tmp_path / "plan.json").unlink(missing_ok=True)  # a mutated one from the last example
    made = run("plan", "--config", "sched.yaml", "--prune", "--out", "plan.json")
    assert made.code == 0, made.err
    data: dict[str, Any] = json.loads((tmp_path / "plan.json").read_text())
    return data


def mixed_cluster(sim: Any) -> None:
    for i in (1, 2):
        sim.add_node(f"gpu-{i}", meta={"tier": "gpu"})
    for i in (1, 2):
        sim.add_node(f"cpu-{i}", meta={"tier": "cpu"})


def nomad_env(sim: Any) -> dict[str, str]:
    return {"NOMAD_ADDR": sim.address, "MODELSCHED_DRIVER": "nomad"}


def nomad_plan(run: Run, sim: Any, tmp_path: Path) -> dict[str, Any]:
    """A real Nomad plan (registers with rendered jobs in driver_data), saved as plan.json."""
    (tmp_path / "plan.json").unlink(missing_ok=True)  # a mutated one from the last example
    made = run("plan", "--config", NOMAD_CONFIG, "--out", "plan.json", env=nomad_env(sim))
    assert made.code == 0, made.err
    data: dict[str, Any] = json.loads((tmp_path / "plan.json").read_text())
    return data


def save(tmp_path: Path, data: Any) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8", errors="surrogatepass")


def no_internal_error(r: Result) -> None:
    """The CLI's promise for any input: exit 0 or 1 (never 2 here), no traceback, no internal error."""
    assert r.code in (0, 1), (r.code, r.out, r.err)
    assert "Traceback" not in r.err and "Error: internal error" not in r.err, r.err


def refused_once(r: Result) -> str:
    """Exit 1 with exactly one error message and no traceback; returns that message."""
    no_internal_error(r)
    assert r.code == 1, r.out
    lines = [line for line in r.err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, r.err
    return lines[0]
