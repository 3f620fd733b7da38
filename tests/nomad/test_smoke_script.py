"""examples/nomad/smoke.sh: shell syntax, and a full run against the test server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "nomad" / "smoke.sh"


def test_the_smoke_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the smoke script needs curl")
def test_the_smoke_script_passes_and_leaves_nothing_behind(nomad_sim: Any) -> None:
    nomad_sim.alloc_healthy_delay = 0.0
    for i in (1, 2):
        nomad_sim.add_node(f"dev-{i}")
    nomad_sim.register_job_direct({"ID": "someone-else", "Name": "someone-else", "Type": "service",
                                   "TaskGroups": [{"Name": "g", "Count": 0, "Tasks": [
                                       {"Name": "t", "Driver": "raw_exec", "Config": {"command": "true"}}]}]})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOMAD_", "MODELSCHED_"))}
    env.update(NOMAD_ADDR=nomad_sim.address, MODELSCHED=f"{sys.executable} -m modelsched", PYTHON=sys.executable)
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240,
                          cwd=SCRIPT.parents[2])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "every allocation of the untouched models kept its ID" in done.stdout
    assert "smoke: OK" in done.stdout
    # Cleaned up only what it created.
    jobs = json.loads(urllib.request.urlopen(f"{nomad_sim.address}/v1/jobs", timeout=5).read())
    assert [j["ID"] for j in jobs] == ["someone-else"]
