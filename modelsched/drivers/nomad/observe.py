"""Observe a Nomad cluster within a fixed request budget, on a server new enough.

Requests: `GET /v1/agent/self` (1: the version, checked against `MIN_VERSION`; a token
without `agent:read` gets `GET /v1/agent/members` instead) + `GET /v1/nodes` (1) + one
filtered `GET /v1/nodes?filter=...` per distinct selector that uses Meta keys (node Meta
is not in the stub: NOMAD.md "Nodes"; a `node.class`/`node.datacenter`/`node.pool`-only
selector is answered from the stubs) + `GET /v1/jobs?meta=true&prefix=...` (1) +
`GET /v1/allocations?filter=...` (1, only when some job is managed). Never one request
per node or per model.

What prepare needs besides the `Observed` (job ownership, the connection and the
server's version) travels in `Observed.private` as a frozen `Snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from modelsched.drivers.nomad import nodeindex, translate
from modelsched.drivers.nomad.answers import Version
from modelsched.drivers.nomad.client import NomadClient
from modelsched.drivers.nomad.connection import Connection
from modelsched.errors import DriverError
from modelsched.model.cluster import Notice, Observed
from modelsched.model.entry import Desired

Selector = tuple[tuple[str, str], ...]

# Nomad 1.6.0: node pools (every rendered job names its NodePool, and a job's scope
# reads the stubs' NodePool; older servers drop the field silently and place anywhere).
# It also covers the job list's `meta=true` (1.5.0; without it every job looks unowned)
# and `*` in Datacenters (1.5.0).
MIN_VERSION: Version = (1, 6, 0)


def version_text(version: Version) -> str:
    return ".".join(str(v) for v in version)


@dataclass(frozen=True)
class Query:
    """What to observe; built from the config at plan time, from the plan file at apply time."""

    prefix: str
    listed: Mapping[str, str]  # model -> job ID
    selectors: tuple[Selector, ...]
    adopt: bool = False
    # model -> (node pool, datacenters) of its job: where it can be placed at all.
    scopes: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_desired(cls, desired: Desired, *, adopt: bool) -> Query:
        """Refuses (ConfigError, every model named) a selector Nomad's filter cannot express."""
        nodeindex.check_selectors({e.model_name: e.node_selector for e in desired.entries})
        prefix = desired.settings.nomad.job_name_prefix
        listed = {e.model_name: translate.job_id_for(prefix, e.model_name) for e in desired.entries}
        sels = {tuple(sorted(e.node_selector.items())) for e in desired.entries}
        nomad = desired.settings.nomad
        scopes = {
            e.model_name: (translate.job_pool(e.node_selector, nomad.node_pool), tuple(nomad.datacenters))
            for e in desired.entries
        }
        return cls(prefix=prefix, listed=listed, selectors=tuple(sorted(sels)), adopt=adopt, scopes=scopes)

    def to_data(self) -> dict[str, object]:
        return {
            "prefix": self.prefix,
            "listed": dict(sorted(self.listed.items())),
            "selectors": [[list(p) for p in s] for s in self.selectors],
            "adopt": self.adopt,
            "scopes": {m: [pool, list(dcs)] for m, (pool, dcs) in sorted(self.scopes.items())},
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Query:
        listed = data.get("listed") or {}
        sels = data.get("selectors") or []
        scopes = data.get("scopes") or {}
        assert isinstance(listed, dict) and isinstance(sels, list) and isinstance(scopes, dict)
        return cls(
            prefix=str(data.get("prefix", "")),
            listed={str(k): str(v) for k, v in listed.items()},
            selectors=tuple(tuple((str(k), str(v)) for k, v in s) for s in sels),
            adopt=bool(data.get("adopt")),
            scopes={str(m): (str(pool), tuple(str(d) for d in dcs)) for m, (pool, dcs) in scopes.items()},
        )


@dataclass(frozen=True)
class Snapshot:
    """What observe learnt besides the plain `Observed`: it travels in `Observed.private`.

    `observed` is the same observation without `private` (no reference cycle);
    `connection` is the one observe used (config defaults included) and
    `server_version` the lowest version of the region's alive servers."""

    observed: Observed
    ownership: translate.Ownership
    connection: Connection | None = None
    server_version: Version | None = None


def snapshot_of(observed: Observed) -> Snapshot:
    """The Snapshot a Nomad observe put in `observed.private` (DriverError otherwise)."""
    snap = observed.private
    if not isinstance(snap, Snapshot):
        raise DriverError("internal: the observed state was not made by the Nomad driver's observe")
    return snap


def check_version(version: Version, address: str) -> None:
    if version < MIN_VERSION:
        raise DriverError(
            f"Nomad at {address} runs version {version_text(version)}; modelsched needs Nomad "
            f">= {version_text(MIN_VERSION)} (node pools, job Meta in the job list). Nothing was read or changed"
        )


def _matches(
    client: NomadClient, stubs: list[dict[str, object]], selectors: tuple[Selector, ...]
) -> dict[str, set[str]]:
    """Selector text -> IDs of nodes carrying every pair: the stub fields from one index
    of the stubs, the Meta pairs from one filtered request per distinct selector."""
    by_stub = nodeindex.by_stub_fields(stubs, selectors)
    out: dict[str, set[str]] = {}
    for sel in selectors:
        found = by_stub[sel]
        expr = nodeindex.meta_filter(dict(sel))
        if expr is not None:
            found = found & {str(n["ID"]) for n in client.nodes(expr)}
        out[repr(sel)] = found
    return out


def observe(client: NomadClient, query: Query) -> Observed:
    """The cluster as `query` needs it; `private` holds the Snapshot."""
    version = client.server_version()
    check_version(version, client.conn.address)
    stubs = client.nodes()
    matches = _matches(client, stubs, query.selectors)
    labels: dict[str, dict[str, str]] = {}
    for sel in query.selectors:
        pairs = dict(sel)
        for node_id in matches[repr(sel)]:
            got = labels.get(node_id)
            if got is None:
                labels[node_id] = dict(pairs)
            else:
                got.update(pairs)
    nodes = sorted(
        (translate.node_from_stub(s, labels.get(str(s["ID"]), {})) for s in stubs), key=lambda n: (n.name, n.id)
    )
    ownership = translate.classify_jobs(
        client.jobs(query.prefix), query.listed, adopt=query.adopt, address=client.conn.address
    )
    allocs = client.allocations(translate.ALLOC_FILTER) if ownership.managed else []
    replicas = translate.replicas_from_allocs(allocs, ownership.managed)
    relevant = [j for j in ownership.jobs.values() if j.id in ownership.managed or j.id in query.listed.values()]
    fp = translate.fingerprint(stubs, matches, relevant, replicas)
    notices = []
    seen: dict[str, str] = {}
    for n in nodes:
        if n.id in seen:
            notices.append(Notice("warning", f"duplicate node ID {n.id} ({seen[n.id]}, {n.name})"))
        seen[n.id] = n.name
    by_model: dict[str, list[str]] = {}
    ids: dict[str, list[str]] = {}
    for model, node, alloc in replicas:
        by_model.setdefault(model, []).append(node)
        ids.setdefault(model, []).append(alloc)
    # One pass over the nodes per distinct (pool, datacenters), shared by its models.
    scope_of = {spec: nodeindex.job_scope(stubs, *spec) for spec in set(query.scopes.values())}
    scopes = {m: scope_of[spec] for m, spec in query.scopes.items()}
    plain = Observed(
        nodes=tuple(nodes),
        replicas=by_model,
        fingerprint=fp,
        blocked=dict(ownership.blocked),
        notices=tuple(notices),
        replica_ids=ids,
        scopes={m: scope for m, scope in scopes.items() if scope is not None},
    )
    return replace(plain, private=Snapshot(plain, ownership, client.conn, version))
