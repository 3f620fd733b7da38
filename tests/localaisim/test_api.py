"""Auth, routes and JSON shapes, through real HTTP (requests). Each test names its source."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.localaisim import LocalAISim
from tests.localaisim.fixtures import ADMIN_KEY, USER_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def call(sim: LocalAISim, method: str, path: str, headers: dict[str, str] | None = None,
         **kwargs: Any) -> requests.Response:
    return requests.request(method, sim.address + path, headers=ADMIN if headers is None else headers,
                            timeout=2, **kwargs)


def sched(sim: LocalAISim, body: Any) -> requests.Response:
    return call(sim, "POST", "/api/nodes/scheduling", json=body)


# -- auth: core/http/auth/middleware.go ---------------------------------------------------------


@pytest.mark.parametrize("headers", [ADMIN, {"Authorization": ADMIN_KEY}, {"x-api-key": ADMIN_KEY},
                                     {"xi-api-key": ADMIN_KEY}, {"Cookie": f"token={ADMIN_KEY}"}])
def test_legacy_key_from_every_source_is_admin(localai_sim: LocalAISim, headers: dict[str, str]) -> None:
    """middleware.go extractKey + isValidLegacyKey: a legacy key is a synthetic RoleAdmin user."""
    assert call(localai_sim, "GET", "/api/nodes", headers).status_code == 200


def test_no_or_unknown_key_is_401_with_localai_body(localai_sim: LocalAISim) -> None:
    """middleware.go authError: 401, WWW-Authenticate: Bearer, schema.ErrorResponse body."""
    for headers in ({}, {"Authorization": "Bearer nope"}, {"x-api-key": "nope"}):
        reply = call(localai_sim, "GET", "/api/nodes", headers)
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert reply.json() == {"error": {"code": 401, "message": "An authentication key is required",
                                          "type": "invalid_request_error"}}


def test_legacy_key_is_read_from_the_first_source_only(localai_sim: LocalAISim) -> None:
    """middleware.go extractKey: a bad Authorization header hides a good x-api-key."""
    reply = call(localai_sim, "GET", "/api/nodes", {"Authorization": "Bearer nope", "x-api-key": ADMIN_KEY})
    assert reply.status_code == 401


def test_user_key_is_403_admin_access_required_even_on_unknown_subpaths(localai_sim: LocalAISim) -> None:
    """middleware.go RequireAdmin on the /api/nodes group (echo Group.Use registers a catch-all)."""
    for path in ("/api/nodes", "/api/nodes/scheduling", "/api/nodes/no/such/path"):
        reply = call(localai_sim, "GET", path, {"x-api-key": USER_KEY})
        assert reply.status_code == 403
        assert reply.json() == {"error": {"code": 403, "message": "Admin access required",
                                          "type": "authorization_error"}}


def test_not_distributed_has_no_node_routes() -> None:
    """routes/nodes.go RegisterNodeAdminRoutes returns early without a registry; auth still runs
    first (app.go e.Use(authMiddleware)) and the 404 is render.go notFoundHandler's JSON."""
    for sim_args in ({"distributed": False}, {"registry": False}):
        with LocalAISim(admin_keys={"adm"}, **sim_args) as sim:  # type: ignore[arg-type]
            assert call(sim, "GET", "/api/nodes", {}).status_code == 401
            reply = call(sim, "GET", "/api/nodes", {"x-api-key": "adm"})
            assert reply.status_code == 404
            assert reply.json() == {"error": {"code": 404, "message": "Resource not found", "type": ""}}


# -- routes and shapes: endpoints/localai/nodes.go, registry.go ---------------------------------


def test_node_list_and_get(localai_sim: LocalAISim) -> None:
    """ListNodesEndpoint (ORDER BY name, NodeWithExtras) and GetNodeEndpoint (404 node_error)."""
    b = localai_sim.add_node("b", {"tier": "gpu"}, max_replicas_per_model=2)
    localai_sim.add_node("a")
    localai_sim.load_replica(b, "m", in_flight=3)
    localai_sim.load_replica(b, "m", state="loading")
    nodes = call(localai_sim, "GET", "/api/nodes").json()
    assert [n["name"] for n in nodes] == ["a", "b"]
    assert nodes[1]["labels"] == {"node.name": "b", "node.replica-slots": "2", "tier": "gpu"}
    assert (nodes[1]["model_count"], nodes[1]["in_flight_count"], nodes[1]["status"]) == (1, 3, "healthy")
    assert call(localai_sim, "GET", f"/api/nodes/{b}").json()["id"] == b
    missing = call(localai_sim, "GET", "/api/nodes/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": {"code": 404, "message": "node not found",
                                                                     "type": "node_error"}})


