"""Fault injection and the request log (the house pattern of tests/nomadsim)."""

from __future__ import annotations

import pytest
import requests

from tests.localaisim import LocalAISim
from tests.localaisim.fixtures import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def get(sim: LocalAISim, path: str = "/api/nodes", timeout: float = 2) -> requests.Response:
    return requests.get(sim.address + path, headers=ADMIN, timeout=timeout)


def test_fail_answers_the_given_status_then_recovers(localai_sim: LocalAISim) -> None:
    localai_sim.fail(times=1, status=503, path_prefix="/api/nodes/scheduling")
    assert get(localai_sim).status_code == 200
    reply = get(localai_sim, "/api/nodes/scheduling")
    assert (reply.status_code, reply.json()["error"]["code"]) == (503, 503)
    assert get(localai_sim, "/api/nodes/scheduling").status_code == 200
    localai_sim.fail(status=503, body='{"error":"distributed mode not enabled"}', method="GET")
    assert get(localai_sim).json() == {"error": "distributed mode not enabled"}


def test_delay_is_slow_and_drop_closes_without_answer(localai_sim: LocalAISim) -> None:
    localai_sim.delay(1.0, method="GET")
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(localai_sim, timeout=0.2)
    localai_sim.drop()
    with pytest.raises(requests.exceptions.ConnectionError):
        get(localai_sim)


def test_down_refuses_connections_and_comes_back_on_the_same_port(localai_sim: LocalAISim) -> None:
    address = localai_sim.address
    localai_sim.set_down(True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(address + "/api/nodes", headers=ADMIN, timeout=1)
    localai_sim.set_down(False)
    assert localai_sim.address == address
    assert get(localai_sim).status_code == 200


def test_request_log(localai_sim: LocalAISim) -> None:
    get(localai_sim, "/api/nodes/scheduling?x=1")
    assert localai_sim.requests == [("GET", "/api/nodes/scheduling", {"x": ["1"]})]
    localai_sim.reset_requests()
    assert localai_sim.requests == []
