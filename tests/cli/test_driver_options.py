"""Options of another driver are usage errors naming the option and the driver."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from modelsched.cli import driver_options
from modelsched.cli.driver_options import NOMAD, STATE, TIMEOUT, WAIT, driver_specific
from modelsched.cli.options import DRIVERS
from modelsched.workflow import DRIVERS as WORKFLOW_DRIVERS
from tests.cli.fakes import write_files
from tests.clirun import Run


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_files(tmp_path)


NOMAD_ONLY = [
    ("--nomad-addr", "http://n:4646"), ("--nomad-namespace", "ml"), ("--nomad-region", "eu"),
    ("--nomad-cacert", "/ca.pem"), ("--nomad-capath", "/ca"), ("--nomad-client-cert", "/c.pem"),
    ("--nomad-client-key", "/k.pem"), ("--nomad-tls-server-name", "nomad"), ("--nomad-skip-verify", None),
    ("--nomad-timeout", "3"), ("--job-template", "job.j2"), ("--adopt", None),
]


def flag_args(flag: str, value: str | None) -> list[str]:
    return [flag] if value is None else [flag, value]


@pytest.mark.parametrize(("flag", "value"), [*NOMAD_ONLY, ("--server-dry-run", None)], ids=lambda v: str(v))
def test_a_nomad_option_on_a_local_plan_exits_1_naming_the_option_and_the_driver(
    run: Run, files: tuple[Path, Path], flag: str, value: str | None
) -> None:
    r = run("plan", "--config", "sched.yaml", *flag_args(flag, value))
    assert r.code == 1
    assert f"Error: {flag} applies to the nomad driver only, but the driver is local (from the default)" in r.err
    assert r.out == ""


@pytest.mark.parametrize(
    ("flag", "value"),
    [*NOMAD_ONLY, ("--wait", None), ("--no-wait", None), ("--timeout", "5")],
    ids=lambda v: str(v),
)
def test_a_nomad_option_on_a_local_apply_changes_nothing(
    run: Run, files: tuple[Path, Path], flag: str, value: str | None
) -> None:
    before = files[0].read_bytes()
    r = run("apply", "--config", "sched.yaml", "--auto-approve", *flag_args(flag, value))
    assert r.code == 1
    both = flag in ("--wait", "--no-wait", "--timeout")
    owners = "the nomad driver and the localai driver" if both else "the nomad driver"
    assert f"{flag} applies to {owners} only, but the driver is local" in r.err
    assert files[0].read_bytes() == before


def test_the_message_says_where_the_driver_came_from(run: Run, files: tuple[Path, Path]) -> None:
    r = run("plan", "--config", "sched.yaml", "--adopt", env={"MODELSCHED_DRIVER": "local"})
    assert "but the driver is local (from MODELSCHED_DRIVER)" in r.err
    r = run("plan", "--config", "sched.yaml", "--driver", "local", "--adopt")
    assert "but the driver is local (from --driver)" in r.err


def test_a_nomad_option_on_a_saved_local_plan_names_the_plan_file(run: Run, files: tuple[Path, Path]) -> None:
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    r = run("apply", "p.json", "--nomad-addr", "http://n:4646")
    assert r.code == 1
    assert "--nomad-addr applies to the nomad driver only, but the driver is local (from the plan file)" in r.err


@pytest.mark.parametrize(
    "args", [("--state", "cluster.yaml"), ("--lock-timeout", "5s")], ids=["--state", "--lock-timeout"]
)
def test_local_options_with_the_nomad_driver_are_refused_before_any_request(
    run: Run, files: tuple[Path, Path], args: tuple[str, ...]
) -> None:
    command = "apply" if args[0] == "--lock-timeout" else "plan"
    r = run(command, "--config", "sched.yaml", "--driver", "nomad", *args, env={"NOMAD_ADDR": "http://127.0.0.1:9"})
    assert r.code == 1
    assert f"{args[0]} applies to the local driver only, but the driver is nomad (from --driver)" in r.err


def test_an_option_left_at_its_default_is_not_counted_as_given(run: Run, files: tuple[Path, Path]) -> None:
    assert run("apply", "--config", "sched.yaml", "--auto-approve").code == 0
    run("plan", "--config", "sched.yaml", "--out", "p.json")
    saved = json.loads(Path("p.json").read_text())
    assert saved["changes"] == []


def test_the_declarations_report_exactly_the_explicit_options() -> None:
    seen: dict[str, object] = {}

    @click.command()
    @driver_specific(STATE, WAIT, TIMEOUT, *NOMAD)
    def cmd(**kwargs: object) -> None:
        seen.update(kwargs)

    result = CliRunner().invoke(cmd, ["--no-wait", "--nomad-addr", "http://x:1", "--adopt"])
    assert result.exit_code == 0, result.output
    assert seen["driver_flags"] == {
        "--no-wait": ("nomad", "localai"), "--nomad-addr": ("nomad",), "--adopt": ("nomad",)
    }
    nomad_opts = seen["nomad_opts"]
    assert isinstance(nomad_opts, dict) and set(nomad_opts) == set(driver_options.NOMAD_NAMES)
    assert nomad_opts["nomad_addr"] == "http://x:1" and nomad_opts["adopt"] is True
    assert seen["wait"] is False and seen["wait_timeout"] is None and seen["state"] is None


def test_the_cli_offers_exactly_the_workflows_drivers() -> None:
    assert DRIVERS == WORKFLOW_DRIVERS


def test_the_nomad_option_names_match_the_nomad_drivers_builder() -> None:
    from modelsched.cli.nomad_options import NAMES

    assert set(driver_options.NOMAD_NAMES) == set(NAMES)


def test_a_wrong_option_is_reported_before_the_config_is_read(run: Run, files: tuple[Path, Path]) -> None:
    files[1].write_text("- model_name: x\n  replicas: 3\n")
    r = run("plan", "--config", "sched.yaml", "--adopt")
    assert r.code == 1 and "--adopt applies to the nomad driver only" in r.err and "replicas" not in r.err


def test_the_option_help_names_each_drivers_own_default_address() -> None:
    """Declared here without importing the drivers (start-up), so kept equal by this test."""
    from modelsched.drivers.localai.connection import DEFAULT_ADDRESS as LOCALAI_DEFAULT
    from modelsched.drivers.nomad.connection import DEFAULT_ADDRESS as NOMAD_DEFAULT

    assert driver_options.NOMAD_DEFAULT_ADDRESS == NOMAD_DEFAULT
    assert driver_options.LOCALAI_DEFAULT_ADDRESS == LOCALAI_DEFAULT