def test_models_lists_loaded_replicas_on_healthy_nodes_node_models_every_state(localai_sim: LocalAISim) -> None:
    """registry.go ListAllLoadedModels (state loaded JOIN status healthy) vs GetNodeModels (all)."""
    a = localai_sim.add_node("a", max_replicas_per_model=3)
    b = localai_sim.add_node("b")
    localai_sim.load_replica(a, "m")
    localai_sim.load_replica(a, "m", state="loading")
    localai_sim.load_replica(b, "m")
    localai_sim.set_status(b, "unhealthy")  # status only: its row stays
    assert [(r["node_id"], r["state"]) for r in call(localai_sim, "GET", "/api/nodes/models").json()] == [
        (a, "loaded")]
    assert sorted(r["state"] for r in call(localai_sim, "GET", f"/api/nodes/{a}/models").json()) == [
        "loaded", "loading"]
    assert call(localai_sim, "GET", "/api/nodes/nope/models").json() == []


def test_scheduling_row_shape_and_omitempty(localai_sim: LocalAISim) -> None:
    """SetSchedulingEndpoint + ModelSchedulingConfig json tags: selector as a JSON string,
    empty selector / false spread_all / zero routing fields omitted."""
    reply = sched(localai_sim, {"model_name": "m", "node_selector": {"z": "1", "a": "<b>"}, "min_replicas": 1})
    assert reply.status_code == 200
    body = reply.json()
    assert body["node_selector"] == '{"a":"\\u003cb\\u003e","z":"1"}'  # json.Marshal: sorted, HTML-escaped
    assert json.loads(body["node_selector"]) == {"a": "<b>", "z": "1"}
    plain = sched(localai_sim, {"model_name": "p", "max_replicas": 2}).json()
    assert set(plain) == {"id", "model_name", "min_replicas", "max_replicas", "unsatisfiable_ticks",
                          "created_at", "updated_at"}
    spread = sched(localai_sim, {"model_name": "s", "spread_all": True}).json()
    assert spread["spread_all"] is True
    assert [r["model_name"] for r in call(localai_sim, "GET", "/api/nodes/scheduling").json()] == ["m", "p", "s"]
    missing = call(localai_sim, "GET", "/api/nodes/scheduling/none")
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "no scheduling config for model")


def test_update_replaces_answers_fresh_id_but_keeps_stored_id(localai_sim: LocalAISim) -> None:
    """SetSchedulingEndpoint answers the struct it built; registry.go SetModelScheduling's
    ON CONFLICT updates only the eight columns + updated_at (id, created_at, unsatisfiable_* stay)."""
    first = sched(localai_sim, {"model_name": "m", "node_selector": {"t": "g"}, "min_replicas": 1,
                                "route_policy": "prefix_cache", "min_prefix_match": 0.5}).json()
    second = sched(localai_sim, {"model_name": "m", "max_replicas": 3, "replicas": "all"}).json()
    assert second["id"] != first["id"]
    stored = call(localai_sim, "GET", "/api/nodes/scheduling/m").json()
    assert stored["id"] == first["id"]
    assert "node_selector" not in stored and "spread_all" not in stored  # replaced; "replicas" ignored
    assert (stored["min_replicas"], stored["max_replicas"]) == (0, 3)
    assert (stored["route_policy"], stored["min_prefix_match"]) == ("prefix_cache", 0.5)  # kept when omitted


@pytest.mark.parametrize(("body", "message"), [
    ({"min_replicas": 1}, "model_name is required"),
    ({"model_name": "m", "spread_all": True, "min_replicas": 1},
     "spread_all and min_replicas/max_replicas are mutually exclusive"),
    ({"model_name": "m", "min_replicas": -1}, "min_replicas must be >= 0"),
    ({"model_name": "m", "min_replicas": 3, "max_replicas": 2}, "min_replicas must be <= max_replicas"),
    ({"model_name": "m", "route_policy": "fast"},
     'prefixcache: route_policy must be one of "", "round_robin", "prefix_cache", got "fast"'),
    ({"model_name": "m", "min_replicas": "2"}, "invalid request body"),
    ({"model_name": "m", "min_replicas": 2.0}, "invalid request body"),
    ({"model_name": "m", "node_selector": {"a": 1}}, "invalid request body"),
])
def test_scheduling_validation(localai_sim: LocalAISim, body: dict[str, Any], message: str) -> None:
    """nodes.go validateSchedulingRequest, prefixcache ValidateThresholds, c.Bind type errors."""
    reply = sched(localai_sim, body)
    assert (reply.status_code, reply.json()) == (400, {"error": {"code": 400, "message": message,
                                                                 "type": "node_error"}})


def test_body_is_read_only_as_application_json(localai_sim: LocalAISim) -> None:
    """echo bind.go BindBody: another media type is 415 -> the handler's 400 "invalid request
    body"; an empty body is not read at all -> validation sees model_name "". Keys match
    case-insensitively (encoding/json) and trailing bytes after the value are ignored."""
    raw = b'{"model_name":"m","min_replicas":1}'
    assert call(localai_sim, "POST", "/api/nodes/scheduling", data=raw,
                headers={**ADMIN, "Content-Type": "text/plain"}).json()["error"]["message"] == "invalid request body"
    assert call(localai_sim, "POST", "/api/nodes/scheduling").json()["error"]["message"] == "model_name is required"
    ok = call(localai_sim, "POST", "/api/nodes/scheduling", data=b'{"MODEL_NAME":"m","Min_Replicas":1} junk',
              headers={**ADMIN, "Content-Type": "application/json; charset=utf-8"})
    assert (ok.status_code, ok.json()["min_replicas"]) == (200, 1)


