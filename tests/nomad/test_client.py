"""Error mapping of python-nomad exceptions to modelsched errors (no server needed)."""

from __future__ import annotations

import nomad.api.exceptions as nexc
import pytest
import requests

from modelsched.drivers.nomad.client import ConflictError, Connection, NomadClient
from modelsched.errors import DriverError

TOKEN = "tok-abc-999"


def response(status: int, body: str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode()
    return r


def raising(exc: Exception):  # type: ignore[no-untyped-def]
    def fn() -> None:
        raise exc

    return fn


@pytest.fixture
def client() -> NomadClient:
    return NomadClient(Connection(address="https://nomad.example:4646", token=TOKEN))


@pytest.mark.parametrize(
    ("exc", "kind", "pattern"),
    [
        (nexc.URLNotAuthorizedNomadException(response(403, "Permission denied")), DriverError,
         r"nomad\.example:4646 refused reading things \(HTTP 403\): check NOMAD_TOKEN"),
        (nexc.BaseNomadException(response(500, "Enforcing job modify index 5: job exists with conflicting job "
                                               "modify index: 7")), ConflictError, r"changed since the plan"),
        (nexc.BaseNomadException(response(500, "1 error occurred:\n\t* Missing job ID")), DriverError,
         r"failed reading things \(HTTP 500\): 1 error occurred"),
        (nexc.BadRequestNomadException(response(400, "failed to parse filter")), DriverError,
         r"rejected reading things \(HTTP 400\): failed to parse filter"),
        (nexc.URLNotFoundNomadException(response(404, "no such namespace")), DriverError, r"HTTP 404"),
        (nexc.BaseNomadException(requests.exceptions.ConnectionError("refused")), DriverError,
         r"unreachable during reading things \(ConnectionError\): check NOMAD_ADDR"),
        (nexc.BaseNomadException(requests.exceptions.SSLError("bad cert")), DriverError, r"NOMAD_CACERT"),
        (nexc.BaseNomadException(requests.exceptions.ReadTimeout("slow")), DriverError, r"--nomad-timeout"),
        (nexc.TimeoutNomadException(requests.exceptions.ConnectionError("x")), DriverError, r"unreachable"),
    ],
    ids=["403 token refused", "500 check-index conflict", "500 validation is not a conflict", "400 rejected",
         "404", "connection refused", "TLS failure", "timeout", "stream timeout"],
)
def test_errors_are_mapped_with_address_and_hint(
    client: NomadClient, exc: Exception, kind: type[Exception], pattern: str
) -> None:
    with pytest.raises(kind, match=pattern) as err:
        client._call("reading things", raising(exc))
    assert TOKEN not in str(err.value)


def test_token_echoed_by_a_server_is_scrubbed(client: NomadClient) -> None:
    exc = nexc.BaseNomadException(response(500, f"bad token {TOKEN}"))
    with pytest.raises(DriverError) as err:
        client._call("x", raising(exc))
    assert TOKEN not in str(err.value) and "<redacted>" in str(err.value)


def test_connection_repr_hides_the_token() -> None:
    assert TOKEN not in repr(Connection(token=TOKEN)) and TOKEN not in str(Connection(token=TOKEN))


def test_evaluate_asks_nomad_to_reconcile_a_job(nomad_sim) -> None:  # type: ignore[no-untyped-def]
    nomad_sim.add_node("n1", meta={"tier": "gpu"})
    job = {"ID": "j", "Name": "j", "Type": "system", "Datacenters": ["*"],
           "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker"}]}]}
    nomad_sim.register_job_direct(job)
    before = len(nomad_sim.evaluations("j"))
    got = NomadClient(Connection(address=nomad_sim.address)).evaluate("j")
    assert got["EvalID"]
    assert len(nomad_sim.evaluations("j")) == before + 1
    assert ("POST", "/v1/job/j/evaluate") in [(m, p) for m, p, _ in nomad_sim.requests]
