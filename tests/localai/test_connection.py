"""Talking to LocalAI safely: auth answers, distributed mode off, bad settings, redirects,
slow and oversized answers. The admin key never appears in any output."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from modelsched.drivers import transport
from modelsched.drivers.localai import client as client_mod
from modelsched.drivers.localai.client import LocalAIClient
from modelsched.drivers.localai.connection import Connection
from modelsched.errors import DriverError
from tests.clirun import Result, Run
from tests.localai.conftest import ADMIN_KEY, USER_KEY, env_for, writes
from tests.localai.listeners import Trickler
from tests.localaisim.server import LocalAISim

Config = Callable[[list[dict[str, Any]]], str]
SPREAD = [{"model_name": "llama", "replicas": "all"}]
WRONG_KEY = "not-a-key-4f1c9d2e"


def plan(run: Run, sim: LocalAISim, cfg: str, env: dict[str, str], *extra: str) -> Result:
    return run("plan", "--driver", "localai", "--config", cfg, *extra, env=env)


@pytest.mark.parametrize(
    ("key", "status", "hint"),
    [
        (WRONG_KEY, "HTTP 401", "it does not accept the key in LOCALAI_API_KEY"),
        (None, "HTTP 401", "LOCALAI_API_KEY is not set"),
        (USER_KEY, "HTTP 403", "the key in LOCALAI_API_KEY is not an admin key"),
    ],
    ids=["an unknown key is refused", "no key is refused", "a user's key is not an admin key"],
)
def test_auth_failures_name_localai_and_the_key_variable_never_the_key(
    run: Run, sim: LocalAISim, config: Config, key: str | None, status: str, hint: str
) -> None:
    got = plan(run, sim, config(SPREAD), env_for(sim, key))
    assert got.code == 1
    assert f"LocalAI at {sim.address}" in got.err and status in got.err and hint in got.err
    assert "Traceback" not in got.err
    if key is not None:
        assert key not in got.out + got.err


@pytest.mark.parametrize(
    ("distributed", "registry"),
    [(False, True), (True, False)],
    ids=["a frontend without distributed mode", "a distributed frontend without its node registry"],
)
def test_a_frontend_without_the_node_api_says_distributed_mode_is_off(
    run: Run, config: Config, distributed: bool, registry: bool
) -> None:
    with LocalAISim(admin_keys={ADMIN_KEY}, distributed=distributed, registry=registry) as off:
        got = plan(run, off, config(SPREAD), env_for(off))
    assert got.code == 1
    assert "distributed mode is off" in got.err and "HTTP 404" in got.err


def test_503_distributed_mode_not_enabled_says_distributed_mode_is_off(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.fail(status=503, body='{"error":"distributed mode not enabled"}')
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "distributed mode is off" in got.err and "HTTP 503" in got.err


def test_another_503_is_reported_as_a_failure_not_as_distributed_mode_off(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.fail(status=503)
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "failed listing nodes (HTTP 503): simulated failure" in got.err
    assert "distributed mode" not in got.err


def test_server_text_echoing_the_key_is_scrubbed(run: Run, sim: LocalAISim, config: Config) -> None:
    sim.fail(status=500, body=json.dumps({"error": {"message": f"bad token {ADMIN_KEY}"}}))
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "bad token <redacted>" in got.err
    assert ADMIN_KEY not in got.out + got.err


def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.fail(status=307, body="")
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "redirect" in got.err and "was not followed" in got.err
    assert len(sim.requests) == 1


def test_an_answer_that_is_not_json_or_not_a_list_is_an_error_not_an_empty_cluster(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    sim.fail(status=200, body="<html>proxy</html>")
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "is not JSON" in got.err
    sim.fail(status=200, body='{"nodes": []}')
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "the answer is not a list" in got.err


def test_a_malformed_item_is_named(run: Run, sim: LocalAISim, config: Config) -> None:
    sim.fail(status=200, body='[{"id": "n1", "name": "a", "status": "healthy", "labels": {"tier": 3}}]')
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "node list item 0" in got.err and "labels is not a map of strings" in got.err


def test_an_oversized_answer_is_refused(
    run: Run, sim: LocalAISim, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_mod, "MAX_ANSWER_BYTES", 100)
    sim.add_node("gpu-1", {"tier": "gpu"})
    got = plan(run, sim, config(SPREAD), env_for(sim))
    assert got.code == 1 and "larger than" in got.err


def test_a_slow_frontend_times_out_with_a_hint(run: Run, sim: LocalAISim, config: Config) -> None:
    sim.delay(2.0)
    got = plan(run, sim, config(SPREAD), env_for(sim), "--localai-timeout", "0.3")
    assert got.code == 1
    assert "unreachable during listing nodes" in got.err and "raise --localai-timeout" in got.err


def test_a_frontend_that_is_down_is_unreachable(run: Run, sim: LocalAISim, config: Config) -> None:
    env = env_for(sim)
    sim.set_down(True)
    got = plan(run, sim, config(SPREAD), env)
    assert got.code == 1 and "is unreachable" in got.err and "LOCALAI_ADDR" in got.err


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--localai-timeout", "nan"), {}, "--localai-timeout must be a finite number of seconds > 0"),
        (("--localai-timeout", "inf"), {}, "--localai-timeout must be a finite number of seconds > 0"),
        (("--localai-timeout", "-1"), {}, "--localai-timeout must be a finite number of seconds > 0"),
        (("--localai-timeout", "0"), {}, "--localai-timeout must be a finite number of seconds > 0"),
        (("--localai-addr", "ftp://h:1"), {}, "the scheme must be http:// or https://"),
        (("--localai-addr", "http://u:pw@h:1"), {}, "contains '@', i.e. a user name or password"),
        (("--localai-addr", "http://h:99999"), {}, "is not a valid URL"),
        (("--localai-addr", "http://h:1/?x=1"), {}, "must not have a query"),
        ((), {"LOCALAI_API_KEY": "abc\n"}, "LOCALAI_API_KEY contains whitespace"),
        (("--localai-addr", "https://h:1", "--localai-cacert", "/nonexistent/ca.pem"), {}, "no such file"),
    ],
    ids=[
        "a NaN timeout is refused",
        "an infinite timeout is refused",
        "a negative timeout is refused",
        "a zero timeout is refused",
        "a non-http scheme is refused",
        "credentials in the address are refused and not shown",
        "a bad port is refused",
        "a query in the address is refused",
        "a key with a newline is refused without echoing it",
        "a missing CA file is named",
    ],
)
def test_bad_settings_are_refused_before_any_request(
    run: Run, sim: LocalAISim, config: Config, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    got = plan(run, sim, config(SPREAD), {**env_for(sim), **env}, *args)
    assert got.code == 1 and message in got.err, got.err
    assert "pw" not in got.err and "abc" not in got.err
    assert sim.requests == []


def test_the_key_is_never_an_option(run: Run, sim: LocalAISim, config: Config) -> None:
    got = plan(run, sim, config(SPREAD), env_for(sim), "--localai-api-key", "x")
    assert got.code != 0 and "No such option" in got.err


def test_localai_addr_accepts_host_and_port_and_the_option_beats_the_environment(
    run: Run, sim: LocalAISim, config: Config
) -> None:
    hostport = sim.address.removeprefix("http://")
    got = run("plan", "--driver", "localai", "--config", config(SPREAD), "--format", "json",
              "--localai-addr", hostport, env={"LOCALAI_ADDR": "http://127.0.0.1:1", "LOCALAI_API_KEY": ADMIN_KEY})
    assert got.code == 0, got.err
    assert json.loads(got.out)["cluster"] == {"address": sim.address}


def test_an_address_contradicting_the_plan_file_is_refused(
    run: Run, sim: LocalAISim, config: Config, tmp_path: Any
) -> None:
    out = str(tmp_path / "p.json")
    assert plan(run, sim, config(SPREAD), env_for(sim), "--out", out).code == 0
    got = run("apply", out, "--localai-addr", "http://127.0.0.1:9", env={"LOCALAI_API_KEY": ADMIN_KEY})
    assert got.code == 1 and "contradicts the plan file" in got.err
    assert writes(sim) == []


@pytest.mark.parametrize(
    "address",
    [
        "http://admin:s3cr/et@host:8080",
        "http://admin:s3cr#et@host:8080",
        "http://admin:s3cr@et@host:8080",
        "http://admin:s3cr?et@host:8080",
        "http://admin:s3cret@host:8080",
        "admin:s3cret@host:8080",
    ],
    ids=[
        "a password with a slash is refused and not shown",
        "a password with a hash is refused and not shown",
        "a password with an at sign is refused and not shown",
        "a password with a question mark is refused and not shown",
        "a plain password is refused and not shown",
        "credentials without a scheme are refused and not shown",
    ],
)
@pytest.mark.parametrize("source", ["option", "env"], ids=["from --localai-addr", "from LOCALAI_ADDR"])
def test_credentials_in_the_address_are_refused_and_never_echoed(
    run: Run, sim: LocalAISim, config: Config, address: str, source: str
) -> None:
    env = {"LOCALAI_API_KEY": ADMIN_KEY}
    args: tuple[str, ...] = ()
    if source == "env":
        env["LOCALAI_ADDR"] = address
    else:
        args = ("--localai-addr", address)
    got = plan(run, sim, config(SPREAD), env, *args)
    assert got.code == 1 and "contains '@'" in got.err and "LOCALAI_ADDR / --localai-addr" in got.err, got.err
    for secret in ("admin", "s3cr", "et@", "cret"):
        assert secret not in got.out + got.err
    assert "Traceback" not in got.err
    assert sim.requests == []


def test_a_trickling_answer_ends_at_the_request_deadline_not_after_the_last_byte() -> None:
    """The deadline is total (connect, headers and every byte of the body), not per read."""
    with Trickler(size=40, every=0.1) as slow:  # 4 s for the whole answer
        client = LocalAIClient(Connection(address=slow.address, timeout=0.5))
        start = time.monotonic()
        with pytest.raises(DriverError) as err:
            client.nodes()
        elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"the request ran {elapsed:.1f}s with a 0.5s deadline"
    assert "unreachable during listing nodes" in str(err.value) and "within 0.5s" in str(err.value)


def test_a_whole_answer_within_the_deadline_is_read() -> None:
    with Trickler(size=4, every=0.01) as slow:
        assert LocalAIClient(Connection(address=slow.address, timeout=5)).nodes() == []


def test_the_client_uses_the_shared_total_deadline_session_and_trusts_no_environment() -> None:
    client = LocalAIClient(Connection(address="http://h:1", timeout=3))
    assert isinstance(client.session, transport.Session)
    assert client.session.trust_env is False and client.session.deadline == 3
