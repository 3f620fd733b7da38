"""Connection hardening: the token never leaves for another host nor lands in output,
bad NOMAD_* values are clear errors before any request, TLS files are checked, and
answers that are not Nomad's are never read as an empty cluster."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from modelsched.cli.nomad_options import NAMES
from modelsched.drivers.nomad.build import connection
from modelsched.drivers.nomad.client import Connection, NomadClient
from modelsched.errors import DriverError, ModelschedError
from tests.cannedhttp import CannedServer, canned_server
from tests.clirun import EXAMPLES, Run
from tests.nomad.flow import TOKEN

CONFIG = str(EXAMPLES / "localai-scheduling.yaml")


def opts(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(NAMES), **kw}


@pytest.fixture
def http_server() -> Iterator[CannedServer]:
    with canned_server() as server:
        yield server


# -- secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["purge", "nodes", "register"])
def test_a_redirect_is_never_followed_so_the_token_never_reaches_another_host(
    http_server: Any, method: str
) -> None:
    with canned_server((200, {"Content-Type": "application/json"}, b"{}")) as other:
        elsewhere = f"{other.address}/v1/job/x"
        http_server.reply = (307, {"Location": elsewhere}, b"")
        client = NomadClient(Connection(address=http_server.address, token=TOKEN))
        job = {"ID": "x", "TaskGroups": []}
        calls = {"purge": lambda: client.purge("x"), "nodes": client.nodes, "register": lambda: client.register(job, 0)}
        with pytest.raises(DriverError, match=r"redirect.*not followed") as err:
            calls[method]()
        assert other.tokens == []  # the token never went to the other host
        assert TOKEN not in str(err.value)


def test_credentials_in_the_address_are_refused_without_echoing_them() -> None:
    with pytest.raises(ModelschedError, match=r"user name or password") as err:
        connection(opts(), env={"NOMAD_ADDR": "https://admin:hunter2@nomad.example:4646"})
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("token", ["abc\n", " abc", "ab c", "abc\u2019", "abc\x00"],
                         ids=["trailing newline", "leading space", "inner space", "non-ASCII", "NUL"])
def test_a_token_that_cannot_be_a_header_is_a_clear_error_that_does_not_echo_it(token: str) -> None:
    with pytest.raises(ModelschedError, match=r"NOMAD_TOKEN") as err:
        connection(opts(), env={"NOMAD_TOKEN": token})
    assert token.strip() not in str(err.value)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["htp://nomad:4646", "http://", "http://nomad:port", "unix:///var/run/nomad.sock", "http://nomad:4646/ui?x#y"],
    ids=["unknown scheme", "no host", "port not a number", "unix socket", "query and fragment"],
)
def test_a_bad_address_is_named_before_any_request(address: str) -> None:
    with pytest.raises(ModelschedError, match=r"NOMAD_ADDR") as err:
        connection(opts(nomad_addr=address), env={})
    assert "unreachable" not in str(err.value)


def test_a_bad_address_through_the_cli_is_one_line_exit_1(run: Run) -> None:
    got = run("plan", "--config", CONFIG, "--driver", "nomad", env={"NOMAD_ADDR": "htp://nomad:4646"})
    assert got.code == 1 and "NOMAD_ADDR" in got.err and "Traceback" not in got.err


@pytest.mark.parametrize("namespace", ["*", "ml team", "ml/x", "a" * 129])
def test_a_namespace_nomad_would_not_accept_is_refused(namespace: str) -> None:
    with pytest.raises(ModelschedError, match=r"namespace"):
        connection(opts(nomad_namespace=namespace), env={})


@pytest.mark.parametrize("region", ["*", "eu west", "eu/x"])
def test_a_region_that_is_not_a_name_is_refused(region: str) -> None:
    with pytest.raises(ModelschedError, match=r"region"):
        connection(opts(), env={"NOMAD_REGION": region})


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
def test_a_timeout_that_is_not_a_finite_number_is_refused(timeout: float) -> None:
    with pytest.raises(ModelschedError, match=r"--nomad-timeout"):
        connection(opts(nomad_timeout=timeout), env={})


def test_an_answer_that_is_not_json_is_not_called_unreachable(http_server: Any) -> None:
    http_server.reply = (200, {"Content-Type": "text/html"}, b"<html>grafana</html>")
    with pytest.raises(DriverError, match=r"not JSON") as err:
        NomadClient(Connection(address=http_server.address)).nodes()
    assert "unreachable" not in str(err.value)


@pytest.mark.parametrize("body", [b"{}", b'"ok"', b"null"])
def test_a_list_endpoint_that_answers_something_else_is_an_error_not_an_empty_cluster(
    http_server: Any, body: bytes
) -> None:
    http_server.reply = (200, {"Content-Type": "application/json"}, body)
    with pytest.raises(DriverError, match=r"not a Nomad"):
        NomadClient(Connection(address=http_server.address)).nodes()


# -- TLS -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "flag"),
    [("NOMAD_CACERT", "--nomad-cacert"), ("NOMAD_CLIENT_CERT", "--nomad-client-cert"),
     ("NOMAD_CAPATH", "--nomad-capath")],
)
def test_a_missing_tls_file_is_named(tmp_path: Path, var: str, flag: str) -> None:
    env = {"NOMAD_ADDR": "https://nomad.example:4646", var: str(tmp_path / "nope.pem")}
    if var == "NOMAD_CLIENT_CERT":
        (tmp_path / "k.pem").write_text("key")
        env["NOMAD_CLIENT_KEY"] = str(tmp_path / "k.pem")
    with pytest.raises(ModelschedError, match=rf"{var}.*nope\.pem") as err:
        NomadClient(connection(opts(), env=env))
    assert flag in str(err.value)


def test_a_client_key_without_a_certificate_is_an_error_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("key")
    env = {"NOMAD_ADDR": "https://nomad.example:4646", "NOMAD_CLIENT_KEY": str(tmp_path / "k.pem")}
    with pytest.raises(ModelschedError, match=r"NOMAD_CLIENT_KEY.*NOMAD_CLIENT_CERT"):
        NomadClient(connection(opts(), env=env))


def test_capath_is_used_to_verify(tmp_path: Path) -> None:
    env = {"NOMAD_ADDR": "https://nomad.example:4646", "NOMAD_CAPATH": str(tmp_path)}
    assert NomadClient(connection(opts(), env=env))._jobs.verify == str(tmp_path)


@pytest.mark.parametrize("value", ["", "0", "false", "nope"])
def test_verification_stays_on_unless_skip_verify_is_explicitly_true(value: str) -> None:
    c = connection(opts(), env={"NOMAD_SKIP_VERIFY": value, "NOMAD_ADDR": "https://nomad.example:4646"})
    assert not c.skip_verify and NomadClient(c)._jobs.verify is True


def test_a_tls_failure_is_a_clear_error(http_server: Any) -> None:
    # An https request to a plain-HTTP server fails the handshake: a TLS error, not a crash.
    address = http_server.address.replace("http://", "https://")
    with pytest.raises(DriverError, match=r"NOMAD_CACERT|TLS|SSL"):
        NomadClient(Connection(address=address, timeout=2.0)).nodes()


def test_requests_exceptions_are_never_chained_into_the_error(http_server: Any) -> None:
    # `raise ... from None`: a --debug traceback does not print the requests exception (URL, headers).
    http_server.reply = (200, {"Content-Type": "text/html"}, b"<html>")
    with pytest.raises(DriverError) as err:
        NomadClient(Connection(address=http_server.address, token=TOKEN)).nodes()
    assert err.value.__suppress_context__ and not isinstance(err.value.__cause__, requests.RequestException)


# -- a saved plan is untrusted: its address never decides where the token goes -----------


def _plan_then_point_elsewhere(run: Run, sim: Any, elsewhere: str, tmp_path: Path) -> Path:
    """Plan against `sim` with a token, then edit the plan file's cluster.address (the
    plan travels as a CI artifact: anyone who can write it can do this)."""
    import json

    sim.add_node("gpu-1", meta={"tier": "gpu"})
    out = tmp_path / "plan.json"
    got = run("plan", "--config", CONFIG, "--driver", "nomad", "--out", str(out),
              env={"NOMAD_ADDR": sim.address, "NOMAD_TOKEN": TOKEN})
    assert got.code == 0, got.err
    doc = json.loads(out.read_text())
    doc["cluster"]["address"] = elsewhere
    out.write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize(
    ("env_addr", "said"),
    [
        (None, r"neither NOMAD_ADDR nor --nomad-addr is set.*Set NOMAD_ADDR \(or --nomad-addr\) to http://127"),
        ("sim", r"NOMAD_ADDR http://127\.0\.0\.1:\d+ contradicts the plan file, which was made for address "
                r"http://127\.0\.0\.1:\d+"),
    ],
    ids=["with only NOMAD_TOKEN set, the plan's address is refused",
         "a NOMAD_ADDR that differs from the plan's address is a usage error naming both"],
)
def test_applying_a_plan_whose_address_was_edited_never_sends_the_token_there(
    run: Run, nomad_sim: Any, http_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    env_addr: str | None, said: str,
) -> None:
    out = _plan_then_point_elsewhere(run, nomad_sim, http_server.address, tmp_path)
    monkeypatch.delenv("NOMAD_ADDR", raising=False)
    env = {"NOMAD_TOKEN": TOKEN} if env_addr is None else {"NOMAD_TOKEN": TOKEN, "NOMAD_ADDR": nomad_sim.address}
    got = run("apply", str(out), "--auto-approve", env=env)
    assert got.code == 1, got.out + got.err
    assert http_server.tokens == []  # not one request reached the address the plan named
    assert re.search(said, got.err), got.err
    assert TOKEN not in got.out + got.err and "Traceback" not in got.err


def test_without_a_token_the_plans_address_is_used_as_recorded(
    run: Run, nomad_sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nomad_sim.add_node("gpu-1", meta={"tier": "gpu"})
    out = tmp_path / "plan.json"
    assert run("plan", "--config", CONFIG, "--driver", "nomad", "--out", str(out),
               env={"NOMAD_ADDR": nomad_sim.address}).code == 0
    monkeypatch.delenv("NOMAD_ADDR", raising=False)
    monkeypatch.delenv("NOMAD_TOKEN", raising=False)
    got = run("apply", str(out), "--auto-approve", "--no-wait")
    assert got.code == 0, got.out + got.err
    assert nomad_sim.job("modelsched-gpt-oss") is not None
