"""Pure translators: Nomad JSON (node stubs, job stubs, allocations) -> typed observed data.

No I/O and no python-nomad here; every function is tested from captured payloads.
Also owns the job ID for a model name (an encoding that must be exactly right). The
node filter, stub-field matching and job scopes are `nodeindex`'s.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelsched.drivers.nomad.nodeindex import STUB_KEYS
from modelsched.errors import ConfigError
from modelsched.model.cluster import Node

# Meta keys we accept in selectors: they end up in `${meta.<key>}`, so no `$`, braces, spaces.
SAFE_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")  # use with fullmatch
_PREFIX = re.compile(r"[A-Za-z0-9._\-]*")
# Ownership Meta: the only Meta modelsched writes. Both values never change for a model:
# any Meta change is a destructive update that restarts every allocation (NOMAD.md
# "Destructive vs in-place"), so nothing that changes (spec hash, node set) goes here.
META_MANAGED = "modelsched_managed"
META_MODEL = "modelsched_model"
# Client statuses that are over (NOMAD.md "Allocations").
TERMINAL = frozenset({"complete", "failed", "lost"})
ALLOC_FILTER = (
    'DesiredStatus == "run" and ClientStatus != "complete" and ClientStatus != "failed" and ClientStatus != "lost"'
)


def stub_labels(stub: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(stub.get(field_) or "") for key, field_ in STUB_KEYS.items()}


def node_from_stub(stub: Mapping[str, Any], labels: Mapping[str, str]) -> Node:
    """A node stub plus the selector pairs known to hold on it -> Node.

    Healthy = ready, eligible, not draining (Node.healthy); Nomad's `Drain` flag
    maps to `draining`.
    """
    return Node(
        id=str(stub["ID"]),
        name=str(stub.get("Name") or stub["ID"]),
        labels=dict(sorted({**stub_labels(stub), **labels}.items())),
        status=str(stub.get("Status") or "initializing"),
        eligible=stub.get("SchedulingEligibility", "eligible") == "eligible",
        draining=bool(stub.get("Drain")),
    )


def job_pool(selector: Mapping[str, str], node_pool: str | None) -> str:
    """The node pool a model's job runs in: the selector's `node.pool`, else the
    configured `nomad.node_pool`, else Nomad's built-in pool of every node, `all`."""
    return selector.get("node.pool") or node_pool or "all"


def job_id_for(prefix: str, model: str) -> str:
    """Job ID for a model: prefix + model, characters outside [A-Za-z0-9._-] replaced by '-'
    and runs of dots by dashes (a job ID `..` would address the parent URL path).

    When anything was replaced, a short hash of the model name is appended so two
    models never share a job (e.g. "a/b" and "a:b").
    """
    if not _PREFIX.fullmatch(prefix):
        # python-nomad puts the job ID in the URL path unescaped: `/`, `?`, `#` would reach
        # another endpoint. Model names are sanitised below; the prefix must already be safe.
        raise ConfigError([f"nomad.job_name_prefix {prefix!r}: use letters, digits, '.', '_' and '-' only"])
    safe = re.sub(r"\.\.+", lambda m: "-" * len(m.group()), re.sub(r"[^A-Za-z0-9._\-]", "-", model))
    if safe != model:
        safe += "-" + hashlib.sha256(model.encode()).hexdigest()[:8]
    return prefix + safe


@dataclass(frozen=True)
class JobInfo:
    """What the job list tells us about one job (stub with meta=true)."""

    id: str
    model: str | None  # the model it is managed for, None when not ours
    type: str
    modify_index: int
    # `nomad job stop` (Stop flag): the job must be registered again. A service job whose
    # count is 0 has Status `dead` once its evaluations finish: that is its steady state,
    # not a stopped job (state_store.go getJobStatus).
    stopped: bool


def job_info(stub: Mapping[str, Any]) -> JobInfo:
    meta = stub.get("Meta") or {}
    ours = isinstance(meta, dict) and meta.get(META_MANAGED) == "true" and bool(meta.get(META_MODEL))
    return JobInfo(
        id=str(stub["ID"]),
        model=str(meta[META_MODEL]) if ours else None,
        type=str(stub.get("Type") or "service"),
        modify_index=int(stub.get("JobModifyIndex") or 0),
        stopped=bool(stub.get("Stop")),
    )


@dataclass
class Ownership:
    """Jobs sorted by who owns them: `managed` job ID -> model; `blocked` model -> reason."""

    managed: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, JobInfo] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)


def classify_jobs(
    stubs: Iterable[Mapping[str, Any]], listed: Mapping[str, str], *, adopt: bool, address: str
) -> Ownership:
    """Which jobs modelsched manages. `listed` maps each listed model to its job ID.

    A job is managed when its Meta says so (and for which model). A listed model whose
    job ID is taken by a job that is not ours (or is another model's) is blocked unless
    `adopt`, which manages the job from now on (the next register writes our Meta).
    """
    out = Ownership()
    by_id = {str(s["ID"]): job_info(s) for s in stubs if "ID" in s}
    wanted = {job_id: model for model, job_id in listed.items()}
    for job_id, info in sorted(by_id.items()):
        out.jobs[job_id] = info
        model = wanted.get(job_id)
        if info.model is not None and (model is None or info.model == model):
            out.managed[job_id] = info.model
        elif model is not None:
            if adopt:
                out.managed[job_id] = model
            else:
                whose = f"model {info.model!r}'s" if info.model else "not modelsched's (no modelsched Meta)"
                out.blocked[model] = (
                    f"Nomad job {job_id} at {address} exists and is {whose}; it is left alone. "
                    "Rename the model, remove that job, or re-run with --adopt to manage it"
                )
    return out


def replicas_from_allocs(
    allocs: Iterable[Mapping[str, Any]], managed: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(model, node ID, alloc ID) for each live allocation of a managed job, sorted by
    model, then allocation name index, then ID (a stable, deterministic order)."""
    out: list[tuple[str, int, str, str]] = []
    for a in allocs:
        model = managed.get(str(a.get("JobID")))
        if model is None or a.get("DesiredStatus", "run") != "run" or a.get("ClientStatus") in TERMINAL:
            continue
        out.append((model, _name_index(str(a.get("Name", ""))), str(a["ID"]), str(a.get("NodeID", ""))))
    out.sort()
    return [(m, node, alloc) for m, _, alloc, node in out]


def _name_index(name: str) -> int:
    m = re.search(r"\[(\d+)\]$", name)
    return int(m.group(1)) if m else 0


def fingerprint(
    stubs: Iterable[Mapping[str, Any]],
    matches: Mapping[str, Iterable[str]],
    jobs: Iterable[JobInfo],
    replicas: Iterable[tuple[str, str, str]],
) -> str:
    """sha256 over what the plan depends on: node identity/health/stub labels, which nodes
    each selector matched, every listed job's (ID, modify index, owner) and live allocations.

    JobModifyIndex moves only on spec changes and never on node events (NOMAD.md), so
    the node part is what makes a per-node plan go stale on joins, leaves and relabels.
    """
    doc = {
        "nodes": sorted(
            [
                str(s.get("ID")),
                str(s.get("Name")),
                str(s.get("Status")),
                str(s.get("SchedulingEligibility")),
                bool(s.get("Drain")),
                *stub_labels(s).values(),
            ]
            for s in stubs
        ),
        "matches": {k: sorted(v) for k, v in sorted(matches.items())},
        "jobs": sorted([j.id, j.modify_index, j.model or ""] for j in jobs),
        "allocs": sorted([m, n, a] for m, n, a in replicas),
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