def test_delete_row_is_204_even_when_absent_and_unloads_nothing(localai_sim: LocalAISim) -> None:
    """DeleteSchedulingEndpoint: c.NoContent(204) whatever DeleteModelScheduling deleted."""
    n = localai_sim.add_node("a")
    localai_sim.load_replica(n, "m")
    sched(localai_sim, {"model_name": "m", "min_replicas": 1})
    for _ in range(2):
        reply = call(localai_sim, "DELETE", "/api/nodes/scheduling/m")
        assert (reply.status_code, reply.content) == (204, b"")
    assert len(localai_sim.replicas("m")) == 1


def test_model_names_with_slashes(localai_sim: LocalAISim) -> None:
    """Echo: a route-final param takes the rest of the path, but %2F makes Go keep URL.RawPath
    and echo v4.15.1 does not unescape params: the escaped name is looked up verbatim."""
    sched(localai_sim, {"model_name": "org/m", "min_replicas": 1})
    assert call(localai_sim, "GET", "/api/nodes/scheduling/org/m").status_code == 200
    assert call(localai_sim, "GET", "/api/nodes/scheduling/org%2Fm").status_code == 404


def test_wrong_method_is_404_and_models_is_also_an_id(localai_sim: LocalAISim) -> None:
    """Echo router + group RouteNotFound("/*"): no 405; DELETE /api/nodes/models hits DELETE /:id."""
    assert call(localai_sim, "PUT", "/api/nodes/scheduling").status_code == 404
    reply = call(localai_sim, "DELETE", "/api/nodes/models")
    assert (reply.status_code, reply.json()["error"]["message"]) == (500, "failed to deregister node")


def test_unload(localai_sim: LocalAISim) -> None:
    """UnloadModelOnNodeEndpoint: 400 without model_name, 500 when no worker answers NATS
    (unknown id), else every replica row of the model on that node is removed."""
    n = localai_sim.add_node("a", max_replicas_per_model=2)
    localai_sim.load_replica(n, "m")
    localai_sim.load_replica(n, "m")
    assert call(localai_sim, "POST", f"/api/nodes/{n}/models/unload", json={}).json()["error"]["message"] == (
        "model_name required")
    unknown = call(localai_sim, "POST", "/api/nodes/nope/models/unload", json={"model_name": "m"})
    assert (unknown.status_code, unknown.json()["error"]["message"]) == (500, "failed to unload model on node")
    assert call(localai_sim, "POST", f"/api/nodes/{n}/models/unload", json={"model_name": "m"}).json() == {
        "message": "model unloaded"}
    assert localai_sim.replicas("m") == []


def test_drain_deletes_rows_and_resume_does_not_bring_them_back(localai_sim: LocalAISim) -> None:
    """registry.go MarkDraining deletes the node's rows; MarkHealthy only flips the status."""
    n = localai_sim.add_node("a")
    localai_sim.load_replica(n, "m")
    assert call(localai_sim, "POST", f"/api/nodes/{n}/drain").json() == {"message": "node set to draining"}
    assert localai_sim.replicas() == []
    assert call(localai_sim, "POST", f"/api/nodes/{n}/resume").json() == {"message": "node resumed"}
    assert call(localai_sim, "GET", f"/api/nodes/{n}").json()["status"] == "healthy"
    assert call(localai_sim, "POST", "/api/nodes/nope/drain").status_code == 500


def test_labels_put_patch_delete(localai_sim: LocalAISim) -> None:
    """SetNodeLabelsEndpoint / MergeNodeLabelsEndpoint bind into map[string]string, and Echo
    binds path params into maps first: an "id" label appears. PUT (SetNodeLabels) drops the
    automatic labels; DELETE .../labels/:key is 204 without any node check."""
    n = localai_sim.add_node("a", {"tier": "cpu"})
    put = call(localai_sim, "PUT", f"/api/nodes/{n}/labels", json={"tier": "gpu"})
    assert put.json() == {"id": n, "tier": "gpu"}
    patched = call(localai_sim, "PATCH", f"/api/nodes/{n}/labels", json={"zone": "x"}).json()
    assert patched == {"id": n, "tier": "gpu", "zone": "x"}
    assert call(localai_sim, "DELETE", f"/api/nodes/{n}/labels/id").status_code == 204
    assert call(localai_sim, "GET", f"/api/nodes/{n}/labels").json() == {"tier": "gpu", "zone": "x"}
    assert call(localai_sim, "DELETE", "/api/nodes/nope/labels/x").status_code == 204
    assert call(localai_sim, "PUT", "/api/nodes/nope/labels", json={}).status_code == 404
    bad = call(localai_sim, "PUT", f"/api/nodes/{n}/labels", json={"a": 1})
    assert (bad.status_code, bad.json()["error"]["message"]) == (400, "invalid request body")
