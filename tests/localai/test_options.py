"""`--driver localai` settings: where the address, key, TLS and timeouts come from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelsched.drivers.localai import LocalAIDriver
from modelsched.drivers.localai import apply as apply_mod
from modelsched.drivers.localai.apply import DEFAULT_WAIT, Timing
from modelsched.drivers.localai.build import build_localai_driver, connection
from modelsched.drivers.localai.client import LocalAIClient
from tests.clirun import Run
from tests.localai.conftest import ADMIN_KEY, Ticker, env_for
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


def test_a_saved_plan_uses_its_own_address_over_localai_addr(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Path
) -> None:
    sim.add_node("gpu-1", {"tier": "gpu"})
    out = str(tmp_path / "plan.json")
    cfg = config([{"model_name": "llama", "replicas": "all"}])
    assert run("plan", "--driver", "localai", "--config", cfg, "--out", out, env=env_for(sim)).code == 0
    got = run("apply", out, "--no-wait", env={"LOCALAI_ADDR": "http://127.0.0.1:9", "LOCALAI_API_KEY": ADMIN_KEY})
    assert got.code == 0, got.err
    assert [r["model_name"] for r in sim.rows()] == ["llama"]


def test_localai_options_with_another_driver_are_a_usage_error(run: Run, config: Config) -> None:
    got = run("plan", "--driver", "local", "--config", config([]), "--localai-addr", "http://h:1")
    assert got.code == 1
    assert "--localai-addr applies to the localai driver only, but the driver is local (from --driver)" in got.err
