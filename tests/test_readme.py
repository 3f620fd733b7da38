"""The README's quick start stays true: CI runs its test command, its files exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)[:2]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test_command = quick_start()
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'TEST_COMMAND="{test_command}"' in ci


def test_the_main_job_uses_bundled_files() -> None:
    main_job, _ = quick_start()
    for path in re.findall(r"examples/[\w./-]+", main_job):
        assert (ROOT / path).is_file(), path


def test_the_example_pipeline_is_valid_yaml_and_uses_real_commands() -> None:
    import yaml

    text = (ROOT / "examples" / "ci" / "github-actions.yml").read_text()
    workflow = yaml.safe_load(text)
    assert set(workflow["jobs"]) == {"plan", "apply"}
    assert "--detailed-exitcode" in text and "--format markdown" in text and "--out plan.json" in text
    assert "modelsched apply plan.json" in text
