"""`--driver localai` settings: where the address, key, TLS and timeouts come from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.localai import LocalAIDriver
from modelsched.drivers.localai import apply as apply_mod
from modelsched.drivers.localai.apply import DEFAULT_WAIT, Timing
from modelsched.drivers.localai.build import build_localai_driver, connection
from modelsched.drivers.localai.client import LocalAIClient
from modelsched.errors import UsageError
from tests.clirun import Run
from tests.localai.conftest import ADMIN_KEY, Ticker, env_for
from tests.localai.listeners import HeaderRecorder
from tests.localaisim.server import LocalAISim

Config = Callable[[list[dict[str, Any]]], str]


def test_the_default_wait_covers_two_reconciler_ticks() -> None:
    drv = build_localai_driver({}, env={})
    assert isinstance(drv, LocalAIDriver)
    assert drv.timing.timeout == DEFAULT_WAIT == Timing().timeout == 90.0
    assert drv.cluster() == {"address": "http://127.0.0.1:8080"}


def test_apply_uses_the_localai_wait_unless_timeout_is_given(
    run: Run, sim: LocalAISim, config: Config, reconciler: Ticker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply_mod, "DEFAULT_WAIT", 0.2)
    sim.add_node("gpu-1", {"tier": "gpu"})
    cfg = config([{"model_name": "fresh", "min_replicas": 1}])
    got = run("apply", "--driver", "localai", "--config", cfg, "--auto-approve", env=env_for(sim))
    assert "(timeout 0.2s)" in got.err


@pytest.mark.parametrize(
    ("env", "opts", "verify"),
    [
        ({}, {}, True),
        ({"LOCALAI_CACERT": "/ca.pem"}, {}, "/ca.pem"),
        ({"LOCALAI_CACERT": "/ca.pem"}, {"localai_cacert": "/other.pem"}, "/other.pem"),
        ({"LOCALAI_SKIP_VERIFY": "true"}, {}, False),
        ({"LOCALAI_SKIP_VERIFY": "0"}, {}, True),
    ],
    ids=[
        "TLS is verified by default",
        "LOCALAI_CACERT names the CA",
        "--localai-cacert beats LOCALAI_CACERT",
        "LOCALAI_SKIP_VERIFY=true turns verification off",
        "LOCALAI_SKIP_VERIFY=0 keeps it on",
    ],
)
def test_tls_settings(env: dict[str, str], opts: dict[str, Any], verify: bool | str) -> None:
    conn = connection(opts, env={"LOCALAI_ADDR": "http://h:1", **env})
    assert LocalAIClient(conn).verify == verify


def test_the_key_comes_from_the_environment_and_stays_out_of_reprs() -> None:
    conn = connection({}, env={"LOCALAI_ADDR": "h:1", "LOCALAI_API_KEY": ADMIN_KEY})
    assert conn.api_key == ADMIN_KEY and conn.address == "http://h:1"
    assert ADMIN_KEY not in repr(conn)


def _plan_for(run: Run, sim: LocalAISim, config: Config, tmp_path: Path, address: str | None = None) -> str:
    """A saved plan made against `sim`; with `address`, edited to name that address instead."""
    sim.add_node("gpu-1", {"tier": "gpu"})
    out = tmp_path / "plan.json"
    cfg = config([{"model_name": "llama", "replicas": "all"}])
    assert run("plan", "--driver", "localai", "--config", cfg, "--out", str(out), env=env_for(sim)).code == 0
    if address is not None:
        saved = json.loads(out.read_text())
        saved["cluster"]["address"] = address
        saved["driver_data"]["address"] = address
        out.write_text(json.dumps(saved))
    return str(out)


def test_the_key_is_not_sent_to_an_address_that_only_the_plan_file_names(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    with HeaderRecorder() as listener:
        out = _plan_for(run, sim, config, tmp_path, listener.address)
        got = run("apply", out, "--auto-approve", env={"LOCALAI_API_KEY": ADMIN_KEY})
    assert got.code == 1
    assert listener.seen == []
    assert f"set LOCALAI_ADDR or --localai-addr to {listener.address}" in got.err, got.err
    assert ADMIN_KEY not in got.out + got.err and "Traceback" not in got.err


@pytest.mark.parametrize("how", ["env", "option"], ids=["confirmed by LOCALAI_ADDR", "confirmed by --localai-addr"])
def test_the_key_goes_to_the_plan_files_address_once_the_user_names_it(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path, how: str
) -> None:
    out = _plan_for(run, sim, config, tmp_path)
    env = {"LOCALAI_API_KEY": ADMIN_KEY}
    args: tuple[str, ...] = ("--no-wait",)
    if how == "env":
        env["LOCALAI_ADDR"] = sim.address
    else:
        args += ("--localai-addr", sim.address.removeprefix("http://"))
    got = run("apply", out, *args, env=env)
    assert got.code == 0, got.err
    assert [r["model_name"] for r in sim.rows()] == ["llama"]


@pytest.mark.parametrize("how", ["env", "option"], ids=["LOCALAI_ADDR", "--localai-addr"])
def test_an_address_other_than_the_plan_files_is_a_usage_error_naming_both(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path, how: str
) -> None:
    with HeaderRecorder() as listener:
        out = _plan_for(run, sim, config, tmp_path)
        sim.reset_requests()
        env = {"LOCALAI_API_KEY": ADMIN_KEY}
        args: tuple[str, ...] = ()
        if how == "env":
            env["LOCALAI_ADDR"] = listener.address
        else:
            args = ("--localai-addr", listener.address)
        got = run("apply", out, *args, env=env)
    assert got.code == 1
    flag = "LOCALAI_ADDR" if how == "env" else "--localai-addr"
    assert f"{flag} {listener.address} contradicts the plan file, which was made for {sim.address}" in got.err
    assert listener.seen == [] and sim.requests == []
    assert ADMIN_KEY not in got.out + got.err


def test_without_a_key_the_plan_files_address_is_used_as_is() -> None:
    conn = connection({}, env={}, plan_cluster={"address": "http://h:1"})
    assert conn.address == "http://h:1" and conn.api_key is None


def test_credentials_in_the_plan_files_address_are_refused_and_not_shown() -> None:
    with pytest.raises(UsageError) as err:
        connection({}, env={"LOCALAI_ADDR": "http://h:1"}, plan_cluster={"address": "http://u:s3cr/et@h:1"})
    assert "the plan file's cluster address" in str(err.value) and "s3cr" not in str(err.value)


def test_localai_options_with_another_driver_are_a_usage_error(run: Run, config: Config) -> None:
    got = run("plan", "--driver", "local", "--config", config([]), "--localai-addr", "http://h:1")
    assert got.code == 1
    assert "--localai-addr applies to the localai driver only, but the driver is local (from --driver)" in got.err
