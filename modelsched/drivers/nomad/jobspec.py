"""A model's Nomad job: template body + the placement fields modelsched owns.

The template owns the tasks (image, resources, env); this module owns everything that
decides placement and ownership, so label values never pass through a template:
ID/Name, Type, Datacenters, NodePool, Namespace/Region, ownership Meta, the selector
constraints, pinning, Count, `distinct_hosts` and the `scaling` block. It also checks
that no value can inject into constraints or `${...}` interpolation, validates the job
against `jobschema`, hashes the spec, and compares it with a running job. Pure.

Modes (NOMAD.md "Jobs"):
- spread, scheduler-chosen: system job + selector constraints: Nomad follows nodes
  joining and leaving by itself.
- bounded, scheduler-chosen: service job, `count` = planned target, selector
  constraints, `distinct_hosts`, group `scaling {min, max}` for the autoscaler.
- pinned (either mode): system job + `${node.unique.id}` set_contains_any the planned
  node IDs. A service job cannot pin: a count decrease stops the highest-index
  allocation whatever its node. With a system job a constraint change is in place on
  nodes that still satisfy it, so untouched replicas keep their allocation.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from modelsched.drivers.nomad import jobschema
from modelsched.drivers.nomad.template import Template, render_template
from modelsched.drivers.nomad.translate import (
    META_HASH,
    META_MANAGED,
    META_MODE,
    META_MODEL,
    SAFE_KEY,
    STUB_KEYS,
    job_pool,
)
from modelsched.errors import ConfigError
from modelsched.model.entry import Entry

# Fields modelsched sets; a template that sets them is overridden (and told so in docs).
STUB_TARGETS = {"node.class": "${node.class}", "node.datacenter": "${node.datacenter}", "node.pool": "${node.pool}"}
NODE_ID_RE = re.compile(r"[A-Za-z0-9\-]+")  # use with fullmatch


@dataclass(frozen=True)
class JobParams:
    """Everything placement needs besides the entry and template."""

    job_id: str
    namespace: str | None
    region: str | None
    datacenters: tuple[str, ...]
    node_pool: str | None
    placement: str  # "scheduler" | "pinned"
    count: int  # bounded scheduler mode: the planned target
    matching: int  # matching healthy nodes (explicit scaling max for max_replicas 0)
    pinned_nodes: tuple[str, ...] = ()


def unsafe_values(entry: Entry) -> list[str]:
    """Problems that would let data become Nomad syntax: `${` anywhere Nomad interpolates,
    selector keys outside the safe pattern (they end up in `${meta.<key>}`)."""
    problems = []
    if "${" in entry.model_name:
        problems.append(f"model {entry.model_name!r}: the name contains '${{', which Nomad would interpolate")
    for key, value in sorted(entry.node_selector.items()):
        if key not in STUB_KEYS and not SAFE_KEY.fullmatch(key):
            problems.append(
                f"model {entry.model_name!r}: node_selector key {key!r} cannot be a Nomad meta key "
                "(letters, digits, '_', '.', '-' only)"
            )
        if "${" in value:
            problems.append(
                f"model {entry.model_name!r}: node_selector value {value!r} for {key!r} contains '${{', "
                "which Nomad would interpolate in a constraint"
            )
    return problems


def selector_constraints(selector: Mapping[str, str]) -> list[dict[str, str]]:
    out = []
    for key, value in sorted(selector.items()):
        target = STUB_TARGETS.get(key) or "${meta." + key + "}"
        out.append({"LTarget": target, "RTarget": value, "Operand": "="})
    return out


def pin_constraint(node_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(node_ids))
    for i in ids:
        if not NODE_ID_RE.fullmatch(i):  # set_contains_any splits on commas: IDs must be plain
            raise ConfigError([f"cannot pin to node ID {i!r}: not a Nomad node ID"])
    if not ids:
        # Nothing planned: a constraint no node meets (node IDs are never empty).
        return {"LTarget": "${node.unique.id}", "RTarget": "", "Operand": "="}
    return {"LTarget": "${node.unique.id}", "RTarget": ",".join(ids), "Operand": "set_contains_any"}


def job_type(entry: Entry, placement: str) -> str:
    return "system" if entry.spread or placement == "pinned" else "service"


def build_job(entry: Entry, template: Template, p: JobParams) -> dict[str, Any]:
    problems = unsafe_values(entry)
    if problems:
        raise ConfigError(problems)
    job = render_template(template, entry, p.job_id)
    groups = job.get("TaskGroups")
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        raise ConfigError(
            [f"job template {template.name}: model {entry.model_name!r}: TaskGroups must hold exactly one group"]
        )
    kind = job_type(entry, p.placement)
    job["ID"] = job["Name"] = p.job_id
    job["Type"] = kind
    job["Datacenters"] = list(p.datacenters)
    # Jobs only run in their node pool and datacenters (NOMAD.md); observe narrows each
    # model's matching nodes to the same scope (translate.job_scope), so plans converge.
    pool = job_pool(entry.node_selector, p.node_pool)
    for key, value in (("Namespace", p.namespace), ("Region", p.region), ("NodePool", pool)):
        if value:
            job[key] = value
        else:
            job.pop(key, None)
    meta = dict(job.get("Meta") or {})
    meta.update({META_MANAGED: "true", META_MODEL: entry.model_name, META_MODE: f"{entry.mode}/{p.placement}"})
    constraints = list(job.get("Constraints") or []) + selector_constraints(entry.node_selector)
    group = groups[0]
    group_constraints = [c for c in group.get("Constraints") or [] if c.get("Operand") != "distinct_hosts"]
    group.pop("Scaling", None)
    if p.placement == "pinned":
        constraints.append(pin_constraint(p.pinned_nodes))
        meta["modelsched_pinned_nodes"] = str(len(set(p.pinned_nodes)))
        group["Count"] = 1  # system jobs: one allocation per eligible node
    elif kind == "system":
        group["Count"] = 1
    else:
        group["Count"] = p.count
        group_constraints.append({"LTarget": "", "RTarget": "true", "Operand": "distinct_hosts"})
        # Scaling needs min <= count <= max (NOMAD.md); min above what fits is capped
        # at the count (the plan warns about the shortfall).
        upper = entry.max_replicas or max(p.matching, p.count, 1)
        if not entry.max_replicas:
            meta["modelsched_scaling_max"] = f"unbounded: set to {upper} (matching nodes at plan time)"
        group["Scaling"] = {"Min": min(entry.min_replicas, p.count), "Max": max(upper, p.count), "Enabled": True}
    group["Constraints"] = group_constraints or None
    if group["Constraints"] is None:
        del group["Constraints"]
    job["Constraints"] = constraints
    meta.pop(META_HASH, None)
    job["Meta"] = meta
    jobschema.check_job(job, template.name, entry.model_name)
    job["Meta"][META_HASH] = spec_hash(job)
    return job


def spec_hash(job: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the job without the hash itself."""
    clean = copy.deepcopy(dict(job))
    clean["Meta"] = {k: v for k, v in (clean.get("Meta") or {}).items() if k != META_HASH}
    blob = json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def _project(ours: Any, theirs: Any) -> Any:
    """`theirs` restricted to the shape of `ours`: server-filled defaults (fields we do not
    emit) disappear, so only fields we render are compared."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return theirs
        return {k: _project(v, theirs[k]) for k, v in ours.items() if k in theirs}
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [_project(a, b) for a, b in zip(ours, theirs, strict=True)]
    return theirs


def differs(rendered: Mapping[str, Any], running: Mapping[str, Any]) -> list[str]:
    """Paths where the running job differs from the rendered one (ignoring server defaults
    and our spec hash). Empty = registering would change nothing: skip it."""
    if running.get("Stop"):
        return ["root['Stop']"]  # a stopped job must be registered again, whatever its spec
    ours = dict(rendered)
    theirs = _project(ours, dict(running))
    diff = DeepDiff(
        ours,
        theirs,
        exclude_paths=[f"root['Meta']['{META_HASH}']"],
        ignore_order=False,
    )
    paths: list[str] = []
    for kind in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed",
                 "iterable_item_added", "iterable_item_removed"):
        paths.extend(str(x) for x in diff.get(kind, []))
    return sorted(paths)
