"""Nomad HTTP API endpoints over the simulated state: routing, JSON shapes, ACL namespaces.

Owns which path answers what, the stub vs full shapes (PascalCase keys), list filters
(`namespace`, `prefix`, `filter`), namespace-scoped ACL checks and the error statuses of
command/agent/http.go `wrap` (RPC errors 500, coded errors their code, "Permission
denied" 403). Job endpoints are in api_jobs.py. It must not deal with sockets or fault
injection (see server.py). Errors are plain text, as Nomad's.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.nomadsim.api_jobs import JobsApi
from tests.nomadsim.bexpr import FilterError, compile_filter
from tests.nomadsim.state import CodedError, RegisterError, State

Query = dict[str, list[str]]
Reply = tuple[int, Any]  # (status, JSON body or plain-text str for errors)
Allowed = Callable[[str], bool]  # may the request's token use this namespace?

NODE_STUB_KEYS = (
    "ID", "Name", "Datacenter", "NodeClass", "NodePool", "Status", "StatusDescription", "SchedulingEligibility",
    "Drain", "Address", "Version", "CreateIndex", "ModifyIndex",
)
PERMISSION_DENIED = "Permission denied"  # structs.ErrPermissionDenied


def param(query: Query, name: str, default: str = "") -> str:
    return query.get(name, [default])[0]


def flag(query: Query, name: str) -> bool:
    # Nomad parses booleans with Go's strconv.ParseBool; python-nomad sends "True".
    return param(query, name) in ("1", "t", "T", "true", "TRUE", "True")


def filtered(items: list[dict[str, Any]], query: Query) -> list[Any]:
    prefix = param(query, "prefix")
    items = [item for item in items if str(item.get("ID", "")).startswith(prefix)]
    text = param(query, "filter")
    if text:
        try:
            predicate = compile_filter(text)
        except FilterError as err:
            # NewPaginator error, coded 400: "%s: %v" with structs.ErrResultPaginatorCreation.
            raise CodedError(400, f"failed to create result paginator: {err}") from None
        items = [item for item in items if predicate(item)]
    return items


def clean(alloc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in alloc.items() if not key.startswith("_")}


class Api(JobsApi):
    def __init__(self, state: State) -> None:
        self.state = state
        self.rpc_prefix = ""  # "rpc error: " when answering through a client agent / non-leader
        self.allowed: Allowed = lambda namespace: True
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("GET", re.compile(r"/v1/agent/self"), self.agent_self),
            ("GET", re.compile(r"/v1/nodes"), self.list_nodes),
            ("GET", re.compile(r"/v1/node/([^/]+)"), self.get_node),
            ("GET", re.compile(r"/v1/node/([^/]+)/allocations"), self.node_allocs),
            ("GET", re.compile(r"/v1/allocations"), self.list_allocs),
            ("GET", re.compile(r"/v1/allocation/([^/]+)"), self.get_alloc),
            ("POST", re.compile(r"/v1/allocation/([^/]+)/stop"), self.stop_alloc),
            ("PUT", re.compile(r"/v1/allocation/([^/]+)/stop"), self.stop_alloc),
            ("GET", re.compile(r"/v1/evaluations"), self.list_evals),
            ("GET", re.compile(r"/v1/evaluation/([^/]+)"), self.get_eval),
            ("GET", re.compile(r"/v1/status/leader"), lambda q, b: "127.0.0.1:4647"),
            *self.job_routes(),
        ]

    def handle(self, method: str, path: str, query: Query, body: bytes, allowed: Allowed | None = None) -> Reply:
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                args = [unquote(group) for group in match.groups()]
                try:
                    with self.state.lock:
                        self.allowed = allowed or (lambda namespace: True)
                        result = handler(query, body, *args)
                        self.state.promote_pending()  # continue rollouts the write may have started
                        return 200, result
                except CodedError as err:
                    return err.status, err.text  # coded errors are never wrapped (helper/pool)
                except RegisterError as err:
                    return 500, f"{self.rpc_prefix}{err}"  # plain RPC errors: 500, wrapped when forwarded
        if any(pattern.fullmatch(path) for _, pattern, _ in self.routes):
            return 405, "Invalid method"
        return 404, "404 page not found"

    def namespace(self, query: Query) -> str:
        return param(query, "namespace", "default") or "default"

    def check(self, namespace: str) -> None:
        if not self.allowed(namespace):
            raise CodedError(403, PERMISSION_DENIED)

    def scoped(self, query: Query, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A namespaced list: `*` lists the namespaces the token may read, else the one asked for."""
        namespace = self.namespace(query)
        if namespace != "*":
            self.check(namespace)
        return [i for i in items if (namespace == "*" and self.allowed(i["Namespace"])) or i["Namespace"] == namespace]

    # -- agent and nodes ---------------------------------------------------------
    def agent_self(self, query: Query, body: bytes) -> dict[str, Any]:
        """agentSelf (command/agent/agent_endpoint.go): config.Version is a version.VersionInfo,
        member.Tags["build"] the version number (server.go setupSerf)."""
        version = self.state.version
        number, _, pre = version.partition("-")
        return {
            "config": {"Version": {"Version": number, "VersionPrerelease": pre, "VersionMetadata": "",
                                   "Revision": "0000000", "BuildDate": "2025-01-01T00:00:00Z"},
                       "Region": "global", "Datacenter": "dc1", "ACL": {"Enabled": False}},
            "member": {"Name": "nomadsim.global", "Addr": "127.0.0.1", "Port": 4648, "Status": "alive",
                       "Tags": {"build": version, "region": "global", "dc": "dc1", "role": "nomad"}},
            "stats": {"nomad": {"leader": "true", "server": "true"}},
        }

    def list_nodes(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        nodes = sorted(self.state.nodes.values(), key=lambda n: n["ID"])
        # `filter` runs on the full node; the stub has no Meta.
        nodes = filtered(nodes, query)
        return [{key: node.get(key) for key in NODE_STUB_KEYS} for node in nodes]

    def node(self, node_id: str) -> dict[str, Any]:
        if node_id not in self.state.nodes:
            raise CodedError(404, "node not found")
        return self.state.nodes[node_id]

    def get_node(self, query: Query, body: bytes, node_id: str) -> dict[str, Any]:
        return {k: v for k, v in copy.deepcopy(self.node(node_id)).items() if not k.startswith("_")}

    def node_allocs(self, query: Query, body: bytes, node_id: str) -> list[dict[str, Any]]:
        self.node(node_id)
        return [clean(a) for a in self.sorted_allocs() if a["NodeID"] == node_id and self.allowed(a["Namespace"])]

    # -- allocations and evaluations -------------------------------------------
    def sorted_allocs(self) -> list[dict[str, Any]]:
        return sorted(self.state.allocs.values(), key=lambda a: (a["CreateIndex"], a["Name"], a["ID"]))

    def list_allocs(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        return filtered(self.scoped(query, [clean(a) for a in self.sorted_allocs()]), query)

    def alloc(self, alloc_id: str) -> dict[str, Any]:
        if alloc_id not in self.state.allocs:
            raise CodedError(404, "alloc not found")
        alloc = self.state.allocs[alloc_id]
        self.check(alloc["Namespace"])  # Alloc.GetAlloc / Alloc.Stop check the alloc's namespace
        return alloc

    def get_alloc(self, query: Query, body: bytes, alloc_id: str) -> dict[str, Any]:
        alloc = clean(self.alloc(alloc_id))
        alloc["Job"] = copy.deepcopy(self.state.alloc_job(alloc))
        return alloc

    def stop_alloc(self, query: Query, body: bytes, alloc_id: str) -> dict[str, Any]:
        """alloc_endpoint.go Alloc.Stop: DesiredTransition.Migrate=true plus an `alloc-stop` evaluation.
        The reconciler then migrates it: a service alloc is replaced (same name, any feasible node); a
        system alloc is stopped and not replaced until a later evaluation of the job."""
        alloc = self.alloc(alloc_id)
        key = (alloc["Namespace"], alloc["JobID"])
        alloc.update(_migrate=True, ModifyIndex=self.state.bump())
        if key not in self.state.jobs:
            return {"EvalID": "", "Index": self.state.index}
        evaluation = self.state.evaluate(key, "alloc-stop")
        return {"EvalID": evaluation["ID"], "Index": evaluation["CreateIndex"]}

    def list_evals(self, query: Query, body: bytes) -> list[dict[str, Any]]:
        evals = sorted(copy.deepcopy(list(self.state.evals.values())), key=lambda e: -e["CreateIndex"])
        return filtered(self.scoped(query, evals), query)

    def get_eval(self, query: Query, body: bytes, eval_id: str) -> dict[str, Any]:
        """eval_endpoint.go GetEval: the request's namespace must be readable, then the eval's."""
        self.check(self.namespace(query))
        if eval_id not in self.state.evals:
            raise CodedError(404, "eval not found")
        evaluation = self.state.evals[eval_id]
        self.check(evaluation["Namespace"])
        return copy.deepcopy(evaluation)
