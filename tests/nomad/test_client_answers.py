"""What the client does with what a server sends: trickled bytes, malformed answers,
versions below the minimum, namespaced evaluation reads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from modelsched.drivers.nomad.answers import MalformedAnswer
from modelsched.drivers.nomad.client import Connection, NomadClient
from modelsched.drivers.nomad.observe import MIN_VERSION, Query, observe
from modelsched.errors import DriverError
from tests.cannedhttp import CannedServer, canned_server
from tests.nomadsim import NomadSim

Reply = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def server() -> Iterator[CannedServer]:
    with canned_server() as srv:
        yield srv


def json_reply(body: Any, status: int = 200) -> Reply:
    data = json.dumps(body).encode()

    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return reply


def trickle_body(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    for _ in range(100):
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.1)


def trickle_headers(h: BaseHTTPRequestHandler) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]":
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.1)


# -- a total deadline per request -------------------------------------------------------------


@pytest.mark.parametrize("reply", [trickle_body, trickle_headers], ids=["a trickled body", "trickled headers"])
def test_a_server_that_trickles_bytes_is_cut_off_at_the_request_timeout(server: Any, reply: Reply) -> None:
    """Each byte arrives well within the timeout, the whole answer never does: the timeout
    is a total deadline per request, not a per-read one (10 s of trickle, 0.5 s timeout)."""
    server.reply = reply
    client = NomadClient(Connection(address=server.address, timeout=0.5))
    start = time.monotonic()
    with pytest.raises(DriverError, match=r"unreachable .*no complete answer within 0\.5s"):
        client.nodes()
    assert time.monotonic() - start < 3.0


def test_a_trickled_answer_to_a_write_says_the_outcome_is_unknown(server: Any) -> None:
    server.reply = trickle_body
    client = NomadClient(Connection(address=server.address, timeout=0.5))
    with pytest.raises(DriverError, match=r"may or may not have been done"):
        client.register({"ID": "modelsched-x"}, 0)


def test_a_fast_answer_after_a_cut_off_one_is_read_normally(server: Any) -> None:
    client = NomadClient(Connection(address=server.address, timeout=0.5))
    server.reply = trickle_body
    with pytest.raises(DriverError):
        client.nodes()
    server.reply = json_reply([{"ID": "n1"}])
    assert client.nodes() == [{"ID": "n1"}]


# -- malformed answers -------------------------------------------------------------------------


def _call(name: str) -> Callable[[NomadClient], Any]:
    return {
        "nodes": lambda c: c.nodes(),
        "jobs": lambda c: c.jobs("modelsched-"),
        "allocations": lambda c: c.allocations("x"),
        "job": lambda c: c.job("modelsched-a"),
        "register": lambda c: c.register({"ID": "modelsched-a"}, 0),
        "evaluation": lambda c: c.evaluation("e1"),
        "plan": lambda c: c.plan({"ID": "modelsched-a"}),
        "version": lambda c: c.server_version(),
    }[name]


@pytest.mark.parametrize(
    ("call", "body", "named"),
    [
        ("nodes", {"ID": "n1"}, r"GET /v1/nodes: the answer is an object, not a list"),
        ("nodes", [{"Name": "n1"}], r"GET /v1/nodes: item 1 has no ID"),
        ("nodes", [{"ID": "n1"}, {"ID": ""}], r"GET /v1/nodes: item 2 has an empty ID"),
        ("nodes", [{"ID": "n1", "Drain": "yes"}], r"item 1 \(ID n1\) has Drain = a string, not a boolean"),
        ("nodes", ["n1"], r"item 1 is a string, not an object"),
        ("jobs", [{"ID": "j", "JobModifyIndex": "7"}], r"GET /v1/jobs: .*JobModifyIndex = a string, not an integer"),
        ("jobs", [{"ID": "j", "JobModifyIndex": True}], r"JobModifyIndex = a boolean, not an integer"),
        ("jobs", [{"ID": "j", "JobModifyIndex": 1, "Meta": ["x"]}], r"Meta = a list, not an object"),
        ("allocations", [{"JobID": "j", "NodeID": "n", "DesiredStatus": "run", "ClientStatus": "running"}],
         r"GET /v1/allocations: item 1 has no ID"),
        ("allocations", [{"ID": "a", "JobID": "j", "NodeID": None, "DesiredStatus": "run",
                          "ClientStatus": "running"}], r"NodeID = null, not a string"),
        ("job", {"ID": "modelsched-a", "JobModifyIndex": 1.5}, r"GET /v1/job/modelsched-a: .*JobModifyIndex"),
        ("register", {"EvalID": 12}, r"POST /v1/job/modelsched-a: .*EvalID = a number, not a string"),
        ("evaluation", [], r"GET /v1/evaluation/e1: the answer is a list, not an object"),
        ("plan", {"Annotations": {"DesiredTGUpdates": {"g": {"Place": "2"}}}}, r"a counter is a string"),
        ("plan", {"Annotations": {"DesiredTGUpdates": ["g"]}}, r"DesiredTGUpdates is a list"),
        ("version", {"config": {}}, r"GET /v1/agent/self: the answer has no Nomad version"),
    ],
    ids=[
        "a node list that is an object", "a node without an ID", "a node with an empty ID",
        "a node whose Drain is not a boolean", "a node that is a string",
        "a job index that is a string", "a job index that is a boolean", "job Meta that is a list",
        "an allocation without an ID", "an allocation without a node", "a job index that is a float",
        "an evaluation ID that is a number", "an evaluation that is a list", "a plan counter that is a string",
        "plan updates that are a list", "an agent without a version",
    ],
)
def test_a_malformed_answer_is_a_clear_error_naming_the_endpoint(
    server: Any, call: str, body: Any, named: str
) -> None:
    server.reply = json_reply(body)
    with pytest.raises(MalformedAnswer, match=named) as err:
        _call(call)(NomadClient(Connection(address=server.address)))
    assert server.address in str(err.value)


@pytest.mark.parametrize(
    "body", [b"[" * 5000 + b"]" * 5000, b"[18446744073709551616000]", b"<html>", b"{\"a\": NaN}"],
    ids=["nesting 5,000 deep", "an integer beyond 64 bits", "HTML", "NaN"],
)
def test_an_answer_json_cannot_hold_is_an_error_not_a_crash(server: Any, body: bytes) -> None:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    server.reply = reply
    with pytest.raises(DriverError, match=r"(listing nodes: .*is not JSON|GET /v1/nodes: .*not an object)"):
        NomadClient(Connection(address=server.address)).nodes()


# -- versions ----------------------------------------------------------------------------------


def _self(build: str, version: str = "") -> dict[str, Any]:
    member = {"Tags": {"build": build, "role": "nomad", "region": "global"}} if build else {}
    return {"member": member, "config": {"Version": {"Version": version or build}}}


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        (_self("1.9.3+ent"), (1, 9, 3)),
        (_self("1.8.0-beta.1"), (1, 8, 0)),
        (_self("", "1.7.2"), (1, 7, 2)),
        (_self("2.0.6"), (2, 0, 6)),
    ],
    ids=["an enterprise server", "a pre-release server", "a client agent (its own version)", "Nomad 2"],
)
def test_the_version_is_read_from_agent_self(server: Any, answer: Any, want: tuple[int, int, int]) -> None:
    server.reply = json_reply(answer)
    assert NomadClient(Connection(address=server.address)).server_version() == want
    assert server.seen == ["/v1/agent/self"]


def test_a_token_without_agent_read_gets_the_lowest_alive_server_of_its_region(server: Any) -> None:
    members = {"ServerRegion": "eu", "Members": [
        {"Status": "alive", "Tags": {"role": "nomad", "region": "eu", "build": "1.9.1"}},
        {"Status": "alive", "Tags": {"role": "nomad", "region": "eu", "build": "1.8.4"}},
        {"Status": "failed", "Tags": {"role": "nomad", "region": "eu", "build": "1.2.0"}},
        {"Status": "alive", "Tags": {"role": "nomad", "region": "us", "build": "1.4.0"}},
    ]}

    def reply(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/v1/agent/self"):
            json_reply("Permission denied", 403)(h)
        else:
            json_reply(members)(h)

    server.reply = reply
    assert NomadClient(Connection(address=server.address, region="eu")).server_version() == (1, 8, 4)
    assert [p.split("?")[0] for p in server.seen] == ["/v1/agent/self", "/v1/agent/members"]


@pytest.mark.parametrize(
    ("version", "refused"),
    [("1.5.17", True), ("1.6.0", False), ("1.11.0", False), ("1.5.0", True)],
    ids=["1.5.17 is below the minimum", "1.6.0 is the minimum", "1.11.0 is above", "1.5.0 is below"],
)
def test_observe_refuses_a_server_below_the_minimum_version(version: str, refused: bool) -> None:
    assert MIN_VERSION == (1, 6, 0)
    with NomadSim(version=version) as sim:
        sim.add_node("n1", meta={"tier": "gpu"})
        client = NomadClient(Connection(address=sim.address))
        query = Query(prefix="modelsched-", listed={}, selectors=())
        if refused:
            with pytest.raises(DriverError, match=rf"runs version {version}; modelsched needs Nomad >= 1\.6\.0"):
                observe(client, query)
            assert [p for _, p, _ in sim.requests] == ["/v1/agent/self"]  # nothing else was read
        else:
            got = observe(client, query)
            assert got.private.server_version == tuple(int(x) for x in version.split("."))  # type: ignore[union-attr]


# -- namespaces ----------------------------------------------------------------------------------


def test_an_evaluation_is_read_in_the_connections_namespace() -> None:
    """A namespace-scoped token may read evaluations only when the request names the namespace
    (eval_endpoint.go GetEval); python-nomad sends none for this endpoint."""
    with NomadSim(namespace_tokens={"ml-token": {"ml"}}) as sim:
        sim.add_namespace("ml")
        sim.add_node("n1", meta={"tier": "gpu"})
        job = {"ID": "modelsched-j", "Name": "modelsched-j", "Type": "system", "Namespace": "ml",
               "Datacenters": ["*"],
               "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker"}]}]}
        client = NomadClient(Connection(address=sim.address, token="ml-token", namespace="ml"))
        eval_id = client.register(job, 0)["EvalID"]
        assert eval_id and client.evaluation(eval_id)["ID"] == eval_id
        reads = [q for m, p, q in sim.requests if p == f"/v1/evaluation/{eval_id}"]
        assert reads == [{"namespace": ["ml"]}] or reads[0].get("namespace") == ["ml"]
