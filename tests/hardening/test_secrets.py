"""Secrets and addresses: a list of attacks and the promised outcome of each.

The Nomad token (NOMAD_TOKEN) is a write credential in CI. Whatever a server answers,
whatever an address holds and however an error is shown (`--debug` tracebacks included),
the token and any password never reach output, messages or plan files; bad addresses are
clear errors (exit 1, one message, no traceback) before any request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from modelsched.cli.nomad_options import NAMES
from modelsched.drivers.nomad.build import connection
from modelsched.drivers.nomad.client import MAX_SHOWN, Connection, NomadClient
from modelsched.errors import DriverError, ModelschedError
from tests.cannedhttp import CannedServer, canned_server
from tests.clirun import EXAMPLES, Run
from tests.nomadsim.fixtures import ACL_TOKEN, nomad_sim_acl  # noqa: F401  (fixture)

TOKEN = "3f1c2a9e-7d4b-4c1a-9b8e-5a6f7e8d9c0b"
CONFIG = str(EXAMPLES / "localai-scheduling.yaml")


def opts(**kw: Any) -> dict[str, Any]:
    return {**dict.fromkeys(NAMES), **kw}


@pytest.fixture
def echo() -> Iterator[CannedServer]:
    with canned_server() as server:
        yield server


def _answer(status: int, body: str) -> Any:
    return lambda handler: (status, {"Content-Type": "text/plain"}, body.encode())


# -- what a server may send back -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, f"rpc error: token {TOKEN} is not valid"),
        (500, "x" * (MAX_SHOWN - 10) + TOKEN + " tail"),
        (500, "{\"error\": " + json.dumps(f"token {TOKEN}") + "}"),
        (500, f"GET /v1/nodes?token={quote(TOKEN, safe='')}"),
        (400, f"failed to parse filter near {TOKEN}"),
        (404, f"no such thing: {TOKEN}"),
        (403, f"Permission denied for {TOKEN}"),
    ],
    ids=[
        "a 500 that echoes the token",
        "a token straddling the point where server text is cut short",
        "a token echoed JSON-escaped",
        "a token echoed URL-encoded",
        "a 400 that echoes the token",
        "a 404 that echoes the token",
        "a 403 that echoes the token",
    ],
)
def test_server_text_never_carries_the_token_into_a_message(echo: Any, status: int, body: str) -> None:
    echo.reply = _answer(status, body)
    with pytest.raises(DriverError) as err:
        NomadClient(Connection(address=echo.address, token=TOKEN)).nodes()
    message = str(err.value)
    assert TOKEN[:8] not in message and quote(TOKEN)[:8] not in message, message


def test_a_redirect_that_names_the_token_is_neither_followed_nor_shown(echo: Any) -> None:
    echo.reply = lambda handler: (302, {"Location": f"http://evil.example/?t={TOKEN}"}, b"")
    with pytest.raises(DriverError, match=r"redirect.*not followed") as err:
        NomadClient(Connection(address=echo.address, token=TOKEN)).jobs("modelsched-")
    assert TOKEN[:8] not in str(err.value)


@pytest.mark.parametrize(
    "body",
    [[{"ID": TOKEN, "JobID": 7}], [{"ID": "a", "JobID": TOKEN, "NodeID": None}]],
    ids=["the token as an allocation ID", "the token as a job ID"],
)
def test_a_malformed_answer_that_holds_the_token_is_named_without_it(echo: Any, body: Any) -> None:
    echo.reply = lambda handler: (200, {"Content-Type": "application/json"}, json.dumps(body).encode())
    with pytest.raises(DriverError, match=r"GET /v1/allocations") as err:
        NomadClient(Connection(address=echo.address, token=TOKEN)).allocations("x")
    assert TOKEN[:8] not in str(err.value)


# -- what an address may hold --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "https://admin:hunter2@nomad.example:4646",
        "https://admin:hun/ter2@nomad.example:4646",
        "https://admin:hun#ter2@nomad.example:4646",
        "https://admin:hun@ter2@nomad.example:4646",
        "https://admin:hun?ter2@nomad.example:4646",
        "https://hunter2@nomad.example:4646",
    ],
    ids=["a plain password", "a password with /", "a password with #", "a password with @",
         "a password with ?", "a token as the user name"],
)
def test_an_address_with_credentials_is_refused_without_echoing_any_of_them(address: str) -> None:
    for source in ({"env": {"NOMAD_ADDR": address}}, {"opt": address}):
        nomad_opts = opts(nomad_addr=source.get("opt"))
        with pytest.raises(ModelschedError, match=r"user name or password") as err:
            connection(nomad_opts, env=source.get("env", {}))  # type: ignore[arg-type]
        message = str(err.value)
        assert "hunter2" not in message and "hun" not in message and "ter2" not in message, message


def test_an_address_with_credentials_contradicting_a_saved_plan_is_not_echoed() -> None:
    cluster = {"address": "http://plan:4646", "region": "", "namespace": ""}
    with pytest.raises(ModelschedError) as err:
        connection(opts(nomad_addr="http://u:hun#ter2@plan:4646"), env={}, plan_cluster=cluster)
    assert "ter2" not in str(err.value) and "hun" not in str(err.value)


def test_a_query_in_the_address_is_refused_without_echoing_it() -> None:
    with pytest.raises(ModelschedError, match=r"query or fragment") as err:
        connection(opts(), env={"NOMAD_ADDR": f"https://nomad.example:4646/?token={TOKEN}"})
    assert TOKEN[:8] not in str(err.value)


@pytest.mark.parametrize(
    "address",
    ["http://[::1", "http://[::1]:99999", "http://nomad:port", "http://no mad:4646", "http://\x1b[31mnomad"],
    ids=["an unclosed IPv6 bracket", "a port out of range", "a port that is not a number",
         "a space in the host", "a control character"],
)
def test_a_malformed_address_is_a_clear_error_not_a_crash(run: Run, address: str) -> None:
    got = run("--debug", "plan", "--config", CONFIG, "--driver", "nomad", env={"NOMAD_ADDR": address})
    assert got.code == 1
    assert "NOMAD_ADDR" in got.err and "internal error" not in got.err
    assert "\x1b" not in got.err


# -- every way an error is shown -------------------------------------------------------------


def test_debug_tracebacks_never_carry_the_token(run: Run, nomad_sim_acl: Any) -> None:  # noqa: F811
    """403, a 500 echoing the token, connection refused, a timeout: all with --debug."""
    cases = [
        ({"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": "wrong-" + ACL_TOKEN}, None),
        ({"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": ACL_TOKEN},
         lambda: nomad_sim_acl.fail(status=500, body=f"rpc error: token {ACL_TOKEN} exploded", path_prefix="/v1/")),
        ({"NOMAD_ADDR": "http://127.0.0.1:9", "NOMAD_TOKEN": ACL_TOKEN}, None),
        ({"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": ACL_TOKEN},
         lambda: nomad_sim_acl.delay(1.0, path_prefix="/v1/")),
    ]
    for env, fault in cases:
        if fault:
            fault()
        got = run("--debug", "plan", "--config", CONFIG, "--driver", "nomad", "--nomad-timeout", "0.3",
                  env={**env, "MODELSCHED_DEBUG": "1"})
        assert got.code == 1, got.out + got.err
        assert ACL_TOKEN not in got.out + got.err, got.err


def test_the_token_never_lands_in_a_saved_plan(run: Run, nomad_sim_acl: Any, tmp_path: Path) -> None:  # noqa: F811
    nomad_sim_acl.add_node("n1", meta={"tier": "gpu"})
    out = tmp_path / "plan.json"
    got = run("plan", "--config", CONFIG, "--driver", "nomad", "--out", str(out),
              env={"NOMAD_ADDR": nomad_sim_acl.address, "NOMAD_TOKEN": ACL_TOKEN})
    assert got.code == 0, got.err
    assert ACL_TOKEN not in out.read_text() and ACL_TOKEN not in got.out + got.err


@pytest.mark.parametrize("token", [TOKEN + "\n", " " + TOKEN, TOKEN + "\u2019", TOKEN + "\t"],
                         ids=["a trailing newline", "a leading space", "a non-ASCII character", "a tab"])
def test_a_token_that_cannot_be_a_header_is_refused_without_echoing_it(run: Run, token: str) -> None:
    got = run("--debug", "plan", "--config", CONFIG, "--driver", "nomad", env={"NOMAD_TOKEN": token})
    assert got.code == 1 and "NOMAD_TOKEN" in got.err
    assert TOKEN[:8] not in got.out + got.err


def test_reprs_never_carry_the_token() -> None:
    conn = Connection(token=TOKEN)
    client = NomadClient(conn)
    assert TOKEN not in repr(conn) and TOKEN not in str(conn) and TOKEN not in repr(conn.identity())
    assert client.scrub(f"a {TOKEN} b") == "a <redacted> b"
