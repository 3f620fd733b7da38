"""The render flow gives exactly the jobs `modelsched render` prints, without contacting Nomad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelsched import workflow
from tests.clirun import EXAMPLES, Run


@pytest.mark.parametrize(
    "config", [EXAMPLES / "scheduling.yaml", EXAMPLES / "nomad" / "scheduling.yaml"], ids=["local example",
                                                                                           "nomad example"]
)
def test_render_jobs_matches_the_render_command(run: Run, config: Path) -> None:
    printed = run("render", "--config", str(config), env={"NOMAD_ADDR": "http://127.0.0.1:1"})
    assert printed.code == 0, printed.err
    jobs = workflow.render_jobs(workflow.Request(env={}, config=str(config)))
    expected = "".join(json.dumps({"Job": job}, indent=2, sort_keys=True) + "\n" for _, job in jobs)
    assert printed.out == expected
    assert [job_id for job_id, _ in jobs] == sorted(job_id for job_id, _ in jobs)
