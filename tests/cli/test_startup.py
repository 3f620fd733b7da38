"""Start-up: a command imports only what it uses (the Nomad stack only for Nomad and render)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelsched import __version__
from tests.clirun import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
NOMAD_STACK = ["deepdiff", "jinja2", "nomad", "requests", "urllib3"]
RUN_CLI = "import sys; from modelsched.cli.main import main; main(sys.argv[1:])"


def loaded_after(*args: str) -> tuple[int, list[str], str]:
    """Run the CLI in a fresh process; report the Nomad-stack packages it had imported at exit."""
    probe = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(NOMAD_STACK)!r}),"
        " file=sys.stderr))\n" + RUN_CLI
    )
    out = subprocess.run([sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return out.returncode, ast.literal_eval(out.stderr.strip().splitlines()[-1]), out.stdout


LOCAL_PLAN = ("plan", "--config", str(EXAMPLES / "scheduling.yaml"), "--state", str(EXAMPLES / "cluster.yaml"))


@pytest.mark.parametrize(
    "args",
    [("--version",), ("--debug", "--version"), LOCAL_PLAN, ("validate", "--config", str(EXAMPLES / "scheduling.yaml"))],
    ids=["--version", "--version through click", "a local plan", "validate"],
)
def test_commands_that_do_not_talk_to_nomad_never_import_its_stack(args: tuple[str, ...]) -> None:
    code, loaded, _ = loaded_after(*args)
    assert code == 0
    assert loaded == []


def test_the_nomad_driver_does_load_the_stack_so_the_probe_can_see_it() -> None:
    code, loaded, _ = loaded_after("render", "--config", str(EXAMPLES / "scheduling.yaml"))
    assert code == 0
    assert "jinja2" in loaded
    # Nothing listens on port 1: the run fails after the driver (and python-nomad) loaded.
    code, loaded, _ = loaded_after(
        "plan", "--driver", "nomad", "--nomad-addr", "http://127.0.0.1:1", "--config", str(EXAMPLES / "scheduling.yaml")
    )
    assert code == 1
    assert {"nomad", "requests"} <= set(loaded)


def test_the_fast_version_answer_is_clicks_own_wording() -> None:
    fast = subprocess.run([sys.executable, "-c", RUN_CLI, "--version"], cwd=ROOT, capture_output=True, text=True)
    slow = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "--debug", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    assert fast.stdout == slow.stdout == f"modelsched, version {__version__}\n"


def test_help_lists_every_command_with_its_summary() -> None:
    out = subprocess.run([sys.executable, "-c", RUN_CLI, "--help"], cwd=ROOT, capture_output=True, text=True)
    for name in ("apply", "plan", "render", "show", "validate"):
        assert f"  {name} " in out.stdout
    assert "Show the per-node replica changes" in out.stdout


def test_shell_completion_is_generated_and_completes_lazy_commands() -> None:
    env = {**os.environ, "_MODELSCHED_COMPLETE": "bash_source"}
    source = subprocess.run([sys.executable, "-c", RUN_CLI], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "_modelsched_completion" in source.stdout and "complete " in source.stdout
    env.update({"_MODELSCHED_COMPLETE": "bash_complete", "COMP_WORDS": "modelsched pl", "COMP_CWORD": "1"})
    words = subprocess.run([sys.executable, "-c", RUN_CLI], cwd=ROOT, env=env, capture_output=True, text=True)
    assert words.stdout.splitlines() == ["plain,plan"]
    env.update({"COMP_WORDS": "modelsched plan --tar", "COMP_CWORD": "2"})
    options = subprocess.run([sys.executable, "-c", RUN_CLI], cwd=ROOT, env=env, capture_output=True, text=True)
    assert options.stdout.splitlines() == ["plain,--target"]
