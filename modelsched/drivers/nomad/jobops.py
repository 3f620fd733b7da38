"""The Nomad driver's plan data: typed per-job operations, encoded and decoded in one place.

A saved plan is untrusted input (it travels as a CI artifact). `decode` is the only
reader of `plan.driver_data`: it validates the whole shape strictly (unknown keys,
wrong types, unknown operation kinds and non-int indexes are refused), checks that every
job ID is exactly `job_name_prefix` + the sanitised model name (so no plan can make
apply request a path outside the job endpoints: no `/`, `..`, `?`, `#`, `%`), that
allocation and node IDs are plain IDs, that every rendered job passes `jobschema` and
belongs to its model, and that the jobs match the sha256 digest recorded at plan time.
Apply only ever sees the frozen classes below. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError, model_validator

from modelsched.drivers.nomad import jobschema
from modelsched.drivers.nomad.observe import Query
from modelsched.drivers.nomad.translate import META_MODEL, job_id_for
from modelsched.errors import ConfigError, PlanFileError
from modelsched.model.base import StrictModel

DATA_VERSION = 2
Kind = Literal["register", "update", "replace", "evaluate", "purge", "stop"]
# Kinds that send a rendered job.
WITH_JOB: frozenset[str] = frozenset({"register", "update", "replace"})
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")  # Nomad node / allocation IDs; use with fullmatch
_UNSAFE = ("/", "..", "?", "#", "%", "\\")


@dataclass(frozen=True)
class Wait:
    """What "done" means for one model after apply. `exact_nodes`: running on exactly these
    nodes (pinned); `at_least_nodes`: on at least these (spread: Nomad follows new nodes by
    itself); otherwise `count` running allocations wherever Nomad put them (bounded).
    `gone`: allocation IDs that must no longer be running."""

    count: int
    exact_nodes: tuple[str, ...] | None = None
    at_least_nodes: tuple[str, ...] | None = None
    gone: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllocStop:
    """One allocation apply stops (`POST /v1/allocation/:id/stop`): Nomad keeps an
    allocation while its job is unchanged, even on a node that no longer qualifies."""

    alloc_id: str
    node_id: str


@dataclass(frozen=True)
class JobOp:
    """One model's Nomad work. `kind`: register (new job), update (job differs), replace
    (type change: purge, then register), evaluate (job unchanged, ask Nomad to reconcile),
    purge (pruned model, or a pinned model with no planned node), stop (job unchanged,
    only `stops`). `stops` run after the job operation. `restarts`: running allocations
    the job operation replaces (destructive update)."""

    model: str
    job_id: str
    kind: Kind
    modify_index: int
    wait: Wait
    job: Mapping[str, Any] | None = None
    stops: tuple[AllocStop, ...] = ()
    restarts: int = 0

    def to_data(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "job_id": self.job_id,
            "kind": self.kind,
            "modify_index": self.modify_index,
            "job": self.job,
            "stops": [{"alloc_id": s.alloc_id, "node_id": s.node_id} for s in self.stops],
            "restarts": self.restarts,
            "wait": {
                "count": self.wait.count,
                "exact_nodes": list(self.wait.exact_nodes) if self.wait.exact_nodes is not None else None,
                "at_least_nodes": list(self.wait.at_least_nodes) if self.wait.at_least_nodes is not None else None,
                "gone": list(self.wait.gone),
            },
        }


@dataclass(frozen=True)
class NomadData:
    """Everything apply needs, without the config: what to observe and the job operations."""

    query: Query
    namespace: str
    region: str
    ops: tuple[JobOp, ...] = field(default_factory=tuple)

    def to_data(self) -> dict[str, Any]:
        jobs = [op.to_data() for op in self.ops]
        return {
            "version": DATA_VERSION,
            "query": self.query.to_data(),
            "namespace": self.namespace,
            "region": self.region,
            "jobs": jobs,
            "jobs_digest": digest(jobs),
        }


def digest(jobs: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of the job operations (rendered jobs included)."""
    blob = json.dumps(list(jobs), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


# -- strict shapes of the encoded data -------------------------------------------------


class _WaitIn(StrictModel):
    count: int
    exact_nodes: list[str] | None
    at_least_nodes: list[str] | None
    gone: list[str]


class _StopIn(StrictModel):
    alloc_id: str
    node_id: str


class _OpIn(StrictModel):
    model: str
    job_id: str
    kind: Kind
    modify_index: int
    job: dict[str, Any] | None
    stops: list[_StopIn]
    restarts: int
    wait: _WaitIn


class _QueryIn(StrictModel):
    prefix: str
    listed: dict[str, str]
    selectors: list[list[list[str]]]
    adopt: bool
    scopes: dict[str, list[str | list[str]]]

    @model_validator(mode="after")
    def _pairs(self) -> _QueryIn:
        if any(len(pair) != 2 for sel in self.selectors for pair in sel):
            raise ValueError("selectors: each selector pair is [key, value]")
        for model, scope in self.scopes.items():
            if len(scope) != 2 or not isinstance(scope[0], str) or not isinstance(scope[1], list):
                raise ValueError(f"scopes.{model}: expected [node pool, [datacenters]]")
        return self


class _DataIn(StrictModel):
    version: int
    query: _QueryIn
    namespace: str
    region: str
    jobs: list[_OpIn]
    jobs_digest: str


def _where(err: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "<driver_data>"


def _plain(ids: Sequence[str], what: str, where: str) -> list[str]:
    return [f"{where}: {what} {i!r} is not a Nomad ID" for i in ids if not PLAIN_ID.fullmatch(i)]


def _check_op(op: _OpIn, prefix: str, i: int) -> list[str]:
    where = f"driver_data.jobs.{i}"
    problems: list[str] = []
    try:
        expected = job_id_for(prefix, op.model)
    except ConfigError as exc:
        return [f"driver_data.query.prefix: {p}" for p in exc.problems]
    if op.job_id != expected or any(bad in op.job_id for bad in _UNSAFE):
        problems.append(f"{where}.job_id: {op.job_id!r} is not the job ID of model {op.model!r} ({expected!r})")
    if op.modify_index < 0 or op.restarts < 0 or op.wait.count < 0:
        problems.append(f"{where}: indexes and counts must not be negative")
    problems += _plain([s.alloc_id for s in op.stops], "allocation ID", f"{where}.stops")
    problems += _plain([s.node_id for s in op.stops], "node ID", f"{where}.stops")
    for key in ("exact_nodes", "at_least_nodes"):
        problems += _plain(getattr(op.wait, key) or [], "node ID", f"{where}.wait.{key}")
    problems += _plain(op.wait.gone, "allocation ID", f"{where}.wait.gone")
    if (op.job is not None) != (op.kind in WITH_JOB):
        problems.append(f"{where}.job: a {op.kind} operation {'needs' if op.kind in WITH_JOB else 'has no'} job")
    if op.job is not None:
        try:
            jobschema.check_job(op.job, "(plan file)", op.model)
        except ConfigError as exc:
            return problems + [f"{where}.job: {p}" for p in exc.problems]
        if op.job["ID"] != op.job_id or op.job["Meta"].get(META_MODEL) != op.model:
            problems.append(f"{where}.job: the job is not {op.job_id!r} of model {op.model!r}")
    return problems


def decode(data: Any) -> NomadData:
    """The plan's Nomad data, validated: PlanFileError with located problems otherwise."""
    if not isinstance(data, dict) or data.get("version") != DATA_VERSION:
        raise PlanFileError(
            "the plan has no Nomad driver data of this version (made by another driver or modelsched version); "
            "run `modelsched plan` again"
        )
    try:
        raw = _DataIn.model_validate(data)
    except ValidationError as exc:
        shown = "; ".join(f"{_where(e)}: {e['msg']}" for e in exc.errors()[:5])
        raise PlanFileError(f"corrupt Nomad plan data: {shown}") from None
    problems: list[str] = []
    for model, job_id in raw.query.listed.items():
        try:
            if job_id != job_id_for(raw.query.prefix, model):
                problems.append(f"driver_data.query.listed: {job_id!r} is not the job ID of model {model!r}")
        except ConfigError as exc:
            problems += [f"driver_data.query.prefix: {p}" for p in exc.problems]
            break
    for i, op in enumerate(raw.jobs):
        problems += _check_op(op, raw.query.prefix, i)
    if not problems and digest(data["jobs"]) != raw.jobs_digest:
        problems.append(
            "driver_data.jobs: the jobs do not match the digest recorded when the plan was made "
            "(the plan file was edited)"
        )
    if problems:
        raise PlanFileError("corrupt Nomad plan data: " + "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))
    query = Query.from_data(raw.query.model_dump(mode="python"))
    ops = tuple(
        JobOp(
            model=o.model,
            job_id=o.job_id,
            kind=o.kind,
            modify_index=o.modify_index,
            job=o.job,
            stops=tuple(AllocStop(s.alloc_id, s.node_id) for s in o.stops),
            restarts=o.restarts,
            wait=Wait(
                count=o.wait.count,
                exact_nodes=tuple(o.wait.exact_nodes) if o.wait.exact_nodes is not None else None,
                at_least_nodes=tuple(o.wait.at_least_nodes) if o.wait.at_least_nodes is not None else None,
                gone=tuple(o.wait.gone),
            ),
        )
        for o in raw.jobs
    )
    return NomadData(query=query, namespace=raw.namespace, region=raw.region, ops=ops)


def mismatched(saved: Sequence[JobOp], fresh: Sequence[JobOp]) -> list[str]:
    """Job IDs whose rendered job in the saved plan differs from a fresh render of the
    config (apply with a config source): empty when they agree."""
    now = {op.job_id: op.job for op in fresh}
    return sorted(op.job_id for op in saved if op.job is not None and now.get(op.job_id) != op.job)
