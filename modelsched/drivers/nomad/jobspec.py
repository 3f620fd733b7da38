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
  node IDs. With no planned node there is no valid pin (Nomad refuses an empty
  RTarget): the job is rendered without it and prepare never registers it (it purges
  the job instead). A service job cannot pin: a count decrease stops the highest-index
  allocation whatever its node. With a system job a constraint change is in place on
  nodes that still satisfy it, so untouched replicas keep their allocation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelsched.drivers.nomad import jobschema
from modelsched.drivers.nomad.nodeindex import STUB_KEYS
from modelsched.drivers.nomad.template import Template, render_template
from modelsched.drivers.nomad.translate import META_MANAGED, META_MODEL, SAFE_KEY, job_pool
from modelsched.errors import ConfigError
from modelsched.model.entry import Desired, Entry

# Fields modelsched sets; a template that sets them is overridden (and told so in docs).
STUB_TARGETS = {"node.class": "${node.class}", "node.datacenter": "${node.datacenter}", "node.pool": "${node.pool}"}
NODE_ID_RE = re.compile(r"[A-Za-z0-9\-]+")  # use with fullmatch


def placement_of(entry: Entry, desired: Desired) -> str:
    """The model's placement: its own, else the config's `nomad.placement` (plan and
    render read it here, so the jobs they render agree)."""
    return entry.placement or desired.settings.nomad.placement


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
    # Bounded scheduler mode, `max_replicas: 0` (unbounded): the scaling max to write. None:
    # the matching-node count. Prepare passes the live job's max when it still fits, so a
    # node joining does not rewrite the job.
    scaling_max: int | None = None


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
        if value == "":
            problems.append(
                f"model {entry.model_name!r}: node_selector {key!r} has an empty value; a Nomad constraint "
                "needs a value to compare with"
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


def pin_constraint(node_ids: Iterable[str]) -> dict[str, str] | None:
    """`${node.unique.id}` set_contains_any the IDs; None for no IDs (Nomad refuses an
    empty RTarget: `Set contains constraint requires an RTarget`)."""
    ids = sorted(set(node_ids))
    for i in ids:
        if not NODE_ID_RE.fullmatch(i):  # set_contains_any splits on commas: IDs must be plain
            raise ConfigError([f"cannot pin to node ID {i!r}: not a Nomad node ID"])
    if not ids:
        return None
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
    # model's matching nodes to the same scope (nodeindex.job_scope), so plans converge.
    pool = job_pool(entry.node_selector, p.node_pool)
    for key, value in (("Namespace", p.namespace), ("Region", p.region), ("NodePool", pool)):
        if value:
            job[key] = value
        else:
            job.pop(key, None)
    meta = dict(job.get("Meta") or {})
    meta.update({META_MANAGED: "true", META_MODEL: entry.model_name})
    constraints = list(job.get("Constraints") or []) + selector_constraints(entry.node_selector)
    group = groups[0]
    group_constraints = [c for c in group.get("Constraints") or [] if c.get("Operand") != "distinct_hosts"]
    group.pop("Scaling", None)
    if p.placement == "pinned":
        pin = pin_constraint(p.pinned_nodes)
        if pin is not None:
            constraints.append(pin)
        group["Count"] = 1  # system jobs: one allocation per eligible node
    elif kind == "system":
        group["Count"] = 1
    else:
        group["Count"] = p.count
        group_constraints.append({"LTarget": "", "RTarget": "true", "Operand": "distinct_hosts"})
        # Scaling needs min <= count <= max (NOMAD.md); min above what fits is capped
        # at the count (the plan warns about the shortfall).
        upper = entry.max_replicas or p.scaling_max or max(p.matching, p.count, 1)
        group["Scaling"] = {"Min": min(entry.min_replicas, p.count), "Max": max(upper, p.count), "Enabled": True}
    group["Constraints"] = group_constraints or None
    if group["Constraints"] is None:
        del group["Constraints"]
    if constraints:
        job["Constraints"] = constraints
    else:
        job.pop("Constraints", None)  # Nomad reads an empty list back as null
    job["Meta"] = meta
    jobschema.check_job(job, template.name, entry.model_name)
    return job
