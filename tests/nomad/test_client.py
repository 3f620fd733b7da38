"""Error mapping of python-nomad exceptions to modelsched errors (no server needed)."""

from __future__ import annotations

import nomad.api.exceptions as nexc
import pytest
import requests

from modelsched.drivers.nomad.client import ConflictError, Connection, Forbidden, NomadClient
from modelsched.errors import DriverError, NotFoundError

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
        (nexc.BaseNomadException(response(500, "rpc error: Enforcing job modify index 0: job already exists")),
         ConflictError, r"changed since the plan"),
        (nexc.BaseNomadException(response(500, "1 error occurred:\n\t* Enforcing job modify index 5: job does "
                                               "not exist")), ConflictError, r"changed since the plan"),
        (nexc.BaseNomadException(response(500, "1 error occurred:\n\t* Missing job ID")), DriverError,
         r"failed reading things \(HTTP 500\): 1 error occurred"),
        (nexc.BadRequestNomadException(response(400, "failed to parse filter")), DriverError,
         r"rejected reading things \(HTTP 400\): failed to parse filter"),
        (nexc.URLNotFoundNomadException(response(404, "no such namespace")), NotFoundError, r"HTTP 404"),
        (nexc.BaseNomadException(response(404, "job not found")), NotFoundError, r"not found"),
        (nexc.URLNotAuthorizedNomadException(response(403, "x")), Forbidden, r"HTTP 403"),
        (nexc.BaseNomadException(requests.exceptions.ConnectionError("refused")), DriverError,
         r"unreachable during reading things \(ConnectionError\): check NOMAD_ADDR"),
        (nexc.BaseNomadException(requests.exceptions.SSLError("bad cert")), DriverError, r"NOMAD_CACERT"),
        (nexc.BaseNomadException(requests.exceptions.ReadTimeout("slow")), DriverError, r"--nomad-timeout"),
        (nexc.TimeoutNomadException(requests.exceptions.ConnectionError("x")), DriverError, r"unreachable"),
    ],
    ids=["403 token refused", "500 check-index conflict",
         "a conflict through a client agent (rpc error: prefix) is still a conflict",
         "a conflict inside a multi-error text is still a conflict", "500 validation is not a conflict",
         "400 rejected", "404 is a NotFoundError by its status", "a 404 python-nomad did not type is one too",
         "403 is Forbidden", "connection refused", "TLS failure", "timeout", "stream timeout"],
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


def test_a_missing_job_is_none_by_status_whatever_the_text(client: NomadClient) -> None:
    def missing() -> requests.Response:
        raise nexc.URLNotFoundNomadException(response(404, "some proxy says: gone"))

    client._job.request = lambda *a, **k: missing()  # type: ignore[method-assign]
    assert client.job("modelsched-x") is None


def test_a_500_that_mentions_http_404_is_not_a_missing_job(client: NomadClient) -> None:
    def failing() -> requests.Response:
        raise nexc.BaseNomadException(response(500, "upstream said HTTP 404"))

    client._job.request = lambda *a, **k: failing()  # type: ignore[method-assign]
    with pytest.raises(DriverError, match=r"HTTP 500") as err:
        client.job("modelsched-x")
    assert not isinstance(err.value, NotFoundError)


@pytest.mark.parametrize(
    "ident", ["../jobs", "a/b", "x?purge=true", "x#y", "%2e%2e", "", "..", "a b"],
    ids=["a parent path", "a slash", "a query", "a fragment", "percent escapes", "empty", "dot dot", "a space"],
)
def test_an_id_that_is_not_a_plain_id_never_reaches_a_url(client: NomadClient, ident: str) -> None:
    calls = [lambda: client.job(ident), lambda: client.purge(ident), lambda: client.evaluate(ident),
             lambda: client.evaluation(ident), lambda: client.stop_allocation(ident),
             lambda: client.register({"ID": ident}, 0), lambda: client.plan({"ID": ident})]
    for call in calls:
        with pytest.raises(DriverError, match=r"not a plain Nomad ID"):
            call()
    assert client.requests_made == 0


def test_stop_allocation_stops_exactly_that_allocation(nomad_sim) -> None:  # type: ignore[no-untyped-def]
    nomad_sim.add_node("n1", meta={"tier": "gpu"})
    job = {"ID": "j", "Name": "j", "Type": "system", "Datacenters": ["*"],
           "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker"}]}]}
    nomad_sim.register_job_direct(job)
    alloc = nomad_sim.allocations("j")[0]["ID"]
    got = NomadClient(Connection(address=nomad_sim.address)).stop_allocation(alloc)
    assert got["EvalID"]
    assert ("POST", f"/v1/allocation/{alloc}/stop") in [(m, p) for m, p, _ in nomad_sim.requests]
