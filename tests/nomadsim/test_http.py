"""NomadSim's HTTP plumbing: index headers, blocking queries, ACL, fault injection, namespaces."""

from __future__ import annotations

import threading
import time

import nomad
import pytest
import requests
from nomad.api import exceptions as nx

from tests.nomadsim import NomadSim
from tests.nomadsim.fixtures import ACL_TOKEN
from tests.nomadsim.helpers import client, job, raw

# -- HTTP behaviour -----------------------------------------------------------------------------


def test_responses_carry_the_index_and_blocking_queries_wait_for_a_write(nomad_sim: NomadSim) -> None:
    response = raw(nomad_sim, "GET", "/v1/nodes")
    index = int(response.headers["X-Nomad-Index"])
    assert response.headers["Content-Type"] == "application/json"
    started = time.monotonic()
    assert raw(nomad_sim, "GET", "/v1/nodes", params={"index": index, "wait": "200ms"}).status_code == 200
    assert 0.15 < time.monotonic() - started < 1.0
    assert raw(nomad_sim, "GET", "/v1/nodes", params={"index": 0}).status_code == 200


def test_acl_refuses_a_missing_or_wrong_token_with_403(nomad_sim_acl: NomadSim) -> None:
    with pytest.raises(nx.URLNotAuthorizedNomadException) as raised:
        client(nomad_sim_acl).nodes.get_nodes()
    assert raised.value.nomad_resp.text == "Permission denied"
    with pytest.raises(nx.URLNotAuthorizedNomadException):
        client(nomad_sim_acl, token="wrong").nodes.get_nodes()
    assert client(nomad_sim_acl, token=ACL_TOKEN).nodes.get_nodes() == []
    bearer = {"Authorization": f"Bearer {ACL_TOKEN}"}
    assert raw(nomad_sim_acl, "GET", "/v1/nodes", headers=bearer).status_code == 200


def test_injected_failures_apply_to_matching_requests_only(nomad_sim: NomadSim) -> None:
    api = client(nomad_sim)
    nomad_sim.fail(times=1, status=503, body="no leader", path_prefix="/v1/jobs")
    assert api.nodes.get_nodes() == []
    with pytest.raises(nx.BaseNomadException) as raised:
        api.jobs.get_jobs()
    assert (raised.value.nomad_resp.status_code, raised.value.nomad_resp.text) == (503, "no leader")
    assert api.jobs.get_jobs() == []
    assert [path for _, path, _ in nomad_sim.requests] == ["/v1/nodes", "/v1/jobs", "/v1/jobs"]


def test_an_injected_delay_trips_the_client_timeout(nomad_sim: NomadSim) -> None:
    nomad_sim.delay(0.5, method="GET")
    with pytest.raises(nx.BaseNomadException) as raised:
        client(nomad_sim, timeout=0.1).nodes.get_nodes()
    assert isinstance(raised.value.nomad_resp, requests.exceptions.Timeout)


def test_a_dropped_connection_and_a_down_server_are_connection_errors(nomad_sim: NomadSim) -> None:
    nomad_sim.drop()
    with pytest.raises(nx.BaseNomadException) as raised:
        client(nomad_sim).nodes.get_nodes()
    assert isinstance(raised.value.nomad_resp, requests.exceptions.ConnectionError)
    nomad_sim.set_down(True)
    with pytest.raises(nx.BaseNomadException):
        client(nomad_sim).nodes.get_nodes()
    nomad_sim.set_down(False)
    assert client(nomad_sim).nodes.get_nodes() == []


def test_a_write_wakes_a_blocking_query_early(nomad_sim: NomadSim) -> None:
    index = int(raw(nomad_sim, "GET", "/v1/nodes").headers["X-Nomad-Index"])
    timer = threading.Timer(0.05, nomad_sim.add_node, args=("n1",))
    timer.start()
    response = raw(nomad_sim, "GET", "/v1/nodes", params={"index": index, "wait": "5s"})
    timer.join()
    assert int(response.headers["X-Nomad-Index"]) > index and len(response.json()) == 1


def test_the_namespace_query_param_scopes_jobs(nomad_sim: NomadSim) -> None:
    nomad_sim.add_namespace("ml")
    api = nomad.Nomad(address=nomad_sim.address, timeout=2, namespace="ml")
    api.jobs.register_job({"Job": job()})
    assert nomad_sim.job("web", namespace="ml") is not None and nomad_sim.job("web") is None
    assert [stub["Namespace"] for stub in client(nomad_sim).jobs.get_jobs(namespace="*")] == ["ml"]
