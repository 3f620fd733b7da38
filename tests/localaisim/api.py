"""The /api/nodes admin routes (core/http/routes/nodes.go RegisterNodeAdminRoutes) and their
handlers (core/http/endpoints/localai/nodes.go), over the registry in state.py.

Routing follows Echo v4.15.1: a static segment beats a param, a param that ends its route
(":model", ":key") swallows the rest of the path, and because Group.Use registers
RouteNotFound("/*") with the group's middleware, any miss under /api/nodes (unknown path or
wrong method: no 405) is a 404 that has already passed the admin check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.localaisim import render
from tests.localaisim.golang import BindError, decode_body, decode_string_map, decode_struct, sorted_map
from tests.localaisim.scheduling import REQUEST_FIELDS, set_scheduling
from tests.localaisim.state import State

NO_CONTENT = object()  # c.NoContent
Reply = tuple[int, Any]


@dataclass
class Request:
    params: dict[str, str]
    body: bytes
    content_type: str | None

    def struct(self, fields: dict[str, str]) -> dict[str, Any]:
        """c.Bind into a struct without `param`/`form` tags: only a JSON body can fill it."""
        kind, value = decode_body(self.body, self.content_type)
        return decode_struct(value, fields) if kind == "json" else {}

    def string_map(self) -> dict[str, str] | None:
        """c.Bind into map[string]string: Echo binds the PATH PARAMS into the map first
        (bind.go bindData), so PUT/PATCH /api/nodes/:id/labels also carries {"id": <node id>}."""
        start = dict(self.params)
        kind, value = decode_body(self.body, self.content_type)
        if kind == "json":
            return decode_string_map(value, start)
        return {**start, **value} if kind == "form" else start


class Api:
    def __init__(self, state: State, worker_alive: Callable[[str], bool]) -> None:
        self.st = state
        self.worker_alive = worker_alive
        s = self
        self.routes: list[tuple[str, list[str], Callable[[Request], Reply]]] = [
            ("GET", [], s.list_nodes), ("GET", ["models"], s.all_models),
            ("GET", ["scheduling"], s.list_rows), ("GET", ["scheduling", ":model+"], s.get_row),
            ("POST", ["scheduling"], s.set_row), ("DELETE", ["scheduling", ":model+"], s.delete_row),
            ("GET", [":id"], s.get_node), ("GET", [":id", "models"], s.node_models),
            ("DELETE", [":id"], s.deregister), ("POST", [":id", "drain"], s.drain),
            ("POST", [":id", "resume"], s.resume), ("POST", [":id", "approve"], s.approve),
            ("POST", [":id", "models", "unload"], s.unload),
            ("GET", [":id", "labels"], s.get_labels), ("PUT", [":id", "labels"], s.put_labels),
            ("PATCH", [":id", "labels"], s.patch_labels), ("DELETE", [":id", "labels", ":key+"], s.delete_label),
            ("PUT", [":id", "max-replicas-per-model"], s.put_max_replicas),
            ("DELETE", [":id", "max-replicas-per-model"], s.reset_max_replicas),
        ]

    # -- routing -------------------------------------------------------------------------------
    def handle(self, method: str, subpath: str, body: bytes, content_type: str | None) -> Reply:
        """subpath: the path after /api/nodes, without leading/trailing slash."""
        segments = subpath.split("/") if subpath else []
        found = []
        for verb, pattern, handler in self.routes:
            params = _match(pattern, segments)
            if verb == method and params is not None:
                rank = tuple(1 if p.startswith(":") else 0 for p in pattern)
                found.append((rank, params, handler))
        if not found:
            return 404, render.api_error(404, "Resource not found", "")
        _, params, handler = min(found, key=lambda f: f[0])
        try:
            with self.st.lock:
                return handler(Request(params, body, content_type))
        except BindError:
            return 400, render.node_error(400, "invalid request body")

    # -- nodes ---------------------------------------------------------------------------------
    def list_nodes(self, rq: Request) -> Reply:  # ListWithExtras: ORDER BY name
        nodes = sorted(self.st.nodes.values(), key=lambda n: n.name)
        return 200, [render.node(self.st, n, self.st.labels.get(n.id)) for n in nodes]

    def get_node(self, rq: Request) -> Reply:
        n = self.st.nodes.get(rq.params["id"])
        if n is None:
            return 404, render.node_error(404, "node not found")
        return 200, render.node(self.st, n, self.st.labels.get(n.id))

    def all_models(self, rq: Request) -> Reply:  # ListAllLoadedModels: loaded rows on healthy nodes
        order = {nid: i for i, nid in enumerate(self.st.nodes)}
        rows = [r for r in self.st.replicas if r.state == "loaded"
                and r.node_id in self.st.nodes and self.st.nodes[r.node_id].status == "healthy"]
        rows.sort(key=lambda r: (r.model_name, order[r.node_id], r.replica_index))
        return 200, [render.replica(r) for r in rows]

    def node_models(self, rq: Request) -> Reply:  # GetNodeModels: every state; [] for unknown ids
        rows = sorted((r for r in self.st.replicas if r.node_id == rq.params["id"]),
                      key=lambda r: (r.model_name, r.replica_index))
        return 200, [render.replica(r) for r in rows]

    def deregister(self, rq: Request) -> Reply:
        if not self.st.deregister(rq.params["id"]):
            return 500, render.node_error(500, "failed to deregister node")
        return 200, {"message": "node deregistered"}

    def drain(self, rq: Request) -> Reply:  # MarkDraining: status + deletes the node's replica rows
        if not self.st.set_status(rq.params["id"], "draining"):
            return 500, render.node_error(500, "failed to drain node")
        return 200, {"message": "node set to draining"}

    def resume(self, rq: Request) -> Reply:  # MarkHealthy: from ANY status; clears no cooldown
        if not self.st.set_status(rq.params["id"], "healthy"):
            return 500, render.node_error(500, "failed to resume node")
        return 200, {"message": "node resumed"}

    def approve(self, rq: Request) -> Reply:  # ApproveNode: pending -> healthy, clears cooldowns
        n = self.st.nodes.get(rq.params["id"])
        if n is None or n.status != "pending":
            return 400, render.node_error(400, "failed to approve node")
        self.st.set_status(n.id, "healthy")
        self.st.clear_all_unsatisfiable()
        return 200, {"id": n.id, "message": "node approved", "name": n.name, "node_type": n.node_type,
                     "status": n.status}

    def unload(self, rq: Request) -> Reply:
        """UnloadModelOnNodeEndpoint: NATS model.unload to the worker (no responder for an unknown
        node or a dead worker -> 500), then every replica row of that model on the node goes."""
        try:
            name = rq.struct({"model_name": "str"}).get("model_name", "")
        except BindError:
            name = ""
        if not name:
            return 400, render.node_error(400, "model_name required")
        if not self.worker_alive(rq.params["id"]):
            return 500, render.node_error(500, "failed to unload model on node")
        self.st.delete_replicas(rq.params["id"], name)
        return 200, {"message": "model unloaded"}

    # -- labels --------------------------------------------------------------------------------
    def get_labels(self, rq: Request) -> Reply:  # unknown node: {} (no existence check)
        return 200, sorted_map(self.st.labels.get(rq.params["id"]))

    def put_labels(self, rq: Request) -> Reply:
        """SetNodeLabels deletes EVERY label (node.name / node.replica-slots too) and writes the
        bound map, which includes "id" (see Request.string_map); answers that map."""
        if rq.params["id"] not in self.st.nodes:
            return 404, render.node_error(404, "node not found")
        labels = rq.string_map()
        self.st.set_labels(rq.params["id"], labels)
        return 200, None if labels is None else sorted_map(labels)

    def patch_labels(self, rq: Request) -> Reply:
        if rq.params["id"] not in self.st.nodes:
            return 404, render.node_error(404, "node not found")
        for key, value in (rq.string_map() or {}).items():
            self.st.set_label(rq.params["id"], key, value)
        return 200, sorted_map(self.st.labels.get(rq.params["id"]))

    def delete_label(self, rq: Request) -> Reply:  # no node check: 204 for anything
        self.st.remove_label(rq.params["id"], rq.params["key"])
        return 204, NO_CONTENT

    def put_max_replicas(self, rq: Request) -> Reply:  # UpdateMaxReplicasPerModelEndpoint
        n = self.st.nodes.get(rq.params["id"])
        if n is None:
            return 404, render.node_error(404, "node not found")
        value = rq.struct({"value": "int"}).get("value", 0)
        if value < 1:
            return 400, render.node_error(400, "value must be >= 1")
        n.max_replicas_per_model, n.max_replicas_per_model_manually_set = value, True
        self.st.set_label(n.id, "node.replica-slots", str(value))  # also clears cooldowns
        return 200, {"max_replicas_per_model": value}

    def reset_max_replicas(self, rq: Request) -> Reply:
        n = self.st.nodes.get(rq.params["id"])
        if n is None:
            return 404, render.node_error(404, "node not found")
        n.max_replicas_per_model_manually_set = False
        return 200, {"reset": True}

    # -- scheduling rows -----------------------------------------------------------------------
    def list_rows(self, rq: Request) -> Reply:  # ListModelSchedulings: ORDER BY model_name ASC
        return 200, [render.row(r) for _, r in sorted(self.st.rows.items())]

    def get_row(self, rq: Request) -> Reply:
        stored = self.st.rows.get(rq.params["model"])
        if stored is None:
            return 404, render.node_error(404, "no scheduling config for model")
        return 200, render.row(stored)

    def set_row(self, rq: Request) -> Reply:
        status, result = set_scheduling(self.st, rq.struct(REQUEST_FIELDS))
        if isinstance(result, dict):
            return status, render.node_error(status, result["message"])
        return 200, render.row(result)

    def delete_row(self, rq: Request) -> Reply:  # 204 even when absent; unloads nothing
        self.st.rows.pop(rq.params["model"], None)
        return 204, NO_CONTENT


def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, part in enumerate(pattern):
        if part.endswith("+"):  # a route-final param: Echo lets it take the rest of the path
            rest = "/".join(segments[i:])
            if not rest:
                return None
            params[part[1:-1]] = rest
            return params
        if i >= len(segments):
            return None
        if part.startswith(":"):
            if not segments[i]:
                return None
            params[part[1:]] = segments[i]
        elif part != segments[i]:
            return None
    return params if len(segments) == len(pattern) else None
