"""Observe a Nomad cluster within a fixed request budget.

Requests: `GET /v1/nodes` (1) + one filtered `GET /v1/nodes?filter=...` per distinct
selector that uses Meta keys (node Meta is not in the stub: NOMAD.md "Nodes"; a
`node.class`/`node.datacenter`/`node.pool`-only selector is answered from the stubs)
+ `GET /v1/jobs?meta=true&prefix=...` (1) + `GET /v1/allocations?filter=...` (1, only
when some job is managed). Never one request per node or per model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from modelsched.drivers.nomad import translate
from modelsched.drivers.nomad.client import NomadClient
from modelsched.model.cluster import Notice, Observed
from modelsched.model.entry import Desired

Selector = tuple[tuple[str, str], ...]


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
    """The observed state plus the Nomad details prepare and apply need."""

    observed: Observed
    ownership: translate.Ownership


def _matches(client: NomadClient, stubs: list[dict[str, object]], selectors: Iterable[Selector]) -> dict[str, set[str]]:
    """Selector text -> IDs of nodes carrying every pair."""
    out: dict[str, set[str]] = {}
    for sel in selectors:
        selector = dict(sel)
        by_stub = {str(s["ID"]) for s in stubs if translate.stub_matches(s, selector)}
        expr = translate.selector_filter(selector)
        if expr is not None:
            by_stub &= {str(n["ID"]) for n in client.nodes(expr) if "ID" in n}
        out[repr(sel)] = by_stub
    return out


def observe(client: NomadClient, query: Query) -> Snapshot:
    stubs = [s for s in client.nodes() if "ID" in s]
    matches = _matches(client, stubs, query.selectors)
    labels: dict[str, dict[str, str]] = {}
    for sel in query.selectors:
        for node_id in matches[repr(sel)]:
            labels.setdefault(node_id, {}).update(sel)
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
    scope_of = {spec: translate.job_scope(stubs, *spec) for spec in set(query.scopes.values())}
    scopes = {m: scope_of[spec] for m, spec in query.scopes.items()}
    observed = Observed(
        nodes=tuple(nodes),
        replicas=by_model,
        fingerprint=fp,
        blocked=dict(ownership.blocked),
        notices=tuple(notices),
        replica_ids=ids,
        scopes={m: scope for m, scope in scopes.items() if scope is not None},
    )
    return Snapshot(observed, ownership)
